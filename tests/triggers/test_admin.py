"""The managers' admin: rules list, the conditions editor, the firing log and the test panel."""

import json

import pytest
from django.urls import reverse

from chat.models import Conversation
from tests.factories import CustomerFactory, TeamFactory
from triggers.models import TriggerFiring, TriggerRule
from triggers.services import triggers_evaluate_message

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:triggers_triggerrule_add")
LIST_URL = reverse("admin:triggers_triggerrule_changelist")
TEST_URL = reverse("admin:triggers_triggerrule_test")


@pytest.fixture
def admin_client(client, manager):
    client.force_login(manager)
    return client


def rule_form(**overrides) -> dict:
    data = {
        "name": "Refunds",
        "description": "",
        "order": "10",
        "enabled": "on",
        "match": "all",
        "conditions": json.dumps([{"kind": "keywords", "terms": ["refund"]}]),
        "handoff": "on",
        "team": "",
        "priority": "1",
        "reason_label": "Refund",
        "tags": '["refund"]',
        "notify_team": "",
        "visitor_message": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_the_rules_list_is_ordered_and_links_to_the_test_panel(admin_client):
    response = admin_client.get(LIST_URL)
    assert response.status_code == 200
    names = [rule.name for rule in response.context["cl"].result_list]
    assert names == list(TriggerRule.objects.order_by("order", "id").values_list("name", flat=True))
    assert TEST_URL in response.content.decode()


def test_a_rule_is_created_with_readable_conditions(admin_client, no_rules):
    response = admin_client.post(ADD_URL, rule_form())
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    rule = TriggerRule.objects.get()
    assert rule.conditions == [{"kind": "keywords", "terms": ["refund"]}]
    assert rule.tags == ["refund"]
    page = admin_client.get(reverse("admin:triggers_triggerrule_change", args=[rule.pk])).content.decode()
    assert "&quot;kind&quot;: &quot;keywords&quot;" in page and "Test this rule" in page


def test_a_catastrophic_regex_is_rejected_with_what_to_fix(admin_client, no_rules):
    conditions = json.dumps([{"kind": "keywords", "patterns": ["(a|aa)+$"]}])
    response = admin_client.post(ADD_URL, rule_form(conditions=conditions))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["conditions"]
    assert "pattern '(a|aa)+$' took over 50 ms" in errors[0]
    assert "avoid alternatives that overlap inside a repeat" in errors[0]
    assert not TriggerRule.objects.exists()


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        ('[{"kind": "keywords", "patterns": ["(a+)+"]}]', "repeats a group that itself repeats"),
        ('[{"kind": "keywords", "patterns": ["[a-"]}]', "is not a valid regular expression"),
        ('[{"kind": "sentiment"}]', "'below' is required"),
        ("[{kind: keywords}]", "This is not valid JSON: Expecting property name enclosed in double quotes at line 1"),
    ],
)
def test_invalid_conditions_are_rejected_on_save(admin_client, no_rules, conditions, message):
    response = admin_client.post(ADD_URL, rule_form(conditions=conditions))
    assert response.status_code == 200
    assert message in " ".join(response.context["adminform"].form.errors["conditions"])


@pytest.mark.parametrize(
    "conditions", ['[{"kind": ["keywords"]}]', '[{"kind": "intent", "category": null, "examples": ["lost parcel"]}]']
)
def test_conditions_that_used_to_crash_the_form_are_rejected_with_a_message(admin_client, no_rules, conditions):
    response = admin_client.post(ADD_URL, rule_form(conditions=conditions))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["conditions"]
    assert not TriggerRule.objects.exists()


def test_a_rule_that_does_nothing_is_rejected(admin_client, no_rules):
    response = admin_client.post(ADD_URL, rule_form(handoff=None, tags="[]"))
    assert "This rule does nothing" in response.context["adminform"].form.errors["handoff"][0]


def test_a_rule_edited_in_admin_takes_effect_on_the_next_message(admin_client, no_rules, conversation, say):
    admin_client.post(ADD_URL, rule_form())
    rule = TriggerRule.objects.get()
    assert triggers_evaluate_message(message=say("refund please")).handoff
    assert not triggers_evaluate_message(message=say("chargeback please")).handoff

    conditions = json.dumps([{"kind": "keywords", "terms": ["chargeback"]}])
    response = admin_client.post(
        reverse("admin:triggers_triggerrule_change", args=[rule.pk]), rule_form(conditions=conditions)
    )
    assert response.status_code == 302

    Conversation.objects.filter(pk=conversation.pk).update(status="bot")
    assert triggers_evaluate_message(message=say("chargeback please")).handoff
    assert not triggers_evaluate_message(message=say("refund please")).handoff


def test_rules_are_reordered_and_toggled_from_the_list(admin_client, no_rules, make_rule):
    first = make_rule("first", [{"kind": "keywords", "terms": ["refund"]}], order=10)
    second = make_rule("second", [{"kind": "keywords", "terms": ["refund"]}], order=20)
    data = {
        "form-TOTAL_FORMS": "2",
        "form-INITIAL_FORMS": "2",
        "form-0-id": str(first.pk),
        "form-0-order": "30",
        "form-0-enabled": "on",
        "form-1-id": str(second.pk),
        "form-1-order": "20",
        "_save": "Save",
    }
    assert admin_client.post(LIST_URL, data).status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.order, first.enabled, second.enabled) == (30, True, False)


def test_the_test_panel_shows_which_rules_fire_and_why(admin_client):
    response = admin_client.post(
        TEST_URL, {"message": "tlak to a humen please", "channel": "web", "business_hours": "now"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Hands off, decided by <strong>Visitor asks for a person</strong>" in page
    assert "Asks for a person (phrases): talk to a human" in page, "the evidence, typos corrected"
    fired = [row["trace"].rule_name for row in response.context["rows"] if row["trace"].matched]
    assert fired == ["Visitor asks for a person"]
    assert not TriggerFiring.objects.exists(), "testing stores nothing"


def test_the_test_panel_uses_the_picked_customer(admin_client):
    vip = CustomerFactory(name="Ada", attributes={"tier": "Gold"})
    response = admin_client.post(
        TEST_URL,
        {
            "message": "I want to make a complaint",
            "customer": str(vip.pk),
            "channel": "web",
            "business_hours": "open",
            "score_sentiment": "on",
        },
    )
    rows = {row["trace"].rule_name: row for row in response.context["rows"]}
    assert response.context["outcome"].result.handoff.rule_name == "VIP customer needs a person"
    assert rows["Complaint"]["trace"].matched
    vip_conditions = rows["VIP customer needs a person"]["conditions"]
    assert all(item["c"].matched for item in vip_conditions)
    assert '"value": "Gold"' in vip_conditions[0]["details"]


def test_a_disabled_rule_can_be_tested_from_its_page(admin_client, make_rule):
    draft = make_rule("draft", [{"kind": "keywords", "terms": ["invoice"]}], enabled=False, team=TeamFactory())
    url = reverse("admin:triggers_triggerrule_test_rule", args=[draft.pk])
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(url, {"message": "where is my invoice", "channel": "web", "business_hours": "now"})
    assert response.context["outcome"].result.handoff.rule_name == "draft"
    assert "(disabled, included here)" in response.content.decode()


def test_the_test_panel_checks_its_inputs(admin_client):
    response = admin_client.post(
        TEST_URL, {"message": "hi", "channel": "web", "business_hours": "now", "bot_confidences": "high"}
    )
    assert "Give numbers between 0 and 1" in response.content.decode()


def test_the_firing_log_is_read_only(admin_client, conversation, say, make_rule):
    make_rule("refunds", [{"kind": "keywords", "terms": ["refund"]}])
    triggers_evaluate_message(message=say("refund"))
    firing = TriggerFiring.objects.get()
    assert admin_client.get(reverse("admin:triggers_triggerfiring_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:triggers_triggerfiring_change", args=[firing.pk])).status_code == 200
    assert admin_client.get(reverse("admin:triggers_triggerfiring_add")).status_code == 403
    assert admin_client.post(reverse("admin:triggers_triggerfiring_delete", args=[firing.pk])).status_code == 403


def test_agents_without_admin_rights_cannot_open_the_test_panel(client, agent):
    client.force_login(agent.user)
    assert client.get(TEST_URL).status_code in (302, 403)


@pytest.mark.parametrize(("field", "value"), [("conditions", '[{"kind": "keywords",]'), ("tags", '["vip"')])
def test_json_that_does_not_parse_gets_one_message_saying_where(admin_client, no_rules, field, value):
    response = admin_client.post(ADD_URL, rule_form(**{field: value}))

    errors = response.context["adminform"].form.errors[field]
    assert len(errors) == 1  # not also the model's "add at least one condition" about a value it never got
    assert errors[0].startswith("This is not valid JSON:") and "line 1, column" in errors[0]


def test_the_rule_builder_is_offered_with_every_condition_kind(admin_client, no_rules):
    from triggers.conditions import KINDS

    page = admin_client.get(ADD_URL).content.decode()

    assert "triggers/rule_builder.js" in page
    menu = json.loads(page.split('<script id="rule-builder-menu" type="application/json">')[1].split("</script>")[0])
    assert [entry["kind"] for entry in menu] == list(KINDS)
    sentiment = next(entry for entry in menu if entry["kind"] == "sentiment")
    assert {"name": "scope", "widget": "choice", "default": "message", "choices": ["message", "average", "drop",
            "conversation"], "required": False} in sentiment["options"]  # fmt: skip
