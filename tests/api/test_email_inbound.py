"""The visitor's emails come back into the conversation: the inbound-parse webhook (SendGrid raw and parsed,
Mailgun parsed and signed) and an IMAP mailbox (pymap, a real IMAP server from PyPI, on 127.0.0.1), threaded
by the reply address or In-Reply-To/References, quotes and signatures stripped, through the same pipeline
(trigger rules, the bot, handoffs, the inbox) as a widget message."""

import base64
import hashlib
import hmac
import json
import time
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from agents.models import Agent
from api.email_channel.imap import email_fetch_task
from api.email_channel.inbound import email_inbound_receive
from api.email_channel.parsing import EmailUnreadable, from_mime
from api.models import EmailRecord, EmailThread
from chat.models import Conversation, Customer, Message
from handoff.models import Handoff
from handoff.selectors import handoff_open
from handoff.services import handoff_assign
from inbox.services import agent_reply
from triggers.models import TriggerRule

pytestmark = pytest.mark.django_db(transaction=True)

INBOUND = "/api/email/inbound/"
SECRET = "inbound-secret-for-tests"


@pytest.fixture(autouse=True)
def inbound_secret(settings):
    settings.EMAIL_INBOUND_SECRET = SECRET


def reply_to(received, text: str, *, sender: str = "Ada <ada@example.com>", to: str | None = None) -> bytes:
    """What Ada's mail program sends when she presses Reply: to the Reply-To, threaded, the email quoted below."""
    original = received.message
    quoted = "\n".join("> " + line for line in original.get_body(("plain",)).get_content().splitlines())
    reply = EmailMessage()
    reply["From"] = sender
    reply["To"] = to or original["Reply-To"]
    reply["Subject"] = "Re: " + original["Subject"]
    reply["Message-ID"] = make_msgid(domain="example.com")
    reply["In-Reply-To"] = original["Message-ID"]
    reply["References"] = original["Message-ID"]
    reply.set_content(
        f"{text}\n\nAda\n\nOn Tue, 1 Dec 2026 at 14:02, Northwind support <{original['Reply-To']}>\nwrote:\n{quoted}\n"
    )
    return reply.as_bytes()


def post_raw(client, raw: bytes, **extra):
    """SendGrid's "POST the raw, full MIME message" mode, authenticated as https://any:SECRET@desk/..."""
    auth = "Basic " + base64.b64encode(f"sendgrid:{SECRET}".encode()).decode()
    # A form field is text: the provider sends undecodable bytes as U+FFFD (the IMAP path sees the raw bytes).
    form = {"email": raw.decode("utf-8", "replace"), "to": "", **extra}
    return client.post(INBOUND, form, HTTP_AUTHORIZATION=auth)


def visitor_texts(conversation) -> list[str]:
    return list(conversation.messages.filter(sender="visitor").order_by("seq").values_list("text", flat=True))


def test_an_emailed_reply_threads_back_into_the_conversation_without_the_quote(client, waiting, agent, smtp_server):
    agent_reply(agent_user=agent.user, conversation=waiting, text="It left our warehouse today.")
    (emailed,) = smtp_server.wait_for(1)

    response = post_raw(client, reply_to(emailed, "Thanks! Can it go to my office instead?"))

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["conversation"]) == ("stored", waiting.pk)
    assert visitor_texts(waiting) == ["Where is my parcel?", "Thanks! Can it go to my office instead?\n\nAda"]
    message = waiting.messages.get(seq=body["seq"])
    assert message.metadata["via"] == "email" and message.metadata["subject"].startswith("Re: ")
    waiting.refresh_from_db()
    assert waiting.status == "assigned" and waiting.waiting_since is not None  # Dana's inbox shows her waiting
    client.force_login(agent.user)
    page = client.get(f"/inbox/c/{waiting.pk}/").content.decode()
    assert page.count('<span class="via">by email</span>') == 1 and "Can it go to my office instead?" in page
    client.logout()

    # She sends again (a new Message-ID: a new email), and the provider retries that one: stored once.
    second = reply_to(emailed, "And please ring the bell.")
    assert post_raw(client, second).json()["status"] == "stored"
    assert post_raw(client, second).json()["status"] == "duplicate"
    assert len(visitor_texts(waiting)) == 3

    # Dana's answer to the emailed reply is threaded under Ada's email.
    agent_reply(agent_user=agent.user, conversation=waiting, text="Done: it goes to your office.")
    answer = smtp_server.wait_for(2)[1].message
    ada_ids = list(EmailRecord.objects.filter(direction="in").values_list("header_id", flat=True))
    assert answer["In-Reply-To"] == f"<{ada_ids[-1]}>"


def test_a_reply_that_lost_the_reply_address_threads_by_in_reply_to_from_the_same_address_only(
    client, waiting, agent, smtp_server
):
    agent_reply(agent_user=agent.user, conversation=waiting, text="It left our warehouse today.")
    (emailed,) = smtp_server.wait_for(1)

    # Her mail program answered the From address instead of the Reply-To.
    ok = post_raw(client, reply_to(emailed, "Great, thanks.", to="support@northwind.test"))
    assert ok.json()["conversation"] == waiting.pk

    # Someone else quoting the same email does not get into Ada's conversation.
    other = post_raw(client, reply_to(emailed, "Me too!", sender="eve@example.net", to="support@northwind.test"))
    assert other.json()["status"] == "stored" and other.json()["conversation"] != waiting.pk
    eve = Conversation.objects.get(pk=other.json()["conversation"])
    assert eve.channel == "email" and eve.customer.email == "eve@example.net"
    assert visitor_texts(waiting) == ["Where is my parcel?", "Great, thanks.\n\nAda"]


def new_email(text: str, *, sender: str = "Bo Jensen <bo@example.com>", subject: str = "Question", **headers) -> bytes:
    """An email to the desk's address that answers nothing."""
    email = EmailMessage()
    email["From"], email["To"], email["Subject"] = sender, "support@northwind.test", subject
    for name, value in headers.items():
        email[name.replace("_", "-")] = value
    email.set_content(text)
    return email.as_bytes()


def test_a_new_email_starts_an_email_conversation_the_bot_answers_by_email(client, smtp_server, bot):
    question = "How long does shipping take?\n\n-- \nBo Jensen\nJensen & Co"
    response = post_raw(
        client, new_email(question, subject="Shipping times", Message_ID="<first-question@example.com>")
    )

    conversation = Conversation.objects.get(pk=response.json()["conversation"])
    assert (conversation.channel, conversation.customer.email, conversation.customer.name) == (
        "email",
        "bo@example.com",
        "Bo Jensen",
    )
    assert bot.questions == ["How long does shipping take?"]  # the signature stayed out
    (answer,) = smtp_server.wait_for(1)
    thread = EmailThread.objects.get(conversation=conversation)
    assert answer.rcpt_tos == ["bo@example.com"] and answer.message["Subject"] == "Re: Shipping times"
    assert answer.message["In-Reply-To"] == "<first-question@example.com>"
    assert answer.message["Reply-To"] == f"reply+{thread.token}@support.northwind.test"
    assert answer.message["Auto-Submitted"] == "auto-replied"
    assert "Orders ship within 2 working days." in answer.message.get_body(("plain",)).get_content()


def test_an_email_asking_for_a_person_hands_off_like_a_widget_message(client, support_team, smtp_server, bot):
    TriggerRule.objects.create(
        name="Asks for a person", conditions=[{"kind": "explicit_request"}], team=support_team, reason_label="Asked"
    )
    response = post_raw(client, new_email("I want to talk to a person about my refund.", subject="Refund"))

    conversation = Conversation.objects.get(pk=response.json()["conversation"])
    assert conversation.status == "queued" and conversation.team == support_team
    handoff = Handoff.objects.get(conversation=conversation)
    assert handoff.status == "queued" and bot.questions == []


def test_mailgun_parsed_fields_with_its_signature(client, waiting, agent, smtp_server):
    agent_reply(agent_user=agent.user, conversation=waiting, text="It left our warehouse today.")
    (emailed,) = smtp_server.wait_for(1)
    timestamp, token = str(int(time.time())), "a" * 50
    signature = hmac.new(SECRET.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    fields = {
        "timestamp": timestamp,
        "token": token,
        "signature": signature,
        "sender": "ada@example.com",
        "from": "Ada <ada@example.com>",
        "recipient": emailed.message["Reply-To"],
        "subject": "Re: delivery",
        "body-plain": "Lovely.\n\nSent from my iPhone\n\n> It left our warehouse today.",
        "message-headers": json.dumps(
            [["Message-Id", "<mg-1@example.com>"], ["In-Reply-To", emailed.message["Message-ID"]]]
        ),
    }

    assert client.post(INBOUND, fields).json()["conversation"] == waiting.pk
    assert visitor_texts(waiting)[-1] == "Lovely."
    assert EmailRecord.objects.filter(header_id="mg-1@example.com", direction="in").exists()

    forged = client.post(INBOUND, {**fields, "signature": "0" * 64, "message-headers": "[]"})
    stale = dict(fields, timestamp=str(int(time.time()) - 3600))
    assert forged.status_code == 401 and client.post(INBOUND, stale).status_code == 401


def test_sendgrid_parsed_fields(client, waiting, agent, smtp_server):
    agent_reply(agent_user=agent.user, conversation=waiting, text="It left our warehouse today.")
    (emailed,) = smtp_server.wait_for(1)
    headers = (
        f"Message-ID: <sg-1@example.com>\r\nIn-Reply-To: {emailed.message['Message-ID']}\r\nFrom: ada@example.com\r\n"
    )
    fields = {
        "headers": headers,
        "from": "Ada <ada@example.com>",
        "to": "support@northwind.test",
        "subject": "Re: delivery",
        "text": "",
        "html": "<div>Perfect, <b>thank you</b>!</div><div class='gmail_quote'>On Tue wrote: It left...</div>",
        "envelope": '{"to": ["support@northwind.test"], "from": "ada@example.com"}',
    }

    response = client.post(f"{INBOUND}?secret={SECRET}", fields)

    assert response.json()["conversation"] == waiting.pk
    assert visitor_texts(waiting)[-1] == "Perfect, thank you!"


def test_the_inbound_endpoint_needs_the_secret_and_is_off_without_one(client, settings):
    email = EmailMessage()
    email["From"] = "bo@example.com"
    email.set_content("Hello")
    assert client.post(INBOUND, {"email": email.as_string()}).status_code == 401
    assert client.post(f"{INBOUND}?secret=wrong", {"email": email.as_string()}).status_code == 401
    wrong_basic = "Basic " + base64.b64encode(b"x:wrong").decode()
    assert client.post(INBOUND, {"email": email.as_string()}, HTTP_AUTHORIZATION=wrong_basic).status_code == 401
    assert client.get(f"{INBOUND}?secret={SECRET}").status_code == 405
    settings.EMAIL_INBOUND_SECRET = ""
    off = client.post(f"{INBOUND}?secret=", {"email": email.as_string()})
    assert off.status_code == 404 and "EMAIL_INBOUND_SECRET" in off.json()["detail"]
    assert not Message.objects.exists()


def test_automatic_replies_are_dropped_so_no_mail_loop_starts(client, waiting, agent, smtp_server):
    agent_reply(agent_user=agent.user, conversation=waiting, text="It left our warehouse today.")
    (emailed,) = smtp_server.wait_for(1)
    raw = reply_to(emailed, "I am out of the office until Monday.").replace(
        b"Subject:", b"Auto-Submitted: auto-replied\r\nSubject:", 1
    )

    response = post_raw(client, raw)

    assert response.json()["status"] == "ignored" and "automatic" in response.json()["reason"].lower()
    assert visitor_texts(waiting) == ["Where is my parcel?"] and len(smtp_server.received) == 1


@pytest.mark.parametrize(
    "raw, reason",
    [
        (b"Subject: no sender\r\n\r\nhello", "no From address"),
        (b"From: not an address\r\n\r\nhello", "no From address"),
        (b"From: bo@example.com\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n" + b"--x\r\n" * 3, ""),
        (
            b"From: bo@example.com\r\nContent-Type: text/plain; charset=x-no-such-charset\r\n\r\nhello \xff\xfe",
            "",
        ),
        (b"From: bo@example.com\r\nSubject: =?utf-8?b?AAAA?=\r\n\r\nNUL \x00 bytes \x01 and \xed\xa0\x80", ""),
    ],
)
def test_hostile_email_gets_a_clear_answer_never_a_server_error(client, raw, reason):
    response = post_raw(client, raw)

    assert response.status_code in (200, 400), response.content
    if reason:
        assert response.status_code == 400 and reason in response.json()["detail"]
    # The IMAP path: the same bytes, undecoded.
    try:
        email_inbound_receive(email=from_mime(raw))
    except EmailUnreadable as error:
        assert reason and reason in str(error)
    for text in Message.objects.values_list("text", flat=True):
        assert "\x00" not in text and "\x01" not in text


def test_deeply_nested_mime_is_refused_clearly(client):
    depth = 2000
    raw = b"From: bo@example.com\r\n"
    for level in range(depth):
        raw += f"Content-Type: multipart/mixed; boundary=b{level}\r\n\r\n--b{level}\r\n".encode()
    raw += b"Content-Type: text/plain\r\n\r\nhi\r\n"

    response = post_raw(client, raw)

    assert response.status_code == 400 and "nests its parts too deeply" in response.json()["detail"]


def test_the_imap_mailbox_is_read_threaded_and_marked_seen(waiting, agent, smtp_server, imap_server):
    agent_reply(agent_user=agent.user, conversation=waiting, text="It left our warehouse today.")
    (emailed,) = smtp_server.wait_for(1)
    imap_server.append("INBOX", None, None, reply_to(emailed, "Thank you, it arrived."))
    imap_server.append("INBOX", None, None, b"Subject: no sender\r\n\r\nwho am I")

    call_command("email_fetch")

    assert visitor_texts(waiting) == ["Where is my parcel?", "Thank you, it arrived.\n\nAda"]
    imap_server.select("INBOX")
    assert imap_server.uid("SEARCH", None, "UNSEEN")[1] == [b""]  # both taken (the unreadable one logged)
    call_command("email_fetch")  # nothing new: nothing stored twice
    assert len(visitor_texts(waiting)) == 2
    assert Customer.objects.count() == 1


def dana_answers(conversation, agent):
    Agent.objects.filter(pk=agent.pk).update(status=Agent.Status.ONLINE)
    handoff_assign(handoff=handoff_open(conversation=conversation), agent=agent)
    conversation.refresh_from_db()
    agent_reply(agent_user=agent.user, conversation=conversation, text="Hi Ada, Dana here.")


def test_the_readme_example_form_fields_only(client, support_team, agent, smtp_server, bot):
    """README's curl: SendGrid-style fields without the headers block (so no Message-ID), Basic auth."""
    TriggerRule.objects.create(name="Asks for a person", conditions=[{"kind": "explicit_request"}], team=support_team)
    fields = {
        "from": "Ada <ada@example.com>",
        "to": "support@localhost",
        "subject": "Refund",
        "text": "Hi, I would like to talk to a person about a refund.",
    }
    auth = "Basic " + base64.b64encode(f"any:{SECRET}".encode()).decode()

    first = client.post(INBOUND, fields, HTTP_AUTHORIZATION=auth)
    again = client.post(INBOUND, fields, HTTP_AUTHORIZATION=auth)

    assert first.json()["status"] == "stored" and again.json()["status"] == "duplicate"
    conversation = Conversation.objects.get(pk=first.json()["conversation"])
    assert conversation.status == "queued"
    # Dana's answer threads under nothing: the email had no Message-ID, and a made-up one would mean nothing.
    dana_answers(conversation, agent)
    (answer,) = smtp_server.wait_for(1)
    assert "In-Reply-To" not in answer.message and "References" not in answer.message


def test_a_mailbox_that_refuses_the_login_is_a_clear_error_and_the_beat_task_survives_it(imap_server, settings, caplog):
    settings.EMAIL_IMAP_PASSWORD = "wrong"
    with pytest.raises(CommandError, match=r"Reading 127\.0\.0\.1"):
        call_command("email_fetch")
    email_fetch_task()  # logged, not raised: beat tries again next minute
    assert "Reading 127.0.0.1" in caplog.text
