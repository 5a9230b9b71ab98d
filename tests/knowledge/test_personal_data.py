"""Personal data cannot cross visitors through the learning loop (issue 16, item 2).

One test per class of data the scrubber replaces; proposals in which a detector still fires are
not proposed; the review form shows what is left and approval refuses it; new articles are never
approved in bulk.
"""

import pytest
from django.urls import reverse

from knowledge.learning.generation import suggestions_generate_for_conversation
from knowledge.learning.review import SuggestionError, suggestion_approve, suggestion_edit
from knowledge.models import Article, TrainingSuggestion
from knowledge.scrub import personal_data_hits, scrub_answer, scrub_personal_data
from tests.factories import ArticleFactory, ConversationFactory
from tests.knowledge.test_review_admin import CHANGELIST, flash, make_suggestion
from tests.knowledge.test_suggestions import RecordingChatModel, agent_answers_and_resolves, visitor_asks

Kind = TrainingSuggestion.Kind
Status = TrainingSuggestion.Status


@pytest.mark.parametrize(
    ("text", "secret", "placeholder"),
    [
        # street addresses and postcodes
        ("I've sent it to 221B Baker Street, London NW1 6XE.", "221B Baker Street", "[address]"),
        ("I've sent it to 221B Baker Street, London NW1 6XE.", "NW1 6XE", "[postcode]"),
        ("New address: Flat 3, 12 Elm Grove, Bristol BS1 4DJ", "12 Elm Grove", "[address]"),
        ("Ship to 1600 Amphitheatre Parkway, Mountain View, CA 94043", "94043", "[postcode]"),
        # passwords and logins
        ("Your temporary password is Xk9!fQ2 until tomorrow.", "Xk9!fQ2", "[password]"),
        ("password: hunter2", "hunter2", "[password]"),
        ("Your PIN is now 4821.", "4821", "[password]"),
        ("Your username is ada_l and it works now.", "ada_l", "[login]"),
        ("Log in with login: ada.lovelace", "ada.lovelace", "[login]"),
        # URLs carrying tokens
        ("Reset it here: https://shop.example.com/reset?token=abc123def456 today", "abc123def456", "[private link]"),
        (
            "Use https://shop.example.com/account/reset/Mzk2/5x8-a1b2c3d4e5f6g7h8i9j0",
            "a1b2c3d4e5f6g7h8i9j0",
            "[private link]",
        ),
        # dates of birth
        ("Her date of birth is 12/03/1985.", "12/03/1985", "[date of birth]"),
        ("I was born on 3 March 1990", "3 March 1990", "[date of birth]"),
        ("DOB: 1985-03-12", "1985-03-12", "[date of birth]"),
        # national insurance numbers
        ("NI number AB 12 34 56 C on file", "AB 12 34 56 C", "[national insurance number]"),
        ("NI AB123456C", "AB123456C", "[national insurance number]"),
        # IBAN, sort codes, account numbers
        ("IBAN GB82 WEST 1234 5698 7654 32 is on file", "GB82 WEST", "[bank account]"),
        ("sort code 12-34-56 and account number 31926819", "12-34-56", "[sort code]"),
        ("sort code 12-34-56 and account number 31926819", "31926819", "[bank account]"),
        # IP addresses
        ("Your IP was 203.0.113.7 when you logged in", "203.0.113.7", "[IP address]"),
        ("and 2001:db8::8a2e:370:7334 from your phone", "2001:db8::8a2e:370:7334", "[IP address]"),
    ],
)
def test_each_class_of_personal_data_is_scrubbed_and_no_detector_fires_after(text, secret, placeholder):
    assert personal_data_hits(text), "the detector should see it in the raw text"
    scrubbed = scrub_personal_data(text)
    assert secret not in scrubbed
    assert placeholder in scrubbed
    assert personal_data_hits(scrubbed) == []


@pytest.mark.parametrize(
    "text",
    [
        "Reset your password from the login page: click Forgot password and follow the email.",
        "Returns are free within 30 days. See /help/returns or https://shop.example.com/help/returns.",
        "We are open 10:30 to 17:00; the sale ends on 12/03/2026.",
        "Standard delivery takes 2-4 working days and costs £4.95; free over £50.",
        "Our warehouse moved in 2019 and ships from Bristol.",
        "Version 2.4.1 of the app fixes syncing.",
    ],
)
def test_help_centre_text_is_left_alone(text):
    assert scrub_personal_data(text) == text
    assert personal_data_hits(text) == []


@pytest.fixture
def kb(demo_kb, support_team):
    return demo_kb


FIRST_VISITOR_REPLY = (
    "Hi Ada, I've changed the delivery address on your account to 221B Baker Street, London NW1 6XE. "
    "Your login is ada_l and your temporary password is Xk9!fQ2; you can also reset it at "
    "https://shop.example.com/reset?token=abc123def456 within a day. Your date of birth 12/03/1985 is verified "
    "and refunds go to sort code 12-34-56. Engraved bottles ship in 5 days. Best, Dana"
)
SECRETS = ["221B", "Baker Street", "NW1 6XE", "ada_l", "Xk9!fQ2", "abc123def456", "12/03/1985", "12-34-56"]


@pytest.mark.django_db
def test_an_agents_reply_full_of_one_visitors_data_never_reaches_an_article(kb, agent, manager):
    conversation = ConversationFactory(customer__name="Ada Lovelace")
    visitor_asks(conversation, "Hi, can you engrave my water bottle and update my account?")
    agent_answers_and_resolves(conversation, agent, FIRST_VISITOR_REPLY)

    suggestions_generate_for_conversation(conversation_id=conversation.pk)

    for suggestion in TrainingSuggestion.objects.all():
        text = " ".join((suggestion.title, suggestion.question, suggestion.body))
        assert not [secret for secret in SECRETS if secret in text], text
        if suggestion.kind == Kind.NEW_ARTICLE:
            approved = suggestion_approve(suggestion=suggestion, reviewer=manager)
            article = Article.objects.get(pk=approved.applied_change["article_id"])
            assert not [secret for secret in SECRETS if secret in article.body]
    assert all(secret not in scrub_answer(FIRST_VISITOR_REPLY) for secret in SECRETS)


@pytest.mark.django_db
def test_a_proposal_in_which_a_detector_still_fires_is_not_proposed(kb, agent):
    # The chat model's title is not the agent's text, and here it repeats the visitor's address.
    model = RecordingChatModel(
        "Title: Engraving for 221B Baker Street\nWe engrave bottles free of charge, 20 characters."
    )
    conversation = ConversationFactory(customer__name="Ada Lovelace")
    visitor_asks(conversation, "Hi, can you engrave my water bottle?")
    agent_answers_and_resolves(
        conversation, agent, "Yes, we engrave Northwind water bottles free of charge, up to 20 characters."
    )

    report = suggestions_generate_for_conversation(conversation_id=conversation.pk, chat_model=model)

    assert report.withheld == 1
    assert not TrainingSuggestion.objects.filter(kind=Kind.NEW_ARTICLE).exists()


@pytest.mark.django_db
def test_approval_refuses_a_suggestion_edited_to_hold_personal_data(manager):
    suggestion = make_suggestion(title="Engraving", body="We engrave bottles.")
    suggestion_edit(suggestion=suggestion, editor=manager, body="We engrave bottles. Ada lives at 12 Elm Grove.")

    with pytest.raises(SuggestionError, match="personal data"):
        suggestion_approve(suggestion=suggestion, reviewer=manager)
    suggestion.refresh_from_db()
    assert suggestion.status == Status.PENDING


@pytest.fixture
def reviewer_client(client, manager):
    client.force_login(manager)
    return client


@pytest.mark.django_db
def test_the_review_form_shows_what_personal_data_is_left(reviewer_client):
    suggestion = make_suggestion(title="Engraving", body="We engrave bottles. Call from 203.0.113.7 was logged.")

    response = reviewer_client.get(reverse("admin:knowledge_trainingsuggestion_change", args=[suggestion.pk]))

    html = response.content.decode()
    assert 'id="personal-data"' in html
    assert "IP address: 203.0.113.7" in html


@pytest.mark.django_db
def test_bulk_approve_never_approves_a_new_article(reviewer_client):
    article = make_suggestion(title="Engraving")
    target = ArticleFactory(title="Shipping")
    question = make_suggestion(title="Shipping question", kind=Kind.EXAMPLE_QUESTION, target=target)

    response = reviewer_client.post(
        reverse(CHANGELIST), {"action": "approve_selected", "_selected_action": [article.pk, question.pk]}
    )

    article.refresh_from_db()
    question.refresh_from_db()
    assert (article.status, question.status) == (Status.PENDING, Status.APPROVED)
    assert any("Skipped 1 new article" in message for message in flash(response))
