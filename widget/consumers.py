"""The visitor widget's WebSocket: validate, authorise, call a service, send. Protocol in docs/widget-protocol.md.

The connection is anonymous until the client's first event, `hello`, which carries the
visitor's signed token (in the body rather than the URL, so it never reaches access logs).
From then on the socket is bound to that visitor and their one conversation: events name
no conversation, so there is nothing to authorise beyond the token itself.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from chat import realtime, selectors
from chat.db import database_sync_to_async
from chat.models import Conversation
from handoff.realtime import handoff_status_detail
from handoff.services import (
    HandoffError,
    conversation_end_by_visitor,
    handoff_bot_while_waiting,
    handoff_cancel,
    rating_submit,
)
from widget import answering, pipeline, presence, protocol, ratelimit, services
from widget.budgets import BudgetAction, BudgetExceeded, budget_spend, client_address
from widget.identity import IdentityClaim, IdentityRefused, identity_customer
from widget.protocol import ProtocolError
from widget.tokens import InvalidToken

logger = logging.getLogger(__name__)

HELLO_TIMEOUT_SECONDS = 15
CLOSE_INVALID_TOKEN = 4401
CLOSE_IDENTITY_REFUSED = 4403
CLOSE_NO_HELLO = 4408
CLOSE_TOO_MANY = 4429  # the connection budget is spent (widget/budgets.py); the widget retries later
CLOSE_TRY_AGAIN = 1011
# Events other than messages (resume, typing, ping, handoff_request) per connection and window:
# generous for any real widget, tight enough that a script cannot turn resume into a DB load test.
OTHER_EVENTS_LIMIT, OTHER_EVENTS_WINDOW_SECONDS = 60, 10
TYPING_FORWARD_INTERVAL_SECONDS = 1.0


def db(func):
    """Run ORM code in a worker thread. Not thread-sensitive: each call is self-contained (its own
    transaction, nothing kept on the connection), so sockets need not queue behind one another in
    Channels' single shared ORM thread; one socket's calls still run one at a time, in order."""
    return database_sync_to_async(func, thread_sensitive=False)


# Bot replies outlive the socket that asked (a visitor who goes offline still gets the answer
# on resume); the loop keeps only weak references to tasks, so they are held here until done.
_background_tasks: set[asyncio.Task] = set()


class WidgetConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        self.session: services.VisitorSession | None = None
        self.group: str | None = None
        self.welcomed_at_seq = 0  # the conversation's last seq when this socket was welcomed
        self.page = ("", "")
        self.bot_lock = asyncio.Lock()  # this visitor's questions are answered in the order asked
        self.recent_events: deque[float] = deque()
        self.last_typing_forwarded = 0.0
        self.client = client_address(self.scope)
        self.hello_timer: asyncio.Task | None = None
        await self.accept()
        try:
            await db(budget_spend)(action="connect", client=self.client)
        except BudgetExceeded as refused:
            # Accepted first, so the widget reads why (a handshake refusal carries no reason).
            await self.send_json(self._refusal(refused))
            await self.close(code=CLOSE_TOO_MANY)
            return
        self.hello_timer = asyncio.create_task(self._close_without_hello())
        answering.local_sweeper_ensure()

    async def disconnect(self, code) -> None:
        if self.hello_timer is not None:
            self.hello_timer.cancel()
        if self.group:
            await self._layer_quietly(self.channel_layer.group_discard(self.group, self.channel_name))
            await db(presence.visitor_connection_close)(channel_name=self.channel_name)

    async def receive(self, text_data=None, bytes_data=None) -> None:
        event = None
        try:
            event = protocol.parse_client_event(text_data)
            if self.session is None and not isinstance(event, protocol.Hello):
                raise ProtocolError("hello_required", "Send hello (with your token, if you have one) first.")
            if not isinstance(event, protocol.Hello | protocol.SendMessage) and not self._other_event_allowed():
                if isinstance(event, protocol.Typing):
                    return
                raise ProtocolError("rate_limited", "Too many events; slow down.")
            await self._HANDLERS[type(event)](self, event)
        except ProtocolError as error:
            await self.send_json(protocol.error_event(error))
        except RateLimited as limited:
            await self.send_json(protocol.error_event(limited.error, retry_after=limited.retry_after))
        except BudgetExceeded as refused:
            await self.send_json(self._refusal(refused))
        except Exception:
            logger.exception("Widget event failed")
            # The message's client_id, so the widget offers to send it again (and does, shortly).
            client_id = event.client_id if isinstance(event, protocol.SendMessage) else ""
            error = ProtocolError("internal_error", "Something went wrong on our side; try again.", client_id=client_id)
            await self.send_json(protocol.error_event(error))
            if self.session is None:
                # No hello yet (the database was down): close, so the widget reconnects and says hello again
                # instead of waiting on a socket that will never welcome it.
                await self.close(code=CLOSE_TRY_AGAIN)

    # --- Client events ------------------------------------------------------------------------

    async def on_hello(self, event: protocol.Hello) -> None:
        if self.session is not None:
            raise ProtocolError("already_started", "This connection has already said hello.")
        self.page = (event.page_url, event.page_title)
        try:
            session = await db(self._hello)(event.token, event.identity)
        except InvalidToken:
            await self.send_json(
                protocol.error_event(
                    ProtocolError("invalid_token", "This chat token is not valid here; start a new conversation.")
                )
            )
            await self.close(code=CLOSE_INVALID_TOKEN)
            return
        except IdentityRefused as refused:
            await self.send_json(protocol.error_event(ProtocolError("identity_refused", str(refused))))
            await self.close(code=CLOSE_IDENTITY_REFUSED)
            return
        self.hello_timer.cancel()
        await self._bind(session)

    async def on_message(self, event: protocol.SendMessage) -> None:
        new_visitor = self.session.customer is None
        result, broadcasts, welcome = await db(self._store_message)(event)
        self.session = result.session
        message = result.message
        if welcome is not None:  # the visitor's token and conversation before the ack that lets the widget forget it
            await self._send_welcome(welcome)
        await self.send_json(
            {
                "type": "ack",
                "client_id": event.client_id,
                "seq": message.seq,
                "created_at": message.created_at.isoformat(),
                "duplicate": not result.created,
            }
        )
        # Everything else after the ack. A first message joins the conversation's group before its broadcast
        # and the answer go out, so this socket gets them (the ack itself needs neither).
        if result.new_conversation:
            await self._join()
            if new_visitor and self.page[0]:
                await db(services.customer_page_view)(
                    customer=self.session.customer, url=self.page[0], title=self.page[1]
                )
        # The message's broadcast (the agents' inbox, the visitor's other tabs): see _store_message.
        await self._layer_quietly(realtime.asend_held(broadcasts))
        if result.created:
            if self.session.conversation.status == Conversation.Status.BOT:
                # The bot is on it, whenever its answer starts: at saturation the answer waits in a queue
                # (a worker's, this socket's earlier questions) and the pipeline's own typing comes only
                # then. Straight to this socket, with no channel-layer round trip; the answer ends it.
                await self.send_json(realtime.typing_event(sender="bot", is_typing=True))
            task = asyncio.create_task(self._answer(message))
            _background_tasks.add(task)
            task.add_done_callback(_background_tasks.discard)

    async def on_resume(self, event: protocol.Resume) -> None:
        await self.send_json(await db(self._history)(event.after_seq))

    async def on_typing(self, event: protocol.Typing) -> None:
        conversation = self.session.conversation
        if conversation is None:
            return
        now = time.monotonic()
        if event.is_typing and now - self.last_typing_forwarded < TYPING_FORWARD_INTERVAL_SECONDS:
            return
        self.last_typing_forwarded = now if event.is_typing else 0.0
        # A typing indicator is not worth an error: a channel layer that is down drops it.
        await self._layer_quietly(
            realtime.asend_to_conversation(
                conversation.pk, realtime.typing_event(sender="visitor", is_typing=event.is_typing)
            )
        )

    async def on_handoff_request(self, event: protocol.HandoffRequest) -> None:
        # A person is for a visitor with something to ask: a socket that never wrote cannot queue.
        if self.session.conversation is None:
            raise ProtocolError("handoff_failed", "Write your question first; then we can pass it to a person.")
        await self._spend("handoff")
        session, _ = await db(services.visitor_conversation_ensure)(session=self.session)
        self.session = session
        try:
            await db(pipeline.widget_handoff_request)(conversation=session.conversation)
        except pipeline.HandoffRequestFailed as exc:
            raise ProtocolError("handoff_failed", str(exc)) from exc

    async def on_handoff_cancel(self, event: protocol.HandoffCancel) -> None:
        await self._lifecycle(handoff_cancel, "handoff_failed", "cancel a request")

    async def on_bot_while_waiting(self, event: protocol.BotWhileWaiting) -> None:
        await self._lifecycle(handoff_bot_while_waiting, "handoff_failed", "chat while you wait")

    async def on_end_chat(self, event: protocol.EndChat) -> None:
        await self._lifecycle(conversation_end_by_visitor, "end_failed", "end it")

    async def _lifecycle(self, service, code: protocol.ErrorCode, action: str) -> None:
        """A handoff service on the visitor's conversation; a refusal goes back as `code` with its reason."""
        conversation = self._conversation_or_refuse(code, action)
        try:
            await db(service)(conversation=conversation)
        except HandoffError as exc:
            raise ProtocolError(code, str(exc)) from exc

    async def on_ping(self, event: protocol.Ping) -> None:
        await self.send_json({"type": "pong"})

    def _conversation_or_refuse(self, code: protocol.ErrorCode, action: str):
        if self.session.conversation is None:
            raise ProtocolError(code, f"Start a conversation before you {action}.")
        return self.session.conversation

    async def on_contact(self, event: protocol.Contact) -> None:
        conversation = self._conversation_or_refuse("invalid_email", "leave your email")
        await self._spend("contact")
        try:
            await db(services.customer_email_set)(conversation=conversation, email=event.email)
        except services.VisitorInputError as exc:
            raise ProtocolError("invalid_email", str(exc)) from exc
        await self.send_json({"type": "contact_saved", "email": event.email})

    async def on_csat(self, event: protocol.Rating) -> None:
        conversation = self._conversation_or_refuse("rating_failed", "rate it")
        try:
            await db(rating_submit)(conversation=conversation, score=event.score, comment=event.comment)
        except HandoffError as exc:
            raise ProtocolError("rating_failed", str(exc)) from exc
        await self.send_json({"type": "csat_saved", "score": event.score})

    async def on_feedback(self, event: protocol.Feedback) -> None:
        conversation = self._conversation_or_refuse("feedback_failed", "give feedback")
        try:
            await db(services.message_feedback_set)(conversation=conversation, seq=event.seq, value=event.value)
        except services.VisitorInputError as exc:
            raise ProtocolError("feedback_failed", str(exc)) from exc
        await self.send_json({"type": "feedback_saved", "seq": event.seq, "value": event.value})

    _HANDLERS = {
        protocol.Hello: on_hello,
        protocol.SendMessage: on_message,
        protocol.Resume: on_resume,
        protocol.Typing: on_typing,
        protocol.HandoffRequest: on_handoff_request,
        protocol.HandoffCancel: on_handoff_cancel,
        protocol.BotWhileWaiting: on_bot_while_waiting,
        protocol.EndChat: on_end_chat,
        protocol.Ping: on_ping,
        protocol.Contact: on_contact,
        protocol.Rating: on_csat,
        protocol.Feedback: on_feedback,
    }

    # --- Group events (chat.realtime), forwarded as they are ----------------------------------

    async def dispatch(self, message) -> None:
        # Channels hops to its ORM thread to close stale connections before every handler. These
        # forwards touch no database and come several per bot answer per socket, so skip the hop.
        if message["type"].startswith("chat."):
            await getattr(self, get_handler_name(message))(message)
        else:
            await super().dispatch(message)

    async def chat_message(self, envelope: dict) -> None:
        await self.send_json(envelope["event"])

    async def chat_typing(self, envelope: dict) -> None:
        # The visitor's own typing goes to the agents, not back to the visitor.
        if envelope["event"]["sender"] != "visitor":
            await self.send_json(envelope["event"])

    async def chat_status(self, envelope: dict) -> None:
        await self.send_json(envelope["event"])

    async def chat_bot_delta(self, envelope: dict) -> None:
        await self.send_json(envelope["event"])

    async def layer_recovered(self, message: dict) -> None:
        """Redis is back after an outage (config.redis_layer): a restarted Redis forgot the group, and
        what was broadcast meanwhile reached no one, so join again and send everything since the welcome
        (the widget keeps each seq once)."""
        if self.group and await self._layer_quietly(self.channel_layer.group_add(self.group, self.channel_name)):
            await self.send_json(await db(self._history)(self.welcomed_at_seq))

    # --- Helpers ---------------------------------------------------------------------------------

    async def _spend(self, action: BudgetAction) -> None:
        await db(budget_spend)(action=action, client=self.client)

    @staticmethod
    def _refusal(refused: BudgetExceeded) -> protocol.ErrorEvent:
        return protocol.error_event(ProtocolError("rate_limited", str(refused)), retry_after=refused.retry_after)

    async def _bind(self, session: services.VisitorSession) -> None:
        """Attach the socket to the visitor's conversation (joining before reading, so nothing falls between)."""
        self.session = session
        await self._join()
        await self._send_welcome(await db(self._welcome)(session))

    async def _join(self) -> None:
        conversation = self.session.conversation
        if conversation is None:
            return
        group = realtime.conversation_group(conversation.pk)
        if group != self.group:
            if self.group:
                await self._layer_quietly(self.channel_layer.group_discard(self.group, self.channel_name))
            self.group = group
            # The channel layer may be down: chat goes on (stored and acked without it) and
            # layer_recovered joins the group once it is back.
            await self._layer_quietly(self.channel_layer.group_add(group, self.channel_name))
            # The visitor is in the chat now: replies reach them here, not by email.
            await db(presence.visitor_connection_open)(conversation_id=conversation.pk, channel_name=self.channel_name)

    async def _send_welcome(self, welcome: protocol.WelcomeEvent) -> None:
        self.welcomed_at_seq = welcome["last_seq"]
        await self.send_json(welcome)

    async def _layer_quietly(self, call) -> bool:
        try:
            await call
        except Exception:
            logger.warning("Channel layer unavailable for %s", self.channel_name, exc_info=True)
            return False
        return True

    def _hello(self, token: str | None, identity: IdentityClaim | None = None) -> services.VisitorSession:
        if identity is not None:  # a verified identity wins over whatever this browser had before
            customer, conversation = identity_customer(claim=identity)
            session = services.VisitorSession(customer=customer, conversation=conversation)
        else:
            session = services.customer_get_or_create_from_token(token=token)
        if session.customer is not None and self.page[0]:
            services.customer_page_view(customer=session.customer, url=self.page[0], title=self.page[1])
        return session

    def _welcome(self, session: services.VisitorSession, *, started_now: bool = False) -> protocol.WelcomeEvent:
        """started_now: the conversation was created by this very message, so the instance in hand has its
        status and last seq, and it has no handoff to describe (two queries fewer before a first ack)."""
        conversation = session.conversation
        if conversation is not None and not started_now:
            conversation.refresh_from_db(fields=["status", "last_seq"])
        messages, seconds = ratelimit.visitor_message_limits()
        return {
            "type": "welcome",
            "token": session.token,
            "conversation": str(conversation.public_id) if conversation else None,
            "status": conversation.status if conversation else None,
            "status_detail": _status_detail(conversation) if conversation and not started_now else {},
            "last_seq": conversation.last_seq if conversation else 0,
            "email_replies": settings.EMAIL_REPLIES_SENT,
            "limits": {
                "max_message_chars": protocol.MAX_MESSAGE_CHARS,
                "rate_limit_messages": messages,
                "rate_limit_seconds": seconds,
            },
        }

    def _store_message(
        self, event: protocol.SendMessage
    ) -> tuple[services.VisitorMessageResult, realtime.HeldSends, protocol.WelcomeEvent | None]:
        """Store the message; its broadcasts are returned to be sent from the event loop after the ack
        (sent from this thread at commit, each would wait for the loop and Redis before the ack goes).
        A first message started the conversation: its welcome is read here too, with no hop of its own
        (nobody else knows the conversation yet, so nothing can change it before the socket joins)."""
        with realtime.sends_held() as broadcasts:
            result = self._store_message_now(event)
        welcome = self._welcome(result.session, started_now=True) if result.new_conversation else None
        return result, broadcasts, welcome

    def _store_message_now(self, event: protocol.SendMessage) -> services.VisitorMessageResult:
        customer = self.session.customer
        if self.session.conversation is None:  # a new visitor and conversation
            try:
                budget_spend(action="conversation", client=self.client)
            except BudgetExceeded as refused:
                error = ProtocolError("rate_limited", str(refused), client_id=event.client_id)
                raise RateLimited(error, retry_after=refused.retry_after) from None
        limit, window = ratelimit.visitor_message_limits()
        key = f"widget:{customer.public_id}" if customer else f"widget:{self.channel_name}"
        verdict = ratelimit.rate_limit_hit(key=key, limit=limit, window_seconds=window)
        if not verdict.allowed and not self._stored_before(event.client_id):  # a stored one is acked again
            raise RateLimited(
                ProtocolError(
                    "rate_limited",
                    f"You can send {limit} messages every {window} seconds; wait a moment and try again.",
                    client_id=event.client_id,
                ),
                retry_after=verdict.retry_after,
            )
        # Only messages stored now count. One the database failed to store gives its slot back, or the
        # widget's retries would be refused once the database is back (issue 17: acks waited 13-17 s
        # after a 10 s PostgreSQL outage); so does the retry of one stored before, which counted then.
        try:
            result = services.visitor_message_receive(session=self.session, client_id=event.client_id, text=event.text)
        except Exception:
            ratelimit.rate_limit_release(verdict)
            raise
        if not result.created:
            ratelimit.rate_limit_release(verdict)
        if customer is None:
            # The first message was counted against the connection; count it for the new visitor too.
            new_key = f"widget:{result.session.customer.public_id}"
            ratelimit.rate_limit_hit(key=new_key, limit=limit, window_seconds=window)
        return result

    def _stored_before(self, client_id: str) -> bool:
        conversation = self.session.conversation
        if conversation is None:
            return False
        return selectors.message_with_client_id(conversation_id=conversation.pk, client_id=client_id) is not None

    def _history(self, after_seq: int) -> protocol.HistoryEvent:
        conversation = self.session.conversation
        messages = selectors.messages_after(conversation=conversation, after_seq=after_seq) if conversation else []
        return {
            "type": "history",
            "after_seq": after_seq,
            "messages": [realtime.message_event(message) for message in messages],
            "last_seq": messages[-1].seq if messages else after_seq,
            "more": len(messages) == selectors.RESUME_BATCH_SIZE,
        }

    def _other_event_allowed(self) -> bool:
        now = time.monotonic()
        while self.recent_events and now - self.recent_events[0] > OTHER_EVENTS_WINDOW_SECONDS:
            self.recent_events.popleft()
        if len(self.recent_events) >= OTHER_EVENTS_LIMIT:
            return False
        self.recent_events.append(now)
        return True

    async def _answer(self, message) -> None:
        """After the ack: the answer runs where widget.answering says (a worker, or a bot thread)."""
        async with self.bot_lock:
            try:
                dispatch = database_sync_to_async(
                    answering.visitor_message_dispatch, thread_sensitive=False, executor=answering.bot_executor()
                )
                await dispatch(message_id=message.pk)
            except Exception:  # the sweep answers it; the socket stays up
                logger.exception("Handling message %s of conversation %s failed", message.seq, message.conversation_id)

    async def _close_without_hello(self) -> None:
        await asyncio.sleep(HELLO_TIMEOUT_SECONDS)
        if self.session is None:
            await self.close(code=CLOSE_NO_HELLO)


def _status_detail(conversation) -> dict:
    """The status line's details (queue position, wait, agent) for a reconnecting visitor."""
    handoff = conversation.handoffs.order_by("-requested_at").first()
    return handoff_status_detail(conversation=conversation, handoff=handoff)


class RateLimited(Exception):
    def __init__(self, error: ProtocolError, *, retry_after: float) -> None:
        super().__init__(error.message)
        self.error = error
        self.retry_after = retry_after
