"""The reviewer's screens in admin: the suggestion queue, deciding one, bulk actions, the weekly review."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from chat.models import Message
from knowledge.learning.weekly import week_start_of
from knowledge.models import Article, SuggestionEvent, SuggestionEvidence, TrainingSuggestion, WeeklyReviewItem
from tests.factories import ConversationFactory, MessageFactory

Kind = TrainingSuggestion.Kind
Status = TrainingSuggestion.Status
CHANGELIST = "admin:knowledge_trainingsuggestion_changelist"


@pytest.fixture
def reviewer_client(client, manager):
    client.force_login(manager)
    return client


def make_suggestion(*, title: str, kind=Kind.NEW_ARTICLE, impact: int = 1, status=Status.PENDING, body="An answer.",
                    visitor_text="How do I engrave?", target=None) -> TrainingSuggestion:  # fmt: skip
    """A suggestion with `impact` evidence conversations, each a question and an agent's answer."""
    suggestion = TrainingSuggestion.objects.create(
        kind=kind,
        status=status,
        title=title,
        question=visitor_text,
        body=body,
        target_article=target,
        confidence=0.7,
        impact=impact,
        dedupe_key=f"key-{title}",
        details={"questions": [visitor_text], "body_from": "extracted"},
    )
    SuggestionEvent.objects.create(suggestion=suggestion, action="create", to_status=Status.PENDING)
    for _ in range(impact):
        conversation = ConversationFactory()
        question = MessageFactory(conversation=conversation, text=visitor_text)
        MessageFactory(conversation=conversation, sender="bot", text="I'm not sure.", metadata={"declined": True})
        answer = MessageFactory(conversation=conversation, sender="agent", text=body)
        for message, note in ((question, "visitor question"), (answer, "agent answer")):
            SuggestionEvidence.objects.create(
                suggestion=suggestion, conversation=conversation, message=message, note=note
            )
    return suggestion


def flash(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- The queue ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_queue_shows_pending_suggestions_most_impactful_first(reviewer_client, django_assert_max_num_queries):
    make_suggestion(title="Small", impact=1)
    make_suggestion(title="Big", impact=3)
    make_suggestion(title="Already rejected", impact=9, status=Status.REJECTED)

    # session, user, count with the filter, total count, the page of suggestions with their article.
    with django_assert_max_num_queries(8):
        response = reviewer_client.get(reverse(CHANGELIST))

    content = response.content.decode()
    assert response.status_code == 200
    assert content.index("Big") < content.index("Small")
    assert "Already rejected" not in content
    assert "3 conversations" in content

    everything = reviewer_client.get(reverse(CHANGELIST) + "?status=all").content.decode()
    assert "Already rejected" in everything


@pytest.mark.django_db
def test_a_suggestion_shows_its_proposal_beside_the_escaped_evidence_transcript(reviewer_client):
    suggestion = make_suggestion(title="Engraving", visitor_text="<script>alert('x')</script> can you engrave?")

    response = reviewer_client.get(reverse("admin:knowledge_trainingsuggestion_change", args=[suggestion.pk]))

    content = response.content.decode()
    assert response.status_code == 200
    assert 'name="title"' in content and 'name="body"' in content and 'name="questions"' in content
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; can you engrave?" in content
    assert "<script>alert('x')</script>" not in content
    assert 'aria-label="Evidence"' in content and "visitor question" in content and "agent answer" in content
    for button in ("_approve", "_save_approve", "_continue", "_reject"):
        assert f'name="{button}"' in content


# --- Deciding one ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_approve_creates_the_article_and_returns_to_the_queue(reviewer_client, manager):
    suggestion = make_suggestion(title="Engraving bottles", body="Engraving is free.")
    url = reverse("admin:knowledge_trainingsuggestion_change", args=[suggestion.pk])

    response = reviewer_client.post(url, {"_approve": "1", "title": "Edited but ignored", "body": "x"})

    assert response.status_code == 302 and response.url == reverse(CHANGELIST)
    suggestion.refresh_from_db()
    assert (suggestion.status, suggestion.reviewer) == (Status.APPROVED, manager)
    article = Article.objects.get(pk=suggestion.applied_change["article_id"])
    assert (article.title, article.body) == ("Engraving bottles", "Engraving is free.")
    assert list(article.example_questions.values_list("text", flat=True)) == ["How do I engrave?"]
    assert "Approved “Engraving bottles”" in flash(response)[0]


@pytest.mark.django_db
def test_save_edits_and_approve_applies_the_reviewers_text(reviewer_client):
    suggestion = make_suggestion(title="Engraving", body="Yes we do that")
    url = reverse("admin:knowledge_trainingsuggestion_change", args=[suggestion.pk])

    reviewer_client.post(
        url,
        {
            "_save_approve": "1",
            "title": "Engraving bottles and flasks",
            "questions": "Can you engrave my bottle?\r\nDo you engrave flasks?\r\n",
            "body": "Engraving is free on bottles and flasks, up to 20 characters.",
        },
    )

    suggestion.refresh_from_db()
    article = Article.objects.get(pk=suggestion.applied_change["article_id"])
    assert article.title == "Engraving bottles and flasks"
    assert article.body == "Engraving is free on bottles and flasks, up to 20 characters."
    assert sorted(article.example_questions.values_list("text", flat=True)) == [
        "Can you engrave my bottle?",
        "Do you engrave flasks?",
    ]
    assert suggestion.applied_change["edited"] == ["questions", "title", "body", "question"]


@pytest.mark.django_db
def test_reject_keeps_the_reason_and_who_decided(reviewer_client, manager):
    suggestion = make_suggestion(title="Engraving")
    url = reverse("admin:knowledge_trainingsuggestion_change", args=[suggestion.pk])

    reviewer_client.post(url, {"_reject": "1", "review_reason": "We don't engrave.", "title": "Engraving"})

    suggestion.refresh_from_db()
    assert (suggestion.status, suggestion.reviewer, suggestion.review_reason) == (
        Status.REJECTED,
        manager,
        "We don't engrave.",
    )
    page = reviewer_client.get(url).content.decode()
    assert "We don&#x27;t engrave." in page and 'name="_approve"' not in page


@pytest.mark.django_db
def test_revert_from_the_change_page_unpublishes_the_article(reviewer_client):
    suggestion = make_suggestion(title="Engraving")
    url = reverse("admin:knowledge_trainingsuggestion_change", args=[suggestion.pk])
    reviewer_client.post(url, {"_approve": "1"})
    assert 'name="_revert"' in reviewer_client.get(url).content.decode()

    response = reviewer_client.post(url, {"_revert": "1"})

    suggestion.refresh_from_db()
    assert suggestion.status == Status.REVERTED
    assert not Article.objects.get(pk=suggestion.applied_change["article_id"]).published
    assert "Reverted" in flash(response)[0]


@pytest.mark.django_db
def test_a_refused_approval_says_why_and_leaves_the_suggestion_pending(reviewer_client):
    gap = make_suggestion(title="Fishing licences", kind=Kind.CONTENT_GAP, body="")
    url = reverse("admin:knowledge_trainingsuggestion_change", args=[gap.pk])

    response = reviewer_client.post(url, {"_approve": "1"})

    assert response.status_code == 302 and response.url == url
    assert "Write the article's answer" in flash(response)[0]
    gap.refresh_from_db()
    assert gap.status == Status.PENDING


@pytest.mark.django_db
def test_save_draft_stores_the_edits_as_an_event(reviewer_client, manager):
    suggestion = make_suggestion(title="Engraving")
    url = reverse("admin:knowledge_trainingsuggestion_change", args=[suggestion.pk])

    reviewer_client.post(url, {"_continue": "1", "title": "Engraving (draft)", "body": "An answer.", "questions": ""})

    suggestion.refresh_from_db()
    assert (suggestion.title, suggestion.status) == ("Engraving (draft)", Status.PENDING)
    event = suggestion.events.get(action="edit")
    assert (event.actor, event.change) == (manager, {"edited": ["title"]})


# --- Bulk actions --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_bulk_approve_approves_every_pending_one_and_reports_the_refused(reviewer_client):
    # New articles are never approved in bulk (tests/knowledge/test_personal_data.py); a content gap may be.
    ok = make_suggestion(title="Engraving", kind=Kind.CONTENT_GAP, body="We engrave bottles free of charge.")
    gap = make_suggestion(title="Fishing", kind=Kind.CONTENT_GAP, body="")

    response = reviewer_client.post(
        reverse(CHANGELIST), {"action": "approve_selected", "_selected_action": [ok.pk, gap.pk]}
    )

    ok.refresh_from_db()
    gap.refresh_from_db()
    assert (ok.status, gap.status) == (Status.APPROVED, Status.PENDING)
    assert any("Fishing" in m and "Write the article's answer" in m for m in flash(response))


@pytest.mark.django_db
def test_bulk_reject_asks_for_a_reason_first(reviewer_client, manager):
    first, second = make_suggestion(title="One"), make_suggestion(title="Two")
    selected = {"action": "reject_selected", "_selected_action": [first.pk, second.pk]}

    confirm = reviewer_client.post(reverse(CHANGELIST), selected)

    assert confirm.status_code == 200 and b"Reject them" in confirm.content
    assert TrainingSuggestion.objects.filter(status=Status.PENDING).count() == 2

    reviewer_client.post(reverse(CHANGELIST), {**selected, "apply": "1", "reason": "Out of scope"})

    assert set(TrainingSuggestion.objects.values_list("status", "review_reason", "reviewer")) == {
        (Status.REJECTED, "Out of scope", manager.pk)
    }


# --- The weekly review ---------------------------------------------------------------------------


def bot_conversation(text: str = "How long does shipping take?"):
    conversation = ConversationFactory()
    MessageFactory(conversation=conversation, text=text)
    MessageFactory(conversation=conversation, sender=Message.Sender.BOT, text="2-4 days.", metadata={"reply_to": 1})
    return conversation


@pytest.mark.django_db
def test_the_weekly_review_is_generated_from_admin_and_shows_progress(reviewer_client, manager):
    conversations = [bot_conversation(f"Question number {n}") for n in range(3)]
    changelist = reverse("admin:knowledge_weeklyreviewitem_changelist")
    assert "0 of 0 reviewed" in reviewer_client.get(changelist).content.decode()

    response = reviewer_client.post(reverse("admin:knowledge_weeklyreviewitem_generate"))

    assert response.status_code == 302
    assert "has 3 conversation(s)" in flash(response)[0]
    page = reviewer_client.get(response.url).content.decode()
    assert "0 of 3 reviewed" in page and "Question number 1" in page

    items = list(WeeklyReviewItem.objects.order_by("id"))
    form = {"form-TOTAL_FORMS": "3", "form-INITIAL_FORMS": "3", "_save": "Save"}
    for index, item in enumerate(items):
        form[f"form-{index}-id"] = str(item.pk)
        form[f"form-{index}-verdict"] = "needs_work" if index == 0 else ""
        form[f"form-{index}-note"] = "Too curt" if index == 0 else ""
    reviewer_client.post(changelist + f"?week={week_start_of(timezone.localdate())}", form)

    marked = WeeklyReviewItem.objects.get(verdict="needs_work")
    assert (marked.note, marked.reviewer, marked.reviewed_at is not None) == ("Too curt", manager, True)
    assert "1 of 3 reviewed" in reviewer_client.get(changelist).content.decode()
    assert {item.conversation_id for item in items} == {c.pk for c in conversations}


@pytest.mark.django_db
def test_a_weekly_review_item_shows_the_conversation_to_judge(reviewer_client):
    conversation = bot_conversation("Where is my <b>parcel</b>?")
    item = WeeklyReviewItem.objects.create(
        week_start=week_start_of(timezone.localdate()), conversation=conversation, stratum="random"
    )

    content = reviewer_client.get(reverse("admin:knowledge_weeklyreviewitem_change", args=[item.pk])).content.decode()

    assert "Where is my &lt;b&gt;parcel&lt;/b&gt;?" in content and "2-4 days." in content
    assert 'name="verdict"' in content and 'name="note"' in content
