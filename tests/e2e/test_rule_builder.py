"""The rule builder in a real browser: conditions from the menu, a nested any-group, saved as JSON."""

import json
from pathlib import Path

import pytest
from django.conf import settings

from chat.models import Customer
from tests.factories import ConversationFactory, MessageFactory
from triggers.models import TriggerRule
from triggers.services import triggers_evaluate_message

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"


def seed_history():
    """Two conversations of the last days: a pro customer asking for a person, a free one asking the same."""
    for plan in ("pro", "free"):
        conversation = ConversationFactory(customer=Customer.objects.create(attributes={"plan": plan}))
        MessageFactory(conversation=conversation, text="can I talk to a person please")


def sign_in(page, live_server_url):
    page.goto(live_server_url + "/admin/login/?next=/admin/")
    page.fill("input[name=username]", "morgan")
    page.fill("input[name=password]", "a-long-test-password")
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")


def test_a_rule_built_from_the_menu_is_saved_as_json_and_fires_live(page, live_server_url, manager):
    TriggerRule.objects.all().delete()
    seed_history()
    sign_in(page, live_server_url)
    page.goto(live_server_url + "/admin/triggers/triggerrule/add/")
    page.fill("#id_name", "VIP asks for a person")

    builder = page.locator("#rule-builder")
    builder.locator("select[aria-label='Add a condition']").last.select_option("customer")
    customer = builder.locator(".rb-condition[data-kind=customer]")
    customer.locator(".rb-option", has_text="attribute").locator("input").fill("plan")
    customer.locator(".rb-option", has_text="op").locator("select").select_option("in")
    customer.locator(".rb-option", has_text="value").locator("input").fill('["pro", "enterprise"]')
    builder.locator("select[aria-label='Add a condition']").last.select_option("group")
    group = builder.locator(".rb-condition[data-kind=group]")
    group.locator("select[aria-label='Add a condition']").select_option("explicit_request")
    group.locator("select[aria-label='Add a condition']").select_option("sentiment")
    group.locator(".rb-condition[data-kind=sentiment] .rb-option", has_text="below").locator("input").fill("-0.5")
    page.fill("#id_priority", "5")
    page.fill("#id_reason_label", "VIP wants a person")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "rule-builder.png"), full_page=True)

    # Replayed on the history before saving: the pro customer who asked for a person is counted.
    page.click("input[name=_replay]")
    page.wait_for_url("**/admin/triggers/triggerrule/replay/**", timeout=60_000)  # a job with a worker
    counts = page.locator("#replay-counts")
    assert "Conversations it would have handed off" in counts.text_content()
    assert counts.locator("tr", has_text="would have handed off").locator("td").text_content() == "1"
    page.screenshot(path=str(SCREENSHOTS / "rule-replay.png"), full_page=True)
    assert not TriggerRule.objects.exists()  # nothing saved yet
    page.go_back()
    page.wait_for_url("**/admin/triggers/triggerrule/add/")
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/triggers/triggerrule/", timeout=30_000)

    rule = TriggerRule.objects.get(name="VIP asks for a person")
    assert rule.conditions == [
        {"kind": "customer", "attribute": "plan", "op": "in", "value": ["pro", "enterprise"]},
        {
            "kind": "group",
            "match": "any",
            "conditions": [{"kind": "explicit_request"}, {"kind": "sentiment", "below": -0.5}],
        },
    ]
    # The builder's JSON is what the engine runs: a pro customer asking for a person is handed off.
    conversation = ConversationFactory(customer=Customer.objects.create(attributes={"plan": "pro"}))
    message = MessageFactory(conversation=conversation, text="I want to talk to a human please")
    decision = triggers_evaluate_message(message=message)
    assert decision.handoff and decision.rule.pk == rule.pk and decision.priority == 5

    # Opened again, the builder shows the stored rule, and saving it untouched keeps its JSON.
    page.goto(live_server_url + f"/admin/triggers/triggerrule/{rule.pk}/change/")
    value = page.locator(".rb-condition[data-kind=customer] .rb-option", has_text="value").locator("input")
    assert value.input_value() == '["pro","enterprise"]'
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/triggers/triggerrule/", timeout=30_000)
    stored = rule.conditions
    rule.refresh_from_db()
    assert rule.conditions == stored


def test_the_builder_follows_a_hand_edit_of_the_json_instead_of_overwriting_it(page, live_server_url, manager):
    sign_in(page, live_server_url)
    page.goto(live_server_url + "/admin/triggers/triggerrule/add/")
    builder = page.locator("#rule-builder")
    builder.locator("select[aria-label='Add a condition']").last.select_option("explicit_request")
    page.locator(".rb-json summary").click()
    textarea = page.locator("#id_conditions")

    # Typed by hand: the builder is rebuilt from it...
    textarea.fill(
        '[{"kind": "explicit_request"}, {"kind": "customer", "attribute": "plan", "op": "eq", "value": "pro"}]'
    )
    customer = builder.locator(".rb-condition[data-kind=customer]")
    assert customer.locator(".rb-option", has_text="attribute").locator("input").input_value() == "plan"
    # ...so touching the builder afterwards keeps the hand-made condition.
    builder.locator("select[aria-label='Add a condition']").last.select_option("sentiment")
    assert [c["kind"] for c in json.loads(textarea.input_value())] == ["explicit_request", "customer", "sentiment"]
    assert json.loads(textarea.input_value())[1]["value"] == "pro"

    # Half-typed JSON pauses the builder (it cannot show it) and is left exactly as typed.
    half_typed = '[{"kind": "customer", "attribute": "pla'
    textarea.fill(half_typed)
    assert page.locator(".rb-warning").is_visible()
    assert builder.locator("select[aria-label='Add a condition']").last.is_disabled()
    assert textarea.input_value() == half_typed
    textarea.fill('[{"kind": "explicit_request"}]')  # valid again: the builder is back, with that rule
    assert not page.locator(".rb-warning").is_visible()
    assert builder.locator(".rb-condition").count() == 1
    assert builder.locator("select[aria-label='Add a condition']").last.is_enabled()

    # Saved through the admin form, in the same run as the test above that saved one too.
    page.fill("#id_name", "Asked for a person")
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/triggers/triggerrule/", timeout=30_000)
    assert TriggerRule.objects.get(name="Asked for a person").conditions == [{"kind": "explicit_request"}]
