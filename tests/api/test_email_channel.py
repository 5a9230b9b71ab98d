"""The email channel against a real SMTP server on 127.0.0.1 (aiosmtpd): agents' replies reach visitors who left
an address and are not in the chat, threaded, from Celery after commit; the chat never waits for the mail server."""

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from api.email_channel.outbound import email_replies_sweep
from api.models import EmailRecord, EmailThread
from chat.models import Conversation, Customer, Message
from handoff.services import handoff_request
from inbox.services import agent_reply
from tests.factories import ConversationFactory, MessageFactory
from tests.support.services import free_port, wait_for
from tests.widget.conftest import open_widget, widget_application  # noqa: F401 - fixtures
from widget.tokens import token_issue

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_agent_reply_is_emailed_to_a_visitor_who_is_not_in_the_chat(waiting, agent, smtp_server):
    reply = agent_reply(agent_user=agent.user, conversation=waiting, text="It left our warehouse today.")

    (sent,) = smtp_server.wait_for(1)
    email = sent.message
    thread = EmailThread.objects.get(conversation=waiting)
    record = EmailRecord.objects.get(message=reply)
    assert sent.rcpt_tos == ["ada@example.com"] and email["To"] == "ada@example.com"
    assert email["From"] == "Northwind support <support@northwind.test>"
    assert email["Reply-To"] == f"reply+{thread.token}@support.northwind.test"
    assert len(thread.token) == 32 and thread.token != str(waiting.public_id).replace("-", "")
    assert email["Message-ID"] == f"<{record.header_id}>" and record.status == EmailRecord.Status.SENT
    assert email["Subject"] == "Re: Your conversation with our support team"
    body = email.get_body(("plain",)).get_content()
    assert "It left our warehouse today." in body and "Dana" in body
    assert "Auto-Submitted" not in email  # a person wrote it

    # The next reply is threaded under the first in the visitor's mail program.
    agent_reply(agent_user=agent.user, conversation=waiting, text="Tracking: NW123.")
    second = smtp_server.wait_for(2)[1].message
    assert second["In-Reply-To"] == f"<{record.header_id}>" and second["References"] == f"<{record.header_id}>"


async def test_a_visitor_in_the_chat_reads_the_reply_there_and_gets_an_email_once_gone(
    waiting,
    agent,
    smtp_server,
    open_widget,  # noqa: F811 - the fixture imported above
):
    customer = await Customer.objects.aget(pk=waiting.customer_id)
    widget = await open_widget()
    await widget.hello(token_issue(customer_public_id=customer.public_id, conversation_public_id=waiting.public_id))
    reply = sync_to_async(agent_reply, thread_sensitive=False)

    await reply(agent_user=agent.user, conversation=waiting, text="Are you still there?")
    pushed, _ = await widget.receive_until("message", sender="agent")
    assert pushed["text"] == "Are you still there?"
    assert smtp_server.received == []  # the task ran (eagerly, after commit) and found her in the chat

    await widget.close()
    await reply(agent_user=agent.user, conversation=waiting, text="I'll email you the label.")
    (sent,) = await sync_to_async(smtp_server.wait_for)(1)
    assert "I'll email you the label." in sent.message.get_body(("plain",)).get_content()


def retry_due_now() -> int:
    EmailRecord.objects.filter(status="pending").update(next_attempt_at=timezone.now())
    return email_replies_sweep()


def test_a_mail_server_that_refuses_for_a_while_is_tried_again(waiting, agent, smtp_server):
    smtp_server.refusals = ["451 4.3.0 Try again later"]

    reply = agent_reply(agent_user=agent.user, conversation=waiting, text="Your refund is on its way.")

    record = EmailRecord.objects.get(message=reply)
    assert (record.status, record.attempts, smtp_server.received) == ("pending", 1, [])
    assert "451" in record.error and 25 <= (record.next_attempt_at - timezone.now()).total_seconds() <= 30
    assert email_replies_sweep() == 0  # not due yet
    assert retry_due_now() == 1
    (sent,) = smtp_server.wait_for(1)
    record.refresh_from_db()
    assert (record.status, record.attempts, record.error) == ("sent", 2, "")
    assert "Your refund is on its way." in sent.message.get_body(("plain",)).get_content()


def test_an_unreachable_mail_server_never_fails_the_agents_reply(waiting, agent, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 1

    reply = agent_reply(agent_user=agent.user, conversation=waiting, text="Still looking into it.")

    assert Message.objects.filter(pk=reply.pk, sender="agent").exists()
    while retry_due_now():
        pass
    record = EmailRecord.objects.get(message=reply)
    assert (record.status, record.attempts, record.next_attempt_at) == ("failed", 6, None)
    assert "ConnectionRefusedError" in record.error


def test_visitors_without_an_address_and_api_conversations_get_no_email(support_team, agent, smtp_server):
    anonymous = ConversationFactory()
    bridged = ConversationFactory(customer__email="bo@example.com", channel=Conversation.Channel.API)
    for conversation in (anonymous, bridged):
        MessageFactory(conversation=conversation, sender="bot", text="Orders ship within 2 working days.")
        handoff_request(conversation=conversation, reason="Visitor asked for a person", team=support_team)
        conversation.refresh_from_db()
        agent_reply(agent_user=agent.user, conversation=conversation, text="Hello!")

    assert smtp_server.received == [] and not EmailRecord.objects.exists()


@pytest.mark.worker
def test_a_real_celery_worker_sends_the_email_after_commit(celery_worker, worker_smtp, waiting, agent):
    before = len(worker_smtp.received)

    reply = agent_reply(agent_user=agent.user, conversation=waiting, text="Sent by the worker.")

    sent = worker_smtp.wait_for(before + 1, timeout=60)[before]
    assert sent.rcpt_tos == ["ada@example.com"]
    assert "Sent by the worker." in sent.message.get_body(("plain",)).get_content()
    wait_for(lambda: EmailRecord.objects.filter(message=reply, status="sent").exists(), timeout=30, what="its record")


def test_a_manager_sends_a_failed_email_again_from_the_log(client, manager, waiting, agent, smtp_server, settings):
    settings.EMAIL_PORT = free_port()  # the mail server is away for the whole hour of retries
    reply = agent_reply(agent_user=agent.user, conversation=waiting, text="Here is your label.")
    while retry_due_now():
        pass
    record = EmailRecord.objects.get(message=reply)
    assert record.status == "failed"
    client.force_login(manager)
    log = client.get("/admin/api/emailrecord/?status__exact=failed")
    assert log.status_code == 200 and "ada@example.com" in log.content.decode()

    settings.EMAIL_PORT = smtp_server.port  # back
    response = client.post(
        "/admin/api/emailrecord/", {"action": "send_again", "_selected_action": [record.pk]}, follow=True
    )

    assert "Trying 1 email(s) again" in response.content.decode()
    (sent,) = smtp_server.wait_for(1)
    assert "Here is your label." in sent.message.get_body(("plain",)).get_content()
    record.refresh_from_db()
    assert (record.status, record.error) == ("sent", "")
