"""The agents' inbox WebSocket: the server pushes rendered HTML fragments that htmx swaps in.

One socket per inbox tab. It joins the groups of what the user may see (their teams, or every
team for managers, and their own agent group) and, on a conversation page, that conversation's
groups after checking the user may open it. Access can be lost while the tab is open (a transfer
to another team, signing out, deactivation, a team removed), so every push is checked again first
(`dispatch`): the session must still exist and belong to the active user with an unchanged
password, and the conversation must still be theirs (handoff/access.py); otherwise the socket is
closed before anything is sent. The user's own group (`user_<id>`) tells the sockets at once when
their access may have changed (inbox/signals.py). Rendering is per connection, so an agent never
receives HTML built for someone else's permissions. The socket also carries typing pings and presence.
"""

import asyncio
import json
import logging
from collections import deque
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY
from django.template.loader import render_to_string
from django.utils.crypto import constant_time_compare

from agents.models import AgentConnection, InternalNote
from agents.selectors import agent_for_user, user_active_with_agent, user_is_manager
from chat.db import database_sync_to_async
from chat.ids import parse_id
from chat.models import Message
from chat.realtime import (
    ALL_TEAMS_GROUP,
    agent_group,
    asend_to_conversation,
    conversation_group,
    inbox_conversation_group,
    team_group,
    typing_event,
    user_group,
)
from handoff.access import conversation_may_access
from handoff.presence import CONNECTION_HEARTBEAT_SECONDS, agent_connection_touch, agent_mark_away_if_gone
from inbox.context import conversation_context, header_context, sidebar_context, sidebar_queue_joined
from inbox.selectors import visible_conversation
from inbox.services import conversation_mark_read
from inbox.transcript import transfer_note_open

logger = logging.getLogger(__name__)


def db(func):
    """Run ORM code in a worker thread of its own, not in Channels' one thread-sensitive thread: that
    thread also runs every sync HTTP view of the process (the inbox's own pages and posts), so a push
    rendered there waits behind them. Each call here is self-contained (its own queries, nothing kept
    on the connection); one socket's calls still run one at a time, as its events arrive."""
    return database_sync_to_async(func, thread_sensitive=False)


CLOSE_SIGNED_OUT = 4401  # signed out, deactivated or the password changed: the tab must sign in again
CLOSE_NO_ACCESS = 4403  # this conversation (or the inbox) is no longer theirs
CLOSE_TOO_BIG = 1009  # "message too big", RFC 6455
# A frame carries a typing ping, a resume, or the reply form's values (a reply is at most 4,000
# characters, ~24 kB as escaped JSON); Daphne alone would accept 1 MiB.
MAX_FRAME_CHARS = 32 * 1024
CLOSE_RECONNECT = 1012  # their teams changed: htmx's ws extension reconnects, joining the right groups
# Pushes from the channel layer that show the user something: each is preceded by an access check.
CHECKED_PUSHES = ("chat.message", "chat.typing", "chat.status", "inbox.", "layer.")
# An agent hears of a change to their own conversation through their team's group and their own:
# the ids of the last few broadcasts handled, so each is rendered once.
RECENT_BROADCASTS = 16


class InboxConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        self.user = self.scope.get("user")
        if self.user is None or not self.user.is_authenticated:
            await self.close(code=4401)
            return
        self.agent, self.is_manager, team_ids = await self._load_identity()
        if self.agent is None and not self.is_manager:
            await self.close(code=4403)
            return
        self.conversation_id = None
        self.groups_joined: list[str] = []
        self.closing = False
        self.recent_broadcasts: deque[str] = deque(maxlen=RECENT_BROADCASTS)
        groups = [ALL_TEAMS_GROUP] if self.is_manager else [team_group(team_id) for team_id in team_ids]
        groups.append(user_group(self.user.pk))
        if self.agent is not None:
            groups.append(agent_group(self.agent.pk))
        requested = parse_qs(self.scope.get("query_string", b"").decode()).get("conversation", [""])[0]
        if requested:
            conversation_id = parse_id(requested)  # not str.isdigit(): '²' would be a 500, '٣' read as 3
            if conversation_id is None or await self._visible(conversation_id) is None:
                await self.close(code=4404)  # not theirs to watch: same answer as a missing one
                return
            self.conversation_id = conversation_id
            groups += [conversation_group(self.conversation_id), inbox_conversation_group(self.conversation_id)]
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined = groups
        if self.agent is not None:
            # Before the accept: once the tab is connected, its presence row is there to count.
            await db(AgentConnection.objects.create)(agent=self.agent, channel_name=self.channel_name)
            self.heartbeat = asyncio.get_running_loop().create_task(self._heartbeat())
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if getattr(self, "heartbeat", None) is not None:
            self.heartbeat.cancel()
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)
        if getattr(self, "agent", None) is not None:
            await db(self._forget_connection)()
            # The last tab closing makes the agent away, unless another tab opens within the grace period.
            asyncio.get_running_loop().create_task(self._away_after(settings.HANDOFF_PRESENCE_GRACE_SECONDS))

    async def receive(self, text_data=None, bytes_data=None) -> None:
        """htmx's ws-send posts the reply form's values; we only act on the typing ping."""
        if len(text_data or bytes_data or "") > MAX_FRAME_CHARS:
            await self.close(code=CLOSE_TOO_BIG)  # nothing we read is that big: a client that sends it is broken
            return
        try:
            data = json.loads(text_data or "{}")
        except (json.JSONDecodeError, RecursionError):
            return
        if not isinstance(data, dict):
            return
        if "watch" in data:
            # The tab swapped its main pane (htmx, no page load) to another conversation or a list.
            await self._watch(data["watch"])
        if data.get("resume") and self.conversation_id:
            # The tab (re)connected: what it missed meanwhile is in the re-rendered transcript.
            await self.send(text_data=await self._render_resume())
            return
        if data.get("typing") and self.conversation_id and self.agent is not None:
            await asend_to_conversation(
                self.conversation_id, typing_event(sender="agent", is_typing=True, name=self.agent.public_name)
            )

    async def _watch(self, requested) -> None:
        """Follow the conversation now on screen (None: a list): its groups replace the previous
        one's, after the same check as on connect; one the user may not see is not followed."""
        wanted = int(requested) if str(requested).isdigit() else None
        if wanted == self.conversation_id:
            return
        if wanted is not None and await self._visible(wanted) is None:
            wanted = None
        old = [conversation_group(self.conversation_id), inbox_conversation_group(self.conversation_id)]
        for group in old if self.conversation_id else []:
            await self.channel_layer.group_discard(group, self.channel_name)
            self.groups_joined.remove(group)
        self.conversation_id = wanted
        if wanted is not None:
            for group in (conversation_group(wanted), inbox_conversation_group(wanted)):
                await self.channel_layer.group_add(group, self.channel_name)
                self.groups_joined.append(group)

    # --- events from the channel layer -------------------------------------------------------

    async def dispatch(self, message) -> None:
        if message["type"] == "inbox.inbox_changed":
            if message["event"]["id"] in self.recent_broadcasts:
                return  # the same broadcast through another of this socket's groups: sent once already
            self.recent_broadcasts.append(message["event"]["id"])
        if message["type"].startswith(CHECKED_PUSHES):
            if self.closing:
                return  # closed for lost access: nothing more reaches this tab
            if code := await db(self._access_lost)():
                self.closing = True
                await self.close(code=code)
                return
            # Not super().dispatch: Channels would first hop to its one thread-sensitive thread to close
            # stale connections, the thread that also runs every sync HTTP view of the process, so a push
            # waited behind any agent's page or reply. Every database call here closes them itself (db()).
            await getattr(self, get_handler_name(message))(message)
            return
        await super().dispatch(message)

    async def inbox_access_changed(self, message: dict) -> None:
        """Still allowed (dispatch checked): their teams changed, so rejoin the groups that fit."""
        if message["event"]["reason"] == "teams_changed":
            self.closing = True
            await self.close(code=CLOSE_RECONNECT)

    async def chat_message(self, message: dict) -> None:
        html = await self._render_message(message["event"]["seq"])
        if html and message["event"]["sender"] == "visitor":
            # Their needs may have changed: the suggestions slot is swapped in again and reloads itself.
            context = {"conversation": {"pk": self.conversation_id}, "oob": True}
            html += render_to_string("inbox/partials/suggestions_slot.html", context)
        if html:
            await self.send(text_data=html)

    async def chat_typing(self, message: dict) -> None:
        event = message["event"]
        if event["sender"] == "visitor":
            html = render_to_string("inbox/partials/typing.html", {"is_typing": event["is_typing"]})
            await self.send(text_data=html)

    async def chat_status(self, message: dict) -> None:
        await self.send(text_data=await self._render_header_and_sidebar())

    async def layer_recovered(self, message: dict) -> None:
        """Redis is back after an outage (config.redis_layer): join the groups again (a restarted Redis
        forgot them) and re-render what may have changed meanwhile."""
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        if self.conversation_id:
            await self.send(text_data=await self._render_resume())
        else:
            await self.send(text_data=await self._render_sidebar())

    async def chat_bot_delta(self, message: dict) -> None:
        """The bot's streamed tokens are for the visitor; agents see the stored answer."""

    async def inbox_inbox_changed(self, message: dict) -> None:
        event = message["event"]
        if self.conversation_id and event.get("conversation_id") == self.conversation_id:
            await self.send(text_data=await self._render_header_and_sidebar())
            return
        if event.get("joined_queue"):
            html = await self._render_queue_joined(event["conversation_id"])
        else:
            html = await self._render_sidebar()
        if self.agent is not None and event.get("assigned_agent_id") == self.agent.pk:
            html += await self._render_cue(event["conversation_id"])
        await self.send(text_data=html)

    async def inbox_note_added(self, message: dict) -> None:
        html = await self._render_note(message["event"]["note_id"])
        if html:
            await self.send(text_data=html)

    # --- database work, in a thread ------------------------------------------------------------

    @db
    def _load_identity(self):
        agent = agent_for_user(self.user)
        team_ids = [team.pk for team in agent.teams.all()] if agent else []
        return agent, user_is_manager(self.user), team_ids

    def _access_lost(self) -> int | None:
        """The close code if the user may no longer see this socket's pushes, else None (and the
        fresh user and agent are kept, so what is rendered next reflects their teams now)."""
        session = self.scope.get("session")
        if session is None or not session.session_key or not session.exists(session.session_key):
            return CLOSE_SIGNED_OUT
        user = user_active_with_agent(user_id=self.user.pk)  # with the agent and its teams as they are now
        if user is None or not constant_time_compare(session.get(HASH_SESSION_KEY, ""), user.get_session_auth_hash()):
            return CLOSE_SIGNED_OUT
        agent = agent_for_user(user)
        if agent is None and not user_is_manager(user):
            return CLOSE_NO_ACCESS
        if self.conversation_id and not conversation_may_access(user=user, conversation_id=self.conversation_id):
            return CLOSE_NO_ACCESS
        self.user, self.agent = user, agent
        return None

    @db
    def _visible(self, conversation_id: int):
        return visible_conversation(user=self.user, conversation_id=conversation_id)

    def _forget_connection(self) -> None:
        AgentConnection.objects.filter(channel_name=self.channel_name).delete()

    async def _heartbeat(self) -> None:
        touch = db(agent_connection_touch)
        while True:
            await asyncio.sleep(CONNECTION_HEARTBEAT_SECONDS)
            try:
                await touch(channel_name=self.channel_name)
            except Exception:  # the database is down: the next beat tries again
                logger.warning("presence heartbeat failed for %s", self.channel_name, exc_info=True)

    async def _away_after(self, grace: float) -> None:
        await asyncio.sleep(grace)

        def check() -> bool:
            tabs = AgentConnection.objects.filter(agent=self.agent).count()
            return agent_mark_away_if_gone(agent_id=self.agent.pk, connected_tabs=tabs)

        try:
            await db(check)()
        except Exception:  # a background check must never take the server down
            logger.exception("presence check failed for agent %s", self.agent.pk)

    def _sidebar_html(self) -> str:
        return render_to_string("inbox/partials/sidebar.html", sidebar_context(user=self.user, agent=self.agent))

    @db
    def _render_sidebar(self) -> str:
        return self._sidebar_html()

    @db
    def _render_queue_joined(self, conversation_id: int) -> str:
        """A conversation joined the queue: its row and the counts if it goes at the end, else the sidebar."""
        context = sidebar_queue_joined(user=self.user, agent=self.agent, conversation_id=conversation_id)
        return render_to_string("inbox/partials/queue_joined.html", context) if context else self._sidebar_html()

    @db
    def _render_cue(self, conversation_id: int) -> str:
        """The new-assignment cue, with the note the previous agent left for this one."""
        note = transfer_note_open(conversation_id=conversation_id)
        return render_to_string("inbox/partials/cue.html", {"conversation_id": conversation_id, "transfer_note": note})

    @db
    def _render_header_and_sidebar(self) -> str:
        html = render_to_string("inbox/partials/sidebar.html", sidebar_context(user=self.user, agent=self.agent))
        conversation = visible_conversation(user=self.user, conversation_id=self.conversation_id)
        if conversation is not None:
            context = header_context(agent=self.agent, conversation=conversation)
            html += render_to_string("inbox/partials/conversation_header.html", {**context, "oob": True})
        return html

    @db
    def _render_resume(self) -> str:
        conversation = visible_conversation(user=self.user, conversation_id=self.conversation_id)
        if conversation is None:
            return render_to_string("inbox/partials/sidebar.html", sidebar_context(user=self.user, agent=self.agent))
        if self.agent is not None:
            conversation_mark_read(agent=self.agent, conversation=conversation)
        context = conversation_context(user=self.user, agent=self.agent, conversation=conversation)
        return render_to_string("inbox/partials/resume.html", context)

    @db
    def _render_message(self, seq: int) -> str:
        message = (
            Message.objects.select_related("author__agent")
            .filter(conversation_id=self.conversation_id, seq=seq)
            .first()
        )
        if message is None:
            return ""
        if self.agent is not None:
            conversation = message.conversation
            conversation_mark_read(agent=self.agent, conversation=conversation)  # it is on their screen
        return render_to_string("inbox/partials/transcript_append.html", {"message": message})

    @db
    def _render_note(self, note_id: int) -> str:
        note = (
            InternalNote.objects.select_related("author")
            .filter(pk=note_id, conversation_id=self.conversation_id)
            .first()
        )
        return render_to_string("inbox/partials/transcript_append.html", {"note": note}) if note else ""
