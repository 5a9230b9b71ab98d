"""Webhooks against a real HTTP server on 127.0.0.1: signed, retried, switched off, redelivered."""

import json
import re
import time
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from api.models import WebhookDelivery, WebhookEndpoint
from api.webhooks.delivery import retry_delay, webhook_deliveries_sweep, webhook_event_emit
from handoff.services import handoff_request
from tests.factories import ConversationFactory, MessageFactory
from tests.support.services import wait_for

DOCS = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def documented_verify():
    """The receiver's check exactly as docs/webhooks.md prints it: the docs are the only source."""
    code = re.search(r"```python\n(.*?)```", DOCS.read_text(), re.S).group(1)
    namespace: dict = {}
    exec(code, namespace)  # the documentation's own example, run as a reader would
    return namespace["verify"]


def deliver_message(conversation=None, text="Where is my parcel?", **kwargs):
    conversation = conversation or ConversationFactory(customer__email="ada@example.com", customer__name="Ada")
    with transaction.atomic():
        return MessageFactory(conversation=conversation, text=text, **kwargs)


pytestmark = pytest.mark.django_db(transaction=True)


def test_a_message_is_posted_signed_and_a_receiver_written_from_the_docs_accepts_it(make_endpoint, receiver):
    endpoint = make_endpoint(events=["message.created"])
    message = deliver_message()
    (request,) = receiver.wait_for(1)
    assert request.method == "POST" and request.path == "/hooks"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Handoff-Event"] == "message.created"
    body = request.json()
    assert body["type"] == "message.created" and body["api_version"] == "1"
    assert body["id"] == request.headers["Handoff-Event-Id"]
    assert body["data"]["message"] == {
        "seq": 1, "sender": "visitor", "author": None, "text": "Where is my parcel?",
        "created_at": message.created_at.isoformat(), "client_id": "", "reply_to": None, "kind": "",
    }  # fmt: skip
    assert body["data"]["conversation"]["customer"]["email"] == "ada@example.com"

    verify = documented_verify()
    signature = request.headers["Handoff-Signature"]
    assert verify(endpoint.secret, signature, request.body)
    assert not verify(endpoint.secret, signature, request.body.replace(b"parcel", b"refund"))
    assert not verify("whsec_someone-else", signature, request.body)
    stale = re.sub(r"t=\d+", f"t={int(time.time()) - 3600}", signature)
    assert not verify(endpoint.secret, stale, request.body)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "succeeded" and delivery.attempts == 1 and delivery.last_status_code == 200


def test_failures_are_retried_until_the_receiver_answers(make_endpoint, receiver, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 5
    receiver.script = [(500, {}, b"boom"), (503, {}, b"busy"), (200, {}, b"ok")]
    make_endpoint(events=["message.created"])
    deliver_message()
    receiver.wait_for(3)
    delivery = WebhookDelivery.objects.get(event_type="message.created")
    assert delivery.status == "succeeded" and delivery.attempts == 3
    assert [a.status_code for a in delivery.attempt_log.all()] == [500, 503, 200]
    assert [a.error for a in delivery.attempt_log.all()] == ["HTTP 500", "HTTP 503", ""]
    assert len({r.headers["Handoff-Event-Id"] for r in receiver.requests}) == 1  # the same event each time


def test_retries_back_off_exponentially_up_to_six_hours(settings):
    settings.WEBHOOK_RETRY_SECONDS = 30
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 90, 270, 810]
    assert retry_delay(20).total_seconds() == 6 * 3600


def test_a_delivery_gives_up_after_the_last_attempt(make_endpoint, receiver, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    receiver.script = [(500, {}, b"")]
    make_endpoint(events=["message.created"])
    deliver_message()
    receiver.wait_for(3)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed" and delivery.attempts == 3 and delivery.next_attempt_at is None
    time.sleep(0.2)
    assert len(receiver.requests) == 3


def test_an_endpoint_failing_n_times_in_a_row_is_switched_off_with_a_notice(
    make_endpoint, receiver, settings, client, manager
):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    settings.WEBHOOK_DISABLE_AFTER = 3
    receiver.script = [(500, {}, b"")]
    endpoint = make_endpoint(events=["message.created"])
    conversation = ConversationFactory()
    deliver_message(conversation)  # attempts 1 and 2 fail
    deliver_message(conversation, text="Hello?")  # attempt 3 fails: switched off, so no retry is scheduled
    receiver.wait_for(3)
    time.sleep(0.2)
    assert len(receiver.requests) == 3
    endpoint.refresh_from_db()
    assert not endpoint.active and endpoint.consecutive_failures == 3
    assert "3 consecutive failed deliveries" in endpoint.disabled_reason
    last = WebhookDelivery.objects.order_by("-id").first()
    assert last.status == "failed" and last.attempts == 1 and last.next_attempt_at is None
    # Nothing more is stored for a disabled endpoint, and managers see why in admin.
    deliver_message(conversation, text="Anyone?")
    assert WebhookDelivery.objects.count() == 2
    client.force_login(manager)
    page = client.get(reverse("admin:api_webhookendpoint_changelist")).content.decode()
    assert "is off: Disabled after 3 consecutive failed deliveries" in page


def test_a_manager_redelivers_from_the_log_once_the_receiver_is_fixed(
    make_endpoint, receiver, settings, client, manager
):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    receiver.script = [(500, {}, b"")]
    make_endpoint(events=["message.created"])
    deliver_message()
    receiver.wait_for(1)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed"
    receiver.script = [(500, {}, b""), (204, {}, b"")]
    client.force_login(manager)
    client.post(
        reverse("admin:api_webhookdelivery_changelist"), {"action": "redeliver", "_selected_action": [delivery.pk]}
    )
    receiver.wait_for(2)
    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and delivery.last_status_code == 204
    assert [(a.number, a.manual) for a in delivery.attempt_log.all()] == [(1, False), (2, True)]
    assert receiver.requests[0].headers["Handoff-Event-Id"] == receiver.requests[1].headers["Handoff-Event-Id"]
    page = client.get(reverse("admin:api_webhookdelivery_change", args=[delivery.pk])).content.decode()
    assert "HTTP 500" in page and "204" in page


def test_a_slow_receiver_times_out_without_holding_up_the_chat(make_endpoint, receiver, settings):
    settings.WEBHOOK_TIMEOUT = 0.5
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    receiver.delay = 2
    make_endpoint(events=["message.created"])
    deliver_message()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed" and delivery.last_status_code is None
    assert "time" in delivery.last_error.lower()


def test_loopback_is_refused_unless_allowed(db, receiver, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    WebhookEndpoint.objects.create(name="Local", url=receiver.url, events=["message.created"])
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    deliver_message()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed" and "private or internal" in delivery.last_error
    assert receiver.requests == []


def test_endpoints_without_personal_data_get_no_names_and_scrubbed_text(make_endpoint, receiver):
    make_endpoint(events=["message.created"], personal_data=False)
    deliver_message(text="Mail me at ada@example.com or call +44 20 7946 0958")
    body = receiver.wait_for(1)[0].json()
    assert body["data"]["conversation"]["customer"]["email"] == ""
    assert body["data"]["conversation"]["customer"]["name"] == ""
    text = body["data"]["message"]["text"]
    assert "ada@example.com" not in text and "7946" not in text


def test_a_rolled_back_change_announces_nothing(make_endpoint, receiver):
    make_endpoint()
    conversation = ConversationFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        MessageFactory(conversation=conversation, text="never stored")
        raise RuntimeError
    assert not WebhookDelivery.objects.filter(event_type="message.created").exists()


def test_the_sweep_sends_what_the_queue_never_did(make_endpoint, receiver, settings, monkeypatch):
    make_endpoint(events=["message.created"])
    conversation = ConversationFactory()
    # The broker is down when the message commits: the delivery is stored, its task is lost.
    from api.webhooks import delivery as delivery_module

    monkeypatch.setattr(delivery_module.webhook_deliver_task, "delay", lambda *args, **kwargs: None)
    deliver_message(conversation)
    monkeypatch.undo()
    assert receiver.requests == []
    WebhookDelivery.objects.update(next_attempt_at=WebhookDelivery.objects.get().created_at.replace(year=2000))
    assert webhook_deliveries_sweep() == 1
    receiver.wait_for(1)
    assert WebhookDelivery.objects.get().status == "succeeded"


def test_handoff_and_conversation_events_name_the_team_and_the_channel_filter_applies(
    make_endpoint, receiver, support_team
):
    make_endpoint(events=["handoff.requested", "conversation.created"], channels=["web"])
    make_endpoint(name="Bridge", events=["handoff.requested"], channels=["api"])
    conversation = ConversationFactory()
    handoff_request(conversation=conversation, reason="Visitor asked for a person", team=support_team)
    requests = receiver.wait_for(2)
    time.sleep(0.2)
    assert sorted(r.headers["Handoff-Event"] for r in requests) == ["conversation.created", "handoff.requested"]
    handoff = next(r.json() for r in requests if r.headers["Handoff-Event"] == "handoff.requested")["data"]["handoff"]
    assert handoff["team"] == "support" and handoff["to_status"] == "queued" and handoff["reason"]


def test_with_no_endpoint_an_event_costs_no_query(db):
    webhook_event_emit(event_type="message.created", data=dict)  # warms the endpoint cache
    with CaptureQueriesContext(connection) as queries:
        assert webhook_event_emit(event_type="message.created", data=dict) == 0
    assert len(queries) == 0


def test_the_schema_documents_every_event(client):
    schema = client.get("/api/schema/?format=json").json()
    assert {"message.created", "handoff.requested", "csat.created", "suggestion.created"} <= set(schema["webhooks"])
    body = schema["webhooks"]["message.created"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["$ref"].endswith("MessageCreatedEvent")
    assert json.dumps(schema["components"]["schemas"]["MessageCreatedData"])


@pytest.mark.worker
def test_a_real_celery_worker_delivers_after_commit(celery_worker, make_endpoint, receiver):
    make_endpoint(events=["message.created"])
    deliver_message(text="Sent by the worker")
    (request,) = receiver.wait_for(1, timeout=60)
    assert request.json()["data"]["message"]["text"] == "Sent by the worker"
    wait_for(
        lambda: WebhookDelivery.objects.filter(status="succeeded").exists(), timeout=30, what="the delivery's record"
    )


def test_a_delivery_left_sending_by_a_dead_worker_is_sent_again(make_endpoint, receiver):
    from datetime import timedelta

    from django.utils import timezone

    endpoint = make_endpoint(events=["message.created"])
    WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_id="6f1c2b8e-0000-4000-8000-000000000001",
        event_type="message.created",
        payload={"id": "6f1c2b8e-0000-4000-8000-000000000001", "type": "message.created", "data": {}},
        status="sending",
        claimed_at=timezone.now() - timedelta(minutes=10),  # its worker was killed mid-send
        next_attempt_at=timezone.now() - timedelta(minutes=10),
    )
    assert webhook_deliveries_sweep() == 1
    receiver.wait_for(1)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "succeeded" and delivery.attempts == 1
