"""`manage.py seed_reports`: months of made-up traffic for the report page and its benchmark.

    .venv/bin/python manage.py seed_reports --conversations 100000 --messages-per-conversation 10

Writes customers, conversations, messages, handoffs, their events, ratings and trigger firings with
PostgreSQL's COPY (one stream per table), with ids above the current maximum, then moves each
table's id sequence past them and rebuilds the outcome inputs (reports/facts.py: COPY goes past the
services that keep them). Each conversation is drawn from one outcome (bot only, bot then a person,
a person only, reopened, abandoned after a decline / while queued / after the email ask, left), so
every section of the report has numbers. The seeded trigger rules are disabled: they
exist for the report's per-trigger table and never fire on live traffic. Not for production data.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
import uuid
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, models, transaction
from django.utils import timezone

from agents.models import Agent, Team
from chat.models import Conversation, Customer, Message
from handoff.models import Handoff, HandoffEvent, SatisfactionRating
from reports.facts import outcome_facts_rebuild
from triggers.models import TriggerFiring, TriggerRule

Status, Action = Conversation.Status, HandoffEvent.Action
OUTCOMES = [  # outcome, weight
    ("bot_only", 46), ("bot_then_human", 24), ("human_only", 5), ("reopened", 3), ("declined", 8),
    ("queued", 4), ("email", 3), ("left", 7),
]  # fmt: skip
# Busier in the day: the weight of each hour when a conversation starts.
HOUR_WEIGHTS = [1, 1, 1, 1, 1, 2, 3, 5, 8, 10, 10, 9, 8, 9, 10, 9, 8, 6, 5, 4, 3, 2, 2, 1]
RULES = ["Bench: angry visitor", "Bench: VIP customer", "Bench: bot stuck", "Bench: refund request"]
QUESTIONS = ["where is my parcel", "how do I return an item", "can I change my address", "do you take paypal"]


@dataclass
class Rows:
    """Every table's rows as dicts of attnames, ready to COPY."""

    by_model: dict[type[models.Model], list[dict]] = field(default_factory=dict)

    def add(self, model, **row) -> None:
        self.by_model.setdefault(model, []).append(row)


class Command(BaseCommand):
    help = "Seed conversations, messages, handoffs and ratings for the reports (COPY, fast)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--conversations", type=int, default=100_000)
        parser.add_argument("--messages-per-conversation", type=int, default=10, help="On average (4 at least).")
        parser.add_argument("--days", type=int, default=180, help="Spread over this many days before now.")
        parser.add_argument("--seed", type=int, default=14)

    def handle(self, *args, conversations: int, messages_per_conversation: int, days: int, seed: int, **options):
        if conversations < 1 or days < 1 or messages_per_conversation < 4:
            raise CommandError("Give at least 1 conversation, 1 day and 4 messages per conversation.")
        started = time.monotonic()
        teams, agents, rules = self._people_and_rules()
        seeder = Seeder(
            random.Random(seed),
            teams=teams,
            agents=agents,
            rules=rules,
            days=days,
            messages=messages_per_conversation,
            next_ids={model: _max_id(model) + 1 for model in COPIED},
        )
        with transaction.atomic():
            # Oldest first, as real ids grow with time (the reports' queries rely on it).
            for start in sorted(seeder.start() for _ in range(conversations)):
                seeder.conversation(start)
                if len(seeder.rows.by_model.get(Message, ())) >= 200_000:
                    seeder.flush()  # bounded memory: write what we have in dependency order
            seeder.flush()
            for model in COPIED:
                _sequence_past_max(model)
            outcome_facts_rebuild()  # COPY went past the services that keep the outcome inputs
        counts = ", ".join(f"{n:,} {model._meta.verbose_name_plural}" for model, n in seeder.written.items())
        self.stdout.write(f"Seeded {counts} in {time.monotonic() - started:.1f} s.")

    def _people_and_rules(self):
        teams = [
            Team.objects.get_or_create(slug=slug, defaults={"name": name})[0]
            for slug, name in (("support", "Customer Support"), ("billing", "Billing"))
        ]
        agents = {team.pk: [] for team in teams}  # each team's agents
        for i in range(8):
            user, _ = get_user_model().objects.get_or_create(username=f"bench-agent-{i}")
            agent, _ = Agent.objects.get_or_create(user=user, defaults={"display_name": f"Bench agent {i}"})
            agent.teams.add(teams[i % 2])
            agents[teams[i % 2].pk].append(agent)
        rules = [
            TriggerRule.objects.get_or_create(
                name=name, defaults={"enabled": False, "conditions": [{"kind": "explicit_request"}]}
            )[0]
            for name in RULES
        ]
        return teams, agents, rules


# Parents before children, the order COPY needs them in.
COPIED = [Customer, Conversation, Message, Handoff, HandoffEvent, SatisfactionRating, TriggerFiring]


class Seeder:
    def __init__(self, rng, *, teams, agents, rules, days, messages, next_ids) -> None:
        self.rng, self.teams, self.agents, self.rules = rng, teams, agents, rules
        self.days, self.messages = days, messages
        self.next_ids = next_ids
        self.now = timezone.now()
        self.rows = Rows()
        self.written: dict = dict.fromkeys(COPIED, 0)
        self.outcomes = [o for o, _ in OUTCOMES]
        self.weights = [w for _, w in OUTCOMES]

    def _id(self, model) -> int:
        value = self.next_ids[model]
        self.next_ids[model] += 1
        return value

    def start(self) -> dt.datetime:
        day = self.rng.randrange(self.days)
        hour = self.rng.choices(range(24), HOUR_WEIGHTS)[0]
        start = self.now - dt.timedelta(days=day + 1) + dt.timedelta(hours=hour, minutes=self.rng.random() * 60)
        return min(start, self.now - dt.timedelta(hours=2))

    def conversation(self, start: dt.datetime) -> None:
        rng = self.rng
        outcome = rng.choices(self.outcomes, self.weights)[0]
        customer_id, conversation_id = self._id(Customer), self._id(Conversation)
        self.rows.add(Customer, id=customer_id, public_id=uuid.uuid4(), first_seen_at=start, last_seen_at=start)
        clock = [start]

        def later(minutes: float) -> dt.datetime:
            clock[0] += dt.timedelta(minutes=minutes)
            return clock[0]

        seq = 0
        n_messages = max(4, round(rng.gauss(self.messages, 2)))
        bot_part = n_messages if outcome in ("bot_only", "declined", "left", "reopened") else n_messages // 2
        if outcome == "human_only":
            bot_part = 0
        for i in range(bot_part):
            seq += 1
            if i % 2 == 0:
                self._message(conversation_id, seq, "visitor", rng.choice(QUESTIONS), later(rng.random() * 2))
            else:
                last = i >= bot_part - 2
                declined = outcome == "declined" and last
                metadata = {"confidence": 0.2 if declined else round(0.6 + rng.random() * 0.4, 2)}
                metadata["declined"] = declined
                if outcome == "bot_only" and rng.random() < 0.05:
                    metadata["feedback"] = "up"
                self._message(conversation_id, seq, "bot", "Here is what I found.", later(0.1), metadata)

        status, team_id, end = Status.BOT, None, clock[0]
        if outcome in ("bot_then_human", "human_only", "queued", "email"):
            seq, status, team_id, end = self._handoff(conversation_id, seq, outcome, later, bot_before=bot_part > 0)
        elif outcome in ("bot_only", "reopened", "declined"):
            end = later(rng.random() * 30)
            self._event(conversation_id, None, Action.RESOLVE, end, to_status=Status.RESOLVED)
            status = Status.RESOLVED
            if outcome != "declined" and rng.random() < 0.25:
                self._rating(conversation_id, None, None, rng.choices([5, 4, 3, 2, 1], [45, 30, 12, 8, 5])[0], end)
            if outcome == "reopened":
                end = later(rng.random() * 60 * 24 * 3)
                self._event(conversation_id, None, Action.REOPEN, end, to_status=Status.BOT)
                seq += 1
                self._message(conversation_id, seq, "visitor", "it still has not arrived", end)
                status = Status.BOT
        while seq < n_messages:  # the rest of the conversation, with whoever had it
            seq += 1
            sender = "visitor" if seq % 2 else ("agent" if team_id else "bot")
            self._message(conversation_id, seq, sender, "Thanks, one more thing.", min(end, self.now))
        self.rows.add(
            Conversation,
            id=conversation_id,
            public_id=uuid.uuid4(),
            customer_id=customer_id,
            status=status,
            last_seq=seq,
            team_id=team_id,
            created_at=start,
            updated_at=end,
            last_activity_at=min(end, self.now),
        )

    def _handoff(self, conversation_id, seq, outcome, later, *, bot_before):
        rng = self.rng
        team = rng.choice(self.teams)
        rule = rng.choice(self.rules) if rng.random() < 0.6 else None
        requested = later(0.2)
        handoff_id = self._id(Handoff)
        estimate = rng.choice([120, 240, 360, 600, 900])
        real_wait = estimate * rng.lognormvariate(0, 0.45) / 60  # minutes
        row = {
            "id": handoff_id,
            "conversation_id": conversation_id,
            "source": Handoff.Source.TRIGGER if rule else Handoff.Source.VISITOR,
            "reason": rule.name if rule else "Visitor asked",
            "trigger": {"rule_id": rule.pk, "rule_name": rule.name} if rule else {},
            "team_id": team.pk,
            "requested_at": requested,
            "bot_answered_before": bot_before,
            "summary": "",
            "context": {},
        }
        if outcome == "email":
            row.update(status=Handoff.Status.HANDED_BACK, email_asked=True, ended_at=later(30))
        else:
            row.update(wait_estimate_seconds=estimate, wait_low_seconds=estimate // 2, wait_high_seconds=estimate * 2)
        self._event(conversation_id, handoff_id, Action.REQUEST, requested, to_status=Status.QUEUED, team_id=team.pk)
        if rule is not None:
            self.rows.add(
                TriggerFiring,
                id=self._id(TriggerFiring),
                rule_id=rule.pk,
                rule_name=rule.name,
                conversation_id=conversation_id,
                phase="message",
                matched={},
                actions={"handoff": True},
                decided_handoff=True,
                created_at=requested,
            )
        if outcome in ("queued", "email"):
            row.setdefault("status", Handoff.Status.QUEUED)
            self.rows.add(Handoff, **row)
            status = Status.QUEUED if outcome == "queued" else Status.BOT
            return seq, status, team.pk, row.get("ended_at", requested)
        agent = rng.choice(self.agents[team.pk])
        assigned = later(real_wait)
        seq += 1
        replied = later(rng.random() * 3 + 0.3)
        self._message(conversation_id, seq, "agent", "Hi, I can help with that.", replied)
        ended = later(rng.lognormvariate(2.6, 0.6))  # about 14 minutes of the person's time
        verdict = rng.choices(["", "needed", "bot_could_answer", "too_late"], [55, 33, 8, 4])[0]
        row.update(
            status=Handoff.Status.RESOLVED,
            agent_id=agent.pk,
            assigned_at=assigned,
            first_assigned_at=assigned,
            first_agent_reply_at=replied,
            ended_at=ended,
            verdict=verdict,
            verdict_at=ended if verdict else None,
        )
        self.rows.add(Handoff, **row)
        self._event(conversation_id, handoff_id, Action.ASSIGN, assigned, to_status=Status.ASSIGNED, agent_id=agent.pk)
        self._event(conversation_id, handoff_id, Action.RESOLVE, ended, to_status=Status.RESOLVED, agent_id=agent.pk)
        if rng.random() < 0.35:
            self._rating(
                conversation_id, handoff_id, agent.pk, rng.choices([5, 4, 3, 2, 1], [40, 30, 15, 9, 6])[0], ended
            )
        return seq, Status.RESOLVED, team.pk, ended

    def _message(self, conversation_id, seq, sender, text, at, metadata=None) -> None:
        self.rows.add(
            Message,
            id=self._id(Message),
            conversation_id=conversation_id,
            seq=seq,
            sender=sender,
            text=text,
            created_at=min(at, self.now),
            handled_at=min(at, self.now),  # answered long ago: the answer sweep must not pick these up
            metadata=metadata or {},
        )

    def _event(self, conversation_id, handoff_id, action, at, *, to_status, **extra) -> None:
        self.rows.add(
            HandoffEvent,
            id=self._id(HandoffEvent),
            conversation_id=conversation_id,
            handoff_id=handoff_id,
            action=action,
            from_status=Status.BOT,
            to_status=to_status,
            created_at=min(at, self.now),
            **extra,
        )

    def _rating(self, conversation_id, handoff_id, agent_id, score, at) -> None:
        self.rows.add(
            SatisfactionRating,
            id=self._id(SatisfactionRating),
            conversation_id=conversation_id,
            handoff_id=handoff_id,
            subject="human" if handoff_id else "bot",
            agent_id=agent_id,
            score=score,
            created_at=min(at, self.now),
        )

    def flush(self) -> None:
        for model in COPIED:
            rows = self.rows.by_model.pop(model, [])
            if rows:
                _copy(model, rows)
                self.written[model] += len(rows)


def _columns(model) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields if not getattr(f, "generated", False)]


def _copy(model, rows: list[dict]) -> None:
    """COPY the rows; a column a row leaves out gets the field's default (Django's, not the database's)."""
    fields = _columns(model)
    defaults = {f.attname: f.get_default() for f in fields}
    names = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    with connection.cursor() as cursor:
        copy_sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({names}) FROM STDIN"
        with cursor.cursor.copy(copy_sql) as copy:
            for row in rows:
                copy.write_row([_plain(row.get(f.attname, defaults[f.attname])) for f in fields])


def _plain(value):
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


def _max_id(model) -> int:
    return model.objects.aggregate(m=models.Max("id"))["m"] or 0


def _sequence_past_max(model) -> None:
    table = model._meta.db_table
    quoted = connection.ops.quote_name(table)
    with connection.cursor() as cursor:
        # A model's own table name, quoted: not input.
        maximum = f"SELECT MAX(id) FROM {quoted}"  # noqa: S608
        cursor.execute(f"SELECT setval(pg_get_serial_sequence(%s, 'id'), GREATEST(({maximum}), 1))", [table])
