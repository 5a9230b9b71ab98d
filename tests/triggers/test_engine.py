"""The pure engine: every condition kind, combinations, ordering, phases. No database.

Conditions that compare embeddings run the real model (nlp.embeddings), once per module.
"""

import subprocess
import sys

import pytest

from triggers.engine import (
    ConversationContext,
    CustomerContext,
    MessageContext,
    RuleSpec,
    compile_rules,
    evaluate,
)

PLAIN = ConversationContext()


def rule(rule_id, conditions, *, match="all", order=None, handoff=True, enabled=True, name=None):
    return RuleSpec(
        id=rule_id,
        name=name or f"rule {rule_id}",
        conditions=conditions,
        match=match,
        order=order if order is not None else rule_id * 10,
        handoff=handoff,
        enabled=enabled,
    )


def fires(conditions, text="hello", *, conversation=PLAIN, customer=None, sentiment=None, match="all", **message):
    """Does a one-rule rule set fire? Returns the details when it does, else None."""
    ruleset = compile_rules([rule(1, conditions, match=match)])
    result = evaluate(
        ruleset,
        MessageContext(text, sentiment=sentiment, **message),
        conversation,
        CustomerContext(customer or {}),
    )
    return result.matches[0].details if result.matches else None


# --- Explicit requests for a person ----------------------------------------------------------------

EXPLICIT = [{"kind": "explicit_request", "semantic": False}]


@pytest.mark.parametrize(
    "text",
    [
        "talk to a human",
        "I want to speak to a real person please",
        "agent please",
        "AGENT!!",
        "human",
        "can I talk to someone",
        "connect me with a representative",
        "transfer me to an operator",
        "I need a real person",
        "I'd like an agent",
        "let me chat with a live agent",
        "could an agent call me back",
        "I don't want to talk to a bot",
        "stop the robot, get me a person",
        "I want to speak to your manager",
        "Can I talk to a húman?",  # accents are folded
    ],
)
def test_it_recognises_requests_for_a_person(text):
    assert fires(EXPLICIT, text) is not None, text


@pytest.mark.parametrize(
    "text",
    ["tlak to a humen", "real persn", "agnet please", "can i spek with somone", "totalk with a human agent"],
)
def test_it_recognises_requests_for_a_person_with_typos(text):
    details = fires(EXPLICIT, text)
    assert details is not None, text
    assert details["matched"][0]["via"] == "phrase"


@pytest.mark.parametrize(
    "text",
    [
        "I spoke to your agent yesterday and she said it would ship",
        "I need to edit my personal details",
        "can I pick it up in person",
        "who is your human resources contact",
        "where is my order",
        "is this item in stock",
        "I talked to someone but the problem is still there",
        "what are your customer service hours",
        "can you act like a real person",
        "I have got to contact customer assistance",
        "please ask the staff to stop calling",
    ],
)
def test_it_does_not_mistake_other_messages_for_requests_for_a_person(text):
    assert fires(EXPLICIT, text) is None, text


def test_the_widget_button_is_an_explicit_request():
    assert fires([{"kind": "explicit_request"}], "", is_explicit_button=True) == {
        "kind": "group",
        "match": "all",
        "matched": [{"kind": "explicit_request", "via": "button"}],
    }
    assert fires([{"kind": "explicit_request", "button": False}], "", is_explicit_button=True) is None


# --- Keywords and patterns -----------------------------------------------------------------------------


def test_keywords_ignore_case_and_accents_and_respect_word_boundaries():
    terms = [{"kind": "keywords", "terms": ["réclamation", "cancel", "charge back"]}]
    assert fires(terms, "Je fais une RECLAMATION")["matched"][0]["matched"] == "reclamation"
    assert fires(terms, "I want to CANCEL.") is not None
    assert fires(terms, "what is the cancellation fee") is None, "cancel is not a word inside cancellation"
    assert fires(terms, "I will do a charge   back") is not None, "spaces inside a phrase are flexible"


def test_a_trailing_star_matches_word_prefixes():
    assert fires([{"kind": "keywords", "terms": ["refund*"]}], "any refunds yet?") is not None
    assert fires([{"kind": "keywords", "terms": ["refund"]}], "any refunds yet?") is None


def test_fuzzy_keywords_tolerate_typos_when_asked():
    condition = {"kind": "keywords", "terms": ["chargeback"]}
    assert fires([condition], "I will file a chargebakc") is None
    assert fires([{**condition, "fuzzy": True}], "I will file a chargebakc")["matched"][0]["typo"] is True


def test_patterns_are_regular_expressions_on_the_folded_text():
    condition = [{"kind": "keywords", "patterns": [r"order\s*#?\d{6}"]}]
    assert fires(condition, "Order #123456 never came")["matched"][0]["matched"] == "order #123456"
    assert fires(condition, "order 12345") is None
    assert fires([{"kind": "keywords", "patterns": ["ete"], "whole_words": False}], "Été chaud") is not None


def test_a_slow_pattern_times_out_as_no_match_and_says_so():
    # (a|aa)+$ backtracks exponentially on a long run of "a" followed by something else.
    ruleset = compile_rules([rule(1, [{"kind": "keywords", "patterns": ["(a|aa)+$"], "whole_words": False}])])
    result = evaluate(ruleset, MessageContext("a" * 3000 + "!"), PLAIN)
    assert result.matches == ()
    assert result.notes == ("pattern '(a|aa)+$' timed out",)


# --- Sentiment and frustration ------------------------------------------------------------------------


def test_message_sentiment_below_a_threshold():
    condition = [{"kind": "sentiment", "scope": "message", "below": -0.5}]
    assert fires(condition, sentiment=-0.7)["matched"][0] == {
        "kind": "sentiment",
        "scope": "message",
        "score": -0.7,
        "below": -0.5,
    }
    assert fires(condition, sentiment=-0.3) is None
    assert fires(condition, sentiment=None) is None, "not scored yet: the sentiment phase decides"


def test_the_average_of_the_last_visitor_messages():
    condition = [{"kind": "sentiment", "scope": "average", "last": 3, "below": -0.4}]
    assert fires(condition, sentiment=-0.9, conversation=ConversationContext()) is None, "needs 3 scores"
    two_before = ConversationContext(previous_visitor_sentiments=(0.9, -0.5, -0.4))
    details = fires(condition, sentiment=-0.6, conversation=two_before)["matched"][0]
    assert details["average"] == -0.5, "the last 3 include this message: (-0.5 - 0.4 - 0.6) / 3"
    assert fires(condition, sentiment=0.0, conversation=two_before) is None


def test_a_drop_from_the_recent_mood():
    condition = [{"kind": "sentiment", "scope": "drop", "last": 2, "drop": 0.8}]
    happy = ConversationContext(previous_visitor_sentiments=(0.6, 0.4))
    assert fires(condition, sentiment=-0.4, conversation=happy)["matched"][0]["drop"] == 0.9
    assert fires(condition, sentiment=0.0, conversation=happy) is None
    assert fires(condition, sentiment=-0.9, conversation=ConversationContext()) is None, "no earlier mood"


def test_the_conversations_running_sentiment():
    condition = [{"kind": "sentiment", "scope": "conversation", "below": -0.3}]
    assert fires(condition, sentiment=0.1, conversation=ConversationContext(sentiment=-0.5)) is not None
    assert fires(condition, sentiment=0.1, conversation=ConversationContext(sentiment=0.2)) is None


@pytest.mark.parametrize(
    ("text", "signal"),
    [
        ("WHERE IS MY ORDER", "shouting"),
        ("where is it!!", "repeated_punctuation"),
        ("where is it???", "repeated_punctuation"),
        ("this fucking app", "profanity"),
        ("this is ridiculous", "exasperation"),
        ("I am fed up with waiting", "exasperation"),
    ],
)
def test_frustration_signals(text, signal):
    details = fires([{"kind": "frustration"}], text)
    assert signal in details["matched"][0]["signals"], text


def test_acronyms_and_ordinary_questions_are_not_frustration():
    assert fires([{"kind": "frustration"}], "I lost my PIN and the VAT invoice, can you help?") is None
    assert fires([{"kind": "frustration"}], "Where is my order?") is None


def test_frustration_can_require_several_signals():
    condition = [{"kind": "frustration", "min_signals": 2}]
    assert fires(condition, "this is ridiculous") is None
    assert set(fires(condition, "THIS IS RIDICULOUS!!")["matched"][0]["signals"]) == {
        "shouting",
        "repeated_punctuation",
        "exasperation",
    }
    only_shouting = [{"kind": "frustration", "signals": ["shouting"]}]
    assert fires(only_shouting, "this is ridiculous!!") is None


# --- Intent ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def embed():
    from nlp.embeddings import embed

    return embed


def intent_fires(embed, condition, text):
    ruleset = compile_rules([rule(1, [condition])], embed=embed)
    result = evaluate(ruleset, MessageContext(text, vector=embed([text])[0]), PLAIN)
    return result.matches[0].details["matched"][0] if result.matches else None


def test_a_category_matches_its_keywords_and_similar_phrasings(embed):
    complaint = {"kind": "intent", "category": "complaint"}
    assert intent_fires(embed, complaint, "I want to lodge a complaint")["matched"] == "complaint"
    by_meaning = intent_fires(embed, complaint, "I am really unhappy with how your staff treated me")
    assert by_meaning["similarity"] >= 0.62
    assert intent_fires(embed, complaint, "I want to make a copmlaint")["typo"] is True
    assert intent_fires(embed, complaint, "how do I track my order") is None
    assert intent_fires(embed, complaint, "I'd like to leave a review") is None


def test_a_rule_can_bring_its_own_example_phrases(embed):
    shipping_damage = {
        "kind": "intent",
        "examples": ["my package arrived damaged", "the box was crushed and the item is broken"],
        "min_similarity": 0.6,
    }
    assert intent_fires(embed, shipping_damage, "the parcel came smashed and the vase inside is broken") is not None
    assert intent_fires(embed, shipping_damage, "what are your opening hours") is None


def test_asking_for_a_person_in_other_words_matches_by_similarity(embed):
    semantic_only = {"kind": "explicit_request", "phrases": False}
    assert intent_fires(embed, semantic_only, "is there an actual human being I could chat with")["via"] == "similarity"
    assert intent_fires(embed, semantic_only, "what time does customer service open") is None


def test_without_embeddings_intent_falls_back_to_keywords():
    ruleset = compile_rules([rule(1, [{"kind": "intent", "category": "complaint"}])], embed=None)
    assert not ruleset.needs_message_vector
    assert evaluate(ruleset, MessageContext("I want to file a complaint")).matches
    assert not evaluate(ruleset, MessageContext("I am deeply upset about how your staff treated me")).matches


# --- Customer value -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "attributes", "expected"),
    [
        ({"attribute": "plan", "op": "=", "value": "Enterprise"}, {"plan": "enterprise"}, True),
        ({"attribute": "plan", "op": "!=", "value": "free"}, {"plan": "pro"}, True),
        ({"attribute": "plan", "op": "!=", "value": "free"}, {}, True),
        ({"attribute": "lifetime_value", "op": ">", "value": 5000}, {"lifetime_value": 12000}, True),
        ({"attribute": "lifetime_value", "op": ">", "value": 5000}, {"lifetime_value": "12,000"}, True),
        ({"attribute": "lifetime_value", "op": ">", "value": 5000}, {"lifetime_value": 100}, False),
        ({"attribute": "lifetime_value", "op": "<", "value": 5000}, {"lifetime_value": "n/a"}, False),
        ({"attribute": "lifetime_value", "op": ">", "value": 5000}, {}, False),
        ({"attribute": "tier", "op": "in", "value": ["gold", "platinum"]}, {"tier": "GOLD"}, True),
        ({"attribute": "tier", "op": "not_in", "value": ["gold"]}, {"tier": "silver"}, True),
        ({"attribute": "Tier", "op": "exists"}, {"tier": "silver"}, True),
        ({"attribute": "tier", "op": "not_exists"}, {"tier": ""}, True),
        ({"attribute": "billing.plan", "op": "=", "value": "pro"}, {"billing": {"plan": "pro"}}, True),
        ({"attribute": "segments", "op": "contains", "value": "beta"}, {"segments": ["beta", "eu"]}, True),
        ({"attribute": "segments", "op": "in", "value": ["eu"]}, {"segments": ["beta", "eu"]}, True),
    ],
)
def test_customer_attributes(condition, attributes, expected):
    assert (fires([{"kind": "customer", **condition}], customer=attributes) is not None) is expected


# --- Bot struggling -----------------------------------------------------------------------------------------


def test_low_confidence_answers():
    low = ConversationContext(bot_confidences=(0.9, 0.3))
    assert fires([{"kind": "bot", "signal": "low_confidence", "below": 0.5}], conversation=low) is not None
    consecutive = {"kind": "bot", "signal": "consecutive_low_confidence", "count": 2, "below": 0.5}
    assert fires([consecutive], conversation=low) is None, "only one of the last two was low"
    twice = ConversationContext(bot_confidences=(0.9, 0.3, 0.2))
    assert fires([consecutive], conversation=twice)["matched"][0]["confidences"] == [0.3, 0.2]
    unknown = ConversationContext(bot_confidences=(None, 0.2))
    assert fires([consecutive], conversation=unknown) is None, "an answer without a confidence is not 'low'"


def test_the_visitor_rephrasing_the_same_question():
    condition = [{"kind": "bot", "signal": "rephrasing", "within": 2}]
    asked = ConversationContext(previous_visitor_texts=("how do I change my delivery address",))
    assert fires(condition, "how can I change the delivery address", conversation=asked) is not None
    assert fires(condition, "do you sell gift cards", conversation=asked) is None
    said_ok = ConversationContext(previous_visitor_texts=("ok",))
    assert fires(condition, "ok", conversation=said_ok) is None, "short replies repeated are not rephrasing"


def test_rephrasing_uses_embeddings_when_they_are_there(embed):
    first, again = "my password reset email never arrives", "I am not getting the email to reset my password"
    vectors = embed([again, first])
    ruleset = compile_rules([rule(1, [{"kind": "bot", "signal": "rephrasing", "min_similarity": 0.75}])])
    conversation = ConversationContext(previous_visitor_texts=(first,), previous_visitor_vectors=vectors[1:])
    result = evaluate(ruleset, MessageContext(again, vector=vectors[0]), conversation)
    assert result.matches[0].details["matched"][0]["previous"] == first


def test_the_bot_repeating_itself_and_negative_feedback():
    same_answer = ("You can reset it under Settings > Security.", "You can reset it under Settings > Security!")
    repeating = ConversationContext(
        bot_texts=same_answer, bot_questions=("how do I reset my password", "how do i reset my password??")
    )
    assert fires([{"kind": "bot", "signal": "repeating"}], conversation=repeating) is not None
    different = ConversationContext(bot_texts=("Try Settings.", "Our hours are 9 to 5."))
    assert fires([{"kind": "bot", "signal": "repeating"}], conversation=different) is None
    feedback = {"kind": "bot", "signal": "negative_feedback", "count": 2}
    assert fires([feedback], conversation=ConversationContext(negative_feedback_count=1)) is None
    assert fires([feedback], conversation=ConversationContext(negative_feedback_count=2)) is not None


def test_one_answer_to_two_different_questions_is_not_the_bot_repeating_itself():
    shipping = "Standard delivery within the UK takes 2-4 working days; we ship to Canada too."
    two_needs = ConversationContext(
        bot_texts=(shipping, shipping), bot_questions=("How long does shipping take?", "Do you ship to Canada?")
    )
    assert fires([{"kind": "bot", "signal": "repeating"}], conversation=two_needs) is None
    unknown_questions = ConversationContext(bot_texts=(shipping, shipping))
    assert fires([{"kind": "bot", "signal": "repeating"}], conversation=unknown_questions) is None


# --- Context ------------------------------------------------------------------------------------------------


def test_business_hours_open_closed_and_unconfigured():
    closed = [{"kind": "context", "field": "business_hours", "value": "closed"}]
    assert fires(closed, conversation=ConversationContext(business_hours_open=False)) is not None
    assert fires(closed, conversation=ConversationContext(business_hours_open=True)) is None
    assert fires(closed, conversation=ConversationContext(business_hours_open=None)) is None, "no hours configured"
    billing_closed = [{"kind": "context", "field": "business_hours", "value": "closed", "team": "billing"}]
    teams = ConversationContext(business_hours_open=True, teams_open={"billing": False, "support": True})
    assert fires(billing_closed, conversation=teams)["matched"][0]["team"] == "billing"


@pytest.mark.parametrize(
    ("condition", "conversation", "expected"),
    [
        ({"field": "channel", "value": "email"}, ConversationContext(channel="email"), True),
        ({"field": "channel", "op": "in", "value": ["web"]}, ConversationContext(channel="email"), False),
        ({"field": "visitor_messages", "op": ">=", "value": 5}, ConversationContext(visitor_message_count=5), True),
        ({"field": "messages", "op": ">", "value": 10}, ConversationContext(message_count=3), False),
        ({"field": "waiting_seconds", "op": ">", "value": 120}, ConversationContext(waiting_seconds=300), True),
        ({"field": "conversation_age_seconds", "op": "<", "value": 60}, ConversationContext(age_seconds=30), True),
        ({"field": "tags", "op": "contains", "value": "vip"}, ConversationContext(tags=("vip",)), True),
        ({"field": "status", "value": "bot"}, ConversationContext(status="queued"), False),
    ],
)
def test_conversation_context(condition, conversation, expected):
    assert (fires([{"kind": "context", **condition}], conversation=conversation) is not None) is expected


# --- Combinations, ordering, phases -----------------------------------------------------------------------

VIP = {"kind": "customer", "attribute": "tier", "op": "=", "value": "vip"}
REFUND = {"kind": "keywords", "terms": ["refund"]}


def test_all_needs_every_condition_and_any_needs_one():
    assert fires([VIP, REFUND], "refund please", customer={"tier": "vip"}) is not None
    assert fires([VIP, REFUND], "refund please", customer={"tier": "basic"}) is None
    assert fires([VIP, REFUND], "refund please", customer={"tier": "basic"}, match="any") is not None
    assert fires([VIP, REFUND], "hello", customer={"tier": "basic"}, match="any") is None


def test_groups_nest_and_conditions_negate():
    conditions = [
        VIP,
        {"kind": "group", "match": "any", "conditions": [REFUND, {"kind": "sentiment", "below": -0.5}]},
        {"kind": "context", "field": "channel", "value": "email", "negate": True},
    ]
    vip = {"tier": "vip"}
    assert fires(conditions, "refund", customer=vip) is not None
    assert fires(conditions, "hello", customer=vip, sentiment=-0.9) is not None
    assert fires(conditions, "hello", customer=vip, sentiment=0.2) is None
    assert fires(conditions, "refund", customer=vip, conversation=ConversationContext(channel="email")) is None


def test_every_matching_rule_is_reported_and_the_first_handoff_by_order_wins():
    ruleset = compile_rules(
        [
            rule(1, [REFUND], order=30, name="refunds to billing"),
            rule(2, [REFUND], order=10, handoff=False, name="tag refunds"),
            rule(3, [VIP], order=20, name="vip"),
            rule(4, [REFUND], order=20, name="same order as vip, later id"),
        ]
    )
    result = evaluate(ruleset, MessageContext("refund"), PLAIN, CustomerContext({"tier": "vip"}))
    assert [m.rule_name for m in result.matches] == [
        "tag refunds",
        "vip",
        "same order as vip, later id",
        "refunds to billing",
    ]
    assert result.handoff.rule_name == "vip", "tagging rules do not take the handoff"


def test_disabled_rules_do_not_run():
    ruleset = compile_rules([rule(1, [REFUND], enabled=False), rule(2, [REFUND], handoff=False)])
    result = evaluate(ruleset, MessageContext("refund"))
    assert [m.rule_id for m in result.matches] == [2]
    assert result.handoff is None


def test_a_rule_with_broken_conditions_is_left_out_not_the_whole_set():
    ruleset = compile_rules([rule(1, [{"kind": "nonsense"}]), rule(2, [REFUND])])
    assert [r.id for r in ruleset.rules] == [2]
    assert "kind" in ruleset.errors[1]


def test_the_sentiment_phase_runs_only_rules_that_read_sentiment_and_have_not_fired():
    negative = {"kind": "sentiment", "below": -0.5}
    ruleset = compile_rules(
        [rule(1, [REFUND]), rule(2, [negative]), rule(3, [REFUND, negative], match="any")],
    )
    on_arrival = evaluate(ruleset, MessageContext("refund now"), phase="message")
    assert [m.rule_id for m in on_arrival.matches] == [1, 3], "sentiment is unknown on arrival"
    scored = MessageContext("refund now", sentiment=-0.8)
    after = evaluate(ruleset, scored, phase="sentiment", skip_rule_ids={m.rule_id for m in on_arrival.matches})
    assert [m.rule_id for m in after.matches] == [2]


def test_explain_traces_every_top_level_condition():
    ruleset = compile_rules([rule(1, [VIP, REFUND], match="any"), rule(2, [REFUND])])
    result = evaluate(ruleset, MessageContext("refund"), explain=True)
    first = result.traces[0]
    assert first.matched
    assert [(c.description, c.matched) for c in first.conditions] == [
        ("customer tier = 'vip'", False),
        ("message contains 'refund'", True),
    ]
    assert result.traces[1].conditions[0].details == {"kind": "keywords", "matched": "refund"}


def test_the_engine_imports_no_django_and_no_model():
    code = (
        "import sys, triggers.engine, triggers.conditions; "
        "bad = [m for m in ('django', 'numpy', 'onnxruntime', 'nlp.embeddings') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"the engine imported {out}"


def test_a_category_takes_examples_from_the_knowledge_base_and_the_rule(embed):
    ruleset = compile_rules(
        [
            rule(1, [{"kind": "intent", "category": "shipping"}]),
            rule(2, [{"kind": "intent", "category": "shipping", "knowledge_base": False}]),
            rule(3, [{"kind": "intent", "category": "complaint", "examples": ["my order came in pieces"]}]),
        ],
        embed=embed,
        extra_examples={"Shipping": ["How long does delivery to Canada take?", "Do you ship internationally?"]},
    )
    assert ruleset.knowledge_categories == {"shipping", "complaint"}
    text = "what does delivery to Canada cost and how long does it take"
    fired = [m.rule_id for m in evaluate(ruleset, MessageContext(text, vector=embed([text])[0])).matches]
    assert fired == [1], "rule 2 opted out of the knowledge base and has no other examples"
    text = "the order came in pieces"
    fired = [m.rule_id for m in evaluate(ruleset, MessageContext(text, vector=embed([text])[0])).matches]
    assert fired == [3]


# --- Conditions shared between rules ---------------------------------------------------------------


def test_an_equal_condition_in_many_rules_is_tested_once_per_message_and_fires_each_rule():
    plan = {"kind": "customer", "attribute": "plan", "op": "=", "value": "pro"}
    ruleset = compile_rules([rule(1, [plan]), rule(2, [{"kind": "group", "match": "any", "conditions": [plan]}])])
    shared = ruleset.rules[0].conditions[0]
    nested = ruleset.rules[1].conditions[0].conditions[0]
    assert shared.slot == nested.slot
    assert ruleset.slot_count == 2  # the condition and the group around its copy

    result = evaluate(ruleset, MessageContext("hello"), PLAIN, CustomerContext({"plan": "Pro"}))
    assert [m.rule_id for m in result.matches] == [1, 2]
    assert result.matches[0].details["matched"] == [{"kind": "customer", "attribute": "plan", "value": "Pro"}]


def test_conditions_that_differ_in_negation_or_team_are_kept_apart():
    hours = {"kind": "context", "field": "business_hours", "value": "open"}
    specs = [
        rule(1, [hours], handoff=True),
        RuleSpec(id=2, name="billing", conditions=[hours], order=20, handoff=True, team="billing"),
        rule(3, [{**hours, "negate": True}]),
    ]
    ruleset = compile_rules(specs)
    assert ruleset.slot_count == 3
    conversation = ConversationContext(business_hours_open=True, teams_open={"billing": False})
    result = evaluate(ruleset, MessageContext("hello"), conversation)
    assert [m.rule_id for m in result.matches] == [1]
