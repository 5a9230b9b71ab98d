"""Cost of the trigger engine per visitor message with 200 mixed rules.

Run from the repo root:

    .venv/bin/python bench/bench_trigger_engine.py [--rules 200] [--messages 1200] [--rounds 3]

The rules mix every condition kind (keywords and regular expressions, asking for a person,
sentiment, frustration, intent categories and rules' own example phrases, customer attributes,
bot struggling, context, nested groups), generated with a fixed seed. Messages are real support
utterances (Bitext, if present) plus angry, shouted and typo'd ones, each with a varied
conversation and customer. Prints one JSON object:

- engine_us: the pure engine (triggers.engine.evaluate), message vector given, per message, as
  wall time and as this thread's CPU time (the latter is what the engine costs when the machine is
  busy with other work; both are reported because shared CI machines are)
- embedding_ms: computing that vector (nlp.embeddings), per message, measured separately
- compile_s: compiling the 200 rules, including embedding their example phrases (once per change)
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.data import DATA
from nlp.embeddings import embed
from triggers import phrases
from triggers.engine import (
    ConversationContext,
    CustomerContext,
    MessageContext,
    RuleSpec,
    compile_rules,
    evaluate,
)

BITEXT = DATA / "bitext" / "bitext_utterances_8k.csv"
EXTRA_MESSAGES = [
    "THIS IS RIDICULOUS!! WHERE IS MY ORDER",
    "tlak to a humen please",
    "agnet please",
    "I have asked three times now, you are useless",
    "my invoice shows a charge I don't recognise",
    "the app crashes every time I open settings",
    "I want to cancel my subscription today",
    "Thanks, that was really helpful!",
    "can I speak to someone about my account",
    "order #123456 still hasn't arrived, wtf",
]
WORDS = ["refund", "invoice", "delivery", "parcel", "password", "account"]
WORDS += ["cancel", "broken", "crash", "charge", "discount", "warranty"]


def random_condition(rng: random.Random, rule_id: int, depth: int = 0) -> dict:
    kind = rng.choice(
        ["keywords", "keywords", "regex", "explicit", "sentiment", "frustration", "intent", "examples"]
        + ["customer", "customer", "bot", "context"]
        + (["group"] if depth < 2 else [])
    )
    if kind == "keywords":
        return {
            "kind": "keywords",
            "terms": [*rng.sample(WORDS, 3), f"{rng.choice(WORDS)}*"],
            "fuzzy": rng.random() < 0.3,
        }
    if kind == "regex":
        return {"kind": "keywords", "patterns": [rf"{rng.choice(WORDS)}\s+(?:#?\d{{4,}}|number)"]}
    if kind == "explicit":
        return {"kind": "explicit_request"}
    if kind == "sentiment":
        scope = rng.choice(["message", "average", "drop", "conversation"])
        if scope == "drop":
            return {"kind": "sentiment", "scope": "drop", "drop": 0.8, "last": 3}
        return {"kind": "sentiment", "scope": scope, "below": round(rng.uniform(-0.8, -0.2), 2), "last": 3}
    if kind == "frustration":
        return {"kind": "frustration", "min_signals": rng.choice([1, 2])}
    if kind == "intent":
        category = rng.choice([c for c in phrases.CATEGORIES if c != "human_request"])
        return {"kind": "intent", "category": category}
    if kind == "examples":
        topic = rng.choice(WORDS)
        return {
            "kind": "intent",
            "examples": [f"I have a problem with my {topic} (rule {rule_id}, phrasing {n})" for n in range(5)],
        }
    if kind == "customer":
        return rng.choice(
            [
                {"kind": "customer", "attribute": "plan", "op": "in", "value": ["pro", "enterprise"]},
                {"kind": "customer", "attribute": "lifetime_value", "op": ">", "value": rng.randint(100, 10000)},
                {"kind": "customer", "attribute": "tier", "op": "=", "value": "gold"},
            ]
        )
    if kind == "bot":
        return rng.choice(
            [
                {"kind": "bot", "signal": "low_confidence", "below": 0.5},
                {"kind": "bot", "signal": "consecutive_low_confidence", "count": 2, "below": 0.4},
                {"kind": "bot", "signal": "rephrasing"},
                {"kind": "bot", "signal": "repeating"},
                {"kind": "bot", "signal": "negative_feedback", "count": 1},
            ]
        )
    if kind == "context":
        return rng.choice(
            [
                {"kind": "context", "field": "business_hours", "value": "closed"},
                {"kind": "context", "field": "channel", "value": "email"},
                {"kind": "context", "field": "visitor_messages", "op": ">=", "value": rng.randint(2, 8)},
                {"kind": "context", "field": "waiting_seconds", "op": ">", "value": 120},
            ]
        )
    return {
        "kind": "group",
        "match": rng.choice(["all", "any"]),
        "conditions": [random_condition(rng, rule_id, depth + 1) for _ in range(rng.randint(2, 3))],
    }


def make_rules(count: int, rng: random.Random) -> list[RuleSpec]:
    return [
        RuleSpec(
            id=n,
            name=f"rule {n}",
            conditions=[random_condition(rng, n) for _ in range(rng.randint(1, 3))],
            match=rng.choice(["all", "any"]),
            order=n,
            handoff=rng.random() < 0.5,
        )
        for n in range(1, count + 1)
    ]


def make_messages(count: int, rng: random.Random) -> list[str]:
    texts = []
    if BITEXT.exists():
        with open(BITEXT, encoding="utf-8-sig", newline="") as file:
            texts = [row["utterance"] for row in csv.DictReader(file)]
    rng.shuffle(texts)
    texts = texts[: count - len(EXTRA_MESSAGES) * 10] + EXTRA_MESSAGES * 10
    while len(texts) < count:
        texts.append(" ".join(rng.sample(WORDS, 4)))
    rng.shuffle(texts)
    return texts


def make_context(rng: random.Random, texts: list[str], vectors) -> tuple[ConversationContext, CustomerContext]:
    history = rng.randint(0, 6)
    picks = rng.sample(range(len(texts)), history)
    conversation = ConversationContext(
        channel=rng.choice(["web", "web", "email"]),
        visitor_message_count=history + 1,
        message_count=2 * history + 1,
        previous_visitor_sentiments=tuple(round(rng.uniform(-1, 1), 2) for _ in range(history)),
        sentiment=round(rng.uniform(-1, 1), 2),
        bot_confidences=tuple(round(rng.random(), 2) for _ in range(history)),
        bot_texts=tuple("Here is what I found about that." for _ in range(history)),
        previous_visitor_texts=tuple(texts[i] for i in picks),
        previous_visitor_vectors=vectors[picks] if history else None,
        negative_feedback_count=rng.choice([0, 0, 1]),
        waiting_seconds=rng.uniform(0, 600),
        business_hours_open=rng.choice([True, False, None]),
    )
    customer = CustomerContext(
        {
            "plan": rng.choice(["free", "free", "pro", "enterprise"]),
            "lifetime_value": rng.randint(0, 20000),
            "tier": rng.choice(["gold", "silver", "bronze", ""]),
        }
    )
    return conversation, customer


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rules", type=int, default=200)
    parser.add_argument("--messages", type=int, default=1200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(7)

    specs = make_rules(args.rules, rng)
    embed(["warm up"])  # model loading is not part of any number below
    started = time.perf_counter()
    ruleset = compile_rules(specs, embed=embed)
    compile_seconds = time.perf_counter() - started

    texts = make_messages(args.messages, rng)
    one_at_a_time = []
    for text in texts[:200]:
        started = time.perf_counter()
        embed([text])
        one_at_a_time.append((time.perf_counter() - started) * 1000)
    vectors = embed(texts)
    contexts = [make_context(rng, texts, vectors) for _ in texts]
    sentiments = [round(rng.uniform(-1, 1), 2) for _ in texts]

    timings: dict[str, list[float]] = {"message": [], "sentiment": [], "message_cpu": [], "sentiment_cpu": []}
    fired = handoffs = 0
    for _ in range(args.rounds):
        for text, vector, (conversation, customer), score in zip(texts, vectors, contexts, sentiments, strict=True):
            message = MessageContext(text, vector=vector)
            started, cpu = time.perf_counter(), time.thread_time()
            result = evaluate(ruleset, message, conversation, customer, phase="message")
            timings["message"].append((time.perf_counter() - started) * 1e6)
            timings["message_cpu"].append((time.thread_time() - cpu) * 1e6)
            scored = MessageContext(text, sentiment=score, vector=vector)
            skip = {m.rule_id for m in result.matches}
            started, cpu = time.perf_counter(), time.thread_time()
            evaluate(ruleset, scored, conversation, customer, phase="sentiment", skip_rule_ids=skip)
            timings["sentiment"].append((time.perf_counter() - started) * 1e6)
            timings["sentiment_cpu"].append((time.thread_time() - cpu) * 1e6)
            fired += len(result.matches)
            handoffs += result.handoff is not None

    evaluations = args.rounds * len(texts)
    print(
        json.dumps(
            {
                "rules": len(ruleset.rules),
                "example_phrases": 0 if ruleset.examples is None else int(ruleset.examples.shape[0]),
                "messages": len(texts),
                "rounds": args.rounds,
                "engine_us": {
                    phase: {
                        "mean": round(statistics.fmean(values), 1),
                        "p50": round(percentile(values, 0.5), 1),
                        "p95": round(percentile(values, 0.95), 1),
                        "max": round(max(values), 1),
                    }
                    for phase, values in timings.items()
                },
                "rules_fired_per_message": round(fired / evaluations, 2),
                "handoff_rate": round(handoffs / evaluations, 3),
                "embedding_ms_per_message": {
                    "mean": round(statistics.fmean(one_at_a_time), 2),
                    "p50": round(percentile(one_at_a_time, 0.5), 2),
                    "p95": round(percentile(one_at_a_time, 0.95), 2),
                },
                "compile_s": round(compile_seconds, 2),
                "python": platform.python_version(),
                "machine": platform.machine(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
