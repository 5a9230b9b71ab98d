"""A simulated week of support conversations, then the training suggestions the bot learns from it.

Conversations are built from ../shared/data and go through the real services (no mocks): the bot
answers with knowledge.answers over the demo help centre (widget.pipeline.bot_reply), visitors ask
for a person, agents answer and resolve (handoff and agents services, whose resolution queues
generation, run eagerly here), visitors vote thumbs up/down and rate. Then the nightly generation
runs (twice, to show it is idempotent) and the weekly review sample is drawn.

  - Bitext intents the demo help centre does not cover (invoices, accounts, newsletter, fees...):
    the visitor's utterance, a handoff, Bitext's response as the agent's answer (wrapped in a
    greeting with the visitor's name and a sign-off, which scrubbing must remove), CSAT mostly good;
  - Bitext intents it covers (delivery, tracking, refunds, passwords...): the bot answers; thumbs
    up on some, thumbs down on some, with a negative TweetEval tweet as the visitor's reaction;
    a few are handed off anyway and answered with Bitext's response;
  - CLINC150 loyalty-points questions (rewards_balance, redeem_rewards) and out-of-scope questions
    (oos_val): the bot declines, the visitor leaves. These are the content gaps.

Run (about two minutes; it replaces the conversations and suggestions in its own database):

    HANDOFF_DATA_DIR=$PWD/var/bench-hitl .venv/bin/python bench/simulate_week.py [--seed 7]

Prints one JSON object: conversations by scenario, suggestions by kind, the biggest of each kind,
the weekly sample by stratum.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sys
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))

UNCOVERED_INTENTS = [
    "check_invoice",
    "get_invoice",
    "create_account",
    "edit_account",
    "newsletter_subscription",
    "check_cancellation_fee",
    "registration_problems",
    "review",
]
# Bitext intent -> the demo article that answers it: visitors like the answer when it is that one.
COVERED_INTENTS = {
    "delivery_period": "shipping",
    "track_order": "order-tracking",
    "cancel_order": "change-or-cancel-order",
    "recover_password": "password-reset",
    "delete_account": "account-deletion",
    "check_payment_methods": "payment-methods",
    "get_refund": "returns",
    "change_shipping_address": "change-or-cancel-order",
    "check_refund_policy": "returns",
    "contact_customer_service": "contact-us",
}
GAP_INTENTS = ["rewards_balance", "redeem_rewards"]
VISITOR_NAMES = ["Ada Lovelace", "Grace Hopper", "Alan Turing", "Katherine Johnson", "Tim Berners-Lee", "Joan Clarke"]


def load_data(rng: random.Random) -> dict:
    with (DATA / "bitext" / "bitext_support_6k_with_responses.csv").open(newline="", encoding="utf-8-sig") as f:
        bitext = defaultdict(list)
        for row in csv.DictReader(f):
            bitext[row["intent"]].append((row["instruction"], row["response"]))
    clinc = json.loads((DATA / "clinc150" / "clinc150_train_val.json").read_text())
    gaps = defaultdict(list)
    for text, intent in clinc["val"]:
        if intent in GAP_INTENTS:
            gaps[intent].append(text)
    oos = [text for text, _intent in clinc["oos_val"]]
    texts = (DATA / "tweeteval" / "val_text.txt").read_text().splitlines()
    labels = (DATA / "tweeteval" / "val_labels.txt").read_text().split()
    negative = [t.strip() for t, label in zip(texts, labels, strict=False) if label == "0" and "@user" not in t]
    for pool in (*bitext.values(), *gaps.values(), oos, negative):
        rng.shuffle(pool)
    return {"bitext": bitext, "gaps": gaps, "oos": oos, "negative": negative}


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.pop("REDIS_URL", None)  # Celery tasks run eagerly in this process
    import django

    django.setup()


def prepare():
    """Fresh conversations and suggestions over the demo help centre; an open support team of three."""
    import datetime as dt

    from django.core.management import call_command

    from agents.models import Agent, BusinessHours, Team
    from chat.models import Customer
    from knowledge.demo import load_demo_knowledge_base
    from knowledge.learning.review import LEARNED_SOURCE_NAME
    from knowledge.models import Article, Source, TrainingSuggestion, WeeklyReviewItem

    call_command("migrate", verbosity=0)
    TrainingSuggestion.objects.all().delete()
    WeeklyReviewItem.objects.all().delete()
    Customer.objects.all().delete()  # conversations, messages, handoffs and ratings cascade
    Article.objects.filter(source__name=LEARNED_SOURCE_NAME).delete()
    Source.objects.filter(name=LEARNED_SOURCE_NAME).delete()
    load_demo_knowledge_base()
    team, _ = Team.objects.get_or_create(slug="support", defaults={"name": "Customer Support"})
    BusinessHours.objects.filter(team=team).delete()
    for weekday in range(7):
        BusinessHours.objects.create(team=team, weekday=weekday, opens_at=dt.time(0), closes_at=dt.time(23, 59, 59))
    from django.contrib.auth import get_user_model

    agents = []
    for name in ("Dana", "Sam", "Lee"):
        user, _ = get_user_model().objects.get_or_create(username=f"sim-{name.lower()}", defaults={"first_name": name})
        agent, _ = Agent.objects.get_or_create(user=user, defaults={"display_name": name})
        agent.teams.add(team)
        agents.append(agent)
    # Offline: handoffs wait in the queue and this script assigns them, as agents accepting would.
    Agent.objects.update(status=Agent.Status.OFFLINE)
    return agents


class Week:
    """Builds conversations through the services, then moves each one to its day of the simulated week."""

    def __init__(self, *, rng: random.Random, agents, monday: datetime) -> None:
        self.rng, self.agents, self.monday = rng, agents, monday
        self.scenarios: Counter = Counter()
        self.bot_answers: Counter = Counter()

    def conversation(self, name: str = ""):
        from chat.models import Customer
        from chat.services import conversation_start

        return conversation_start(customer=Customer.objects.create(name=name))

    def ask(self, conversation, text: str):
        from chat.models import Message
        from chat.services import message_create
        from widget.pipeline import bot_reply

        question, _ = message_create(conversation=conversation, sender=Message.Sender.VISITOR, text=text)
        reply = bot_reply(conversation=conversation, question=question)
        self.bot_answers["declined" if reply.metadata.get("declined") else "answered"] += 1
        return reply

    def hand_off(self, conversation, answer: str, *, visitor_name: str, csat: int | None, reopen: bool) -> None:
        from handoff.services import (
            conversation_reopen,
            handoff_assign,
            handoff_request,
            handoff_resolve,
            rating_submit,
        )
        from inbox.services import agent_reply

        agent = self.rng.choice(self.agents)
        handoff = handoff_request(conversation=conversation, reason="Visitor asked for a person")
        handoff_assign(handoff=handoff, agent=agent)
        conversation.refresh_from_db()
        first_name = visitor_name.split()[0] if visitor_name else "there"
        greeting = self.rng.choice([f"Hi {first_name}, thanks for waiting!", f"Hello {first_name}!", "Hi there,"])
        sign_off = self.rng.choice([f"Best, {agent.public_name}", "Have a great day!", "Is there anything else?"])
        agent_reply(agent_user=agent.user, conversation=conversation, text=f"{greeting} {answer} {sign_off}")
        handoff_resolve(conversation=conversation, actor=agent.user)  # queues generation (eager here)
        if csat is not None:
            rating_submit(conversation=conversation, score=csat)
        if reopen:
            conversation_reopen(conversation=conversation)

    def bot_only_end(self, conversation, *, csat: int | None) -> None:
        from handoff.services import handoff_resolve, rating_submit

        handoff_resolve(conversation=conversation, reason="The visitor closed the chat")
        if csat is not None:
            rating_submit(conversation=conversation, score=csat)

    def place(self, conversation, day: int) -> None:
        """Shift every timestamp of the conversation by the same amount, onto `day` of the week."""
        from django.db.models import F

        from chat.models import Conversation, Message
        from handoff.models import Handoff, HandoffEvent, SatisfactionRating

        target = self.monday + timedelta(days=day, hours=self.rng.uniform(8, 21))
        delta = target - Conversation.objects.values_list("created_at", flat=True).get(pk=conversation.pk)
        for model, fields in (
            (Message, ["created_at"]),
            (HandoffEvent, ["created_at"]),
            (SatisfactionRating, ["created_at"]),
            (Handoff, ["requested_at", "assigned_at", "first_agent_reply_at", "ended_at"]),
        ):
            model.objects.filter(conversation=conversation).update(**{f: F(f) + delta for f in fields})
        Conversation.objects.filter(pk=conversation.pk).update(
            **{f: F(f) + delta for f in ("created_at", "updated_at", "last_activity_at")}
        )


def simulate(data: dict, week: Week) -> None:
    from chat.services import message_create
    from widget.services import message_feedback_set

    rng = week.rng
    bitext = data["bitext"]

    # Uncovered topics: a person answers what the bot could not.
    for intent in UNCOVERED_INTENTS:
        for question, response in bitext[intent][: rng.randint(6, 12)]:
            name = rng.choice(VISITOR_NAMES)
            conversation = week.conversation(name)
            week.ask(conversation, question)
            roll = rng.random()
            csat = rng.choice([1, 2]) if roll < 0.12 else (rng.choice([4, 5]) if roll < 0.8 else None)
            week.hand_off(conversation, response, visitor_name=name, csat=csat, reopen=rng.random() < 0.05)
            week.place(conversation, rng.randrange(7))
            week.scenarios["uncovered, handed off"] += 1

    # Covered topics: the bot answers; visitors vote on it (up when it was the right article, down
    # when it was not), some still ask for a person.
    from knowledge.models import Article

    slugs = dict(Article.objects.filter(source__name__startswith="Northwind").values_list("pk", "external_key"))
    negative = iter(data["negative"])
    for intent, slug in COVERED_INTENTS.items():
        for question, response in bitext[intent][: rng.randint(12, 18)]:
            name = rng.choice(["", *VISITOR_NAMES])
            conversation = week.conversation(name)
            reply = week.ask(conversation, question)
            sources = reply.metadata.get("sources") or [{}]
            right = slugs.get(sources[0].get("article_id")) == slug
            roll = rng.random()
            if not reply.metadata.get("declined") and not right and roll < 0.5:
                message_feedback_set(conversation=conversation, seq=reply.seq, value="down")
                message_create(conversation=conversation, sender="visitor", text=next(negative))
                week.scenarios["covered, wrong article, thumbs down"] += 1
                week.bot_only_end(conversation, csat=rng.choice([1, 2, None]))
            elif roll < 0.15 or (not right and roll < 0.7):
                week.hand_off(conversation, response, visitor_name=name, csat=rng.choice([3, 4, 5]), reopen=False)
                week.scenarios["covered, handed off"] += 1
            elif right and roll < 0.6:
                message_feedback_set(conversation=conversation, seq=reply.seq, value="up")
                week.scenarios["covered, right article, thumbs up"] += 1
                if rng.random() < 0.5:
                    week.bot_only_end(conversation, csat=rng.choice([4, 5, 5, None]))
            else:
                week.scenarios["covered, no vote"] += 1
            week.place(conversation, rng.randrange(7))

    # Questions nobody answers: loyalty points (a real gap) and out-of-scope noise.
    for intent in GAP_INTENTS:
        for text in data["gaps"][intent][:12]:
            conversation = week.conversation()
            week.ask(conversation, text)
            week.place(conversation, rng.randrange(7))
            week.scenarios["unanswered (loyalty points)"] += 1
    for text in data["oos"][:40]:
        conversation = week.conversation()
        week.ask(conversation, text)
        week.place(conversation, rng.randrange(7))
        week.scenarios["unanswered (out of scope)"] += 1


def report(*, week: Week, started: float, after_resolve: Counter, nightly, again, sample) -> dict:
    from django.db.models import Count

    from knowledge.models import SuggestionEvidence, TrainingSuggestion

    by_kind = dict(
        TrainingSuggestion.objects.order_by().values_list("kind").annotate(n=Count("id")).values_list("kind", "n")
    )
    top = {}
    for kind in TrainingSuggestion.Kind.values:
        top[kind] = [
            {"title": s.title, "impact": s.impact, "confidence": s.confidence}
            for s in TrainingSuggestion.objects.filter(kind=kind).order_by("-impact", "-confidence")[:4]
        ]
    return {
        "conversations": sum(week.scenarios.values()),
        "scenarios": dict(week.scenarios),
        "bot_answers": dict(week.bot_answers),
        "suggestions_by_kind": {kind: by_kind.get(kind, 0) for kind in TrainingSuggestion.Kind.values},
        "created_after_each_resolution": {k: after_resolve.get(k, 0) for k in TrainingSuggestion.Kind.values},
        "created_by_the_nightly_run": nightly.as_dict()["created"],
        "evidence_rows": SuggestionEvidence.objects.count(),
        "second_nightly_run": again.as_dict(),
        "biggest": top,
        "weekly_sample": dict(Counter(item.stratum for item in sample)),
        "seconds": round(time.monotonic() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    setup_django()
    import logging

    logging.getLogger().setLevel(logging.WARNING)
    from django.db.models import Count
    from django.utils import timezone

    from knowledge.learning.nightly import suggestions_generate_nightly
    from knowledge.learning.weekly import week_start_of, weekly_review_sample
    from knowledge.models import TrainingSuggestion

    started = time.monotonic()
    rng = random.Random(args.seed)
    data = load_data(rng)
    agents = prepare()
    today = timezone.localdate()
    last_monday = week_start_of(today) - timedelta(days=7)
    monday = timezone.make_aware(datetime.combine(last_monday, datetime.min.time()))
    week = Week(rng=rng, agents=agents, monday=monday)

    simulate(data, week)
    after_resolve = Counter(
        dict(TrainingSuggestion.objects.order_by().values_list("kind").annotate(n=Count("id")).values_list("kind", "n"))
    )
    nightly = suggestions_generate_nightly(since=monday)
    again = suggestions_generate_nightly(since=monday)
    sample = weekly_review_sample(week_start=last_monday)
    print(json.dumps(report(week=week, started=started, after_resolve=after_resolve, nightly=nightly, again=again,
                            sample=sample), indent=2, ensure_ascii=False))  # fmt: skip


if __name__ == "__main__":
    main()
