"""Scoring the scorer and the rules against labelled files (used by the evaluate commands and bench/).

    evaluate_sentiment(rows)        rows of (text, label), label negative/neutral/positive
    evaluate_handoff_engine(rows)   rows of {"text", "handoff": bool, "intent"}: the shipped default
                                    rules run through the engine alone (no database), as the
                                    pipeline would run them on a first visitor message

`read_sentiment_csv` and `read_handoff_csv` read the files; `classification_report` and
`handoff_report` compute the numbers, so the live pipeline's evaluation can reuse them.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from nlp.embeddings import embed
from triggers.defaults import default_rule_specs
from triggers.engine import MessageContext, compile_rules, evaluate
from triggers.sentiment import score_texts

SENTIMENT_LABELS = ("negative", "neutral", "positive")
_LABEL_ALIASES = {
    "negative": "negative",
    "neg": "negative",
    "0": "negative",
    "neutral": "neutral",
    "neu": "neutral",
    "1": "neutral",
    "positive": "positive",
    "pos": "positive",
    "2": "positive",
}
# Bitext intents that should reach a person; every other intent should be answered by the bot.
HANDOFF_INTENTS = frozenset({"contact_human_agent", "complaint"})


class EvaluationFileError(ValueError):
    """A file that cannot be evaluated; the message names the line and what is wrong."""


def _ratio(a: float, b: float) -> float:
    return round(a / b, 4) if b else 0.0


def _f1(precision: float, recall: float) -> float:
    return round(2 * precision * recall / (precision + recall), 4) if precision + recall else 0.0


def classification_report(true: Sequence[str], predicted: Sequence[str]) -> dict:
    """{"n", "negative_precision", "negative_recall", "negative_f1", "macro_f1", "accuracy"}."""
    if len(true) != len(predicted):
        raise ValueError("true and predicted labels differ in length")
    f1s = {}
    report: dict = {"n": len(true)}
    for label in SENTIMENT_LABELS:
        tp = sum(1 for t, p in zip(true, predicted, strict=True) if t == label and p == label)
        predicted_n = sum(1 for p in predicted if p == label)
        actual_n = sum(1 for t in true if t == label)
        precision, recall = _ratio(tp, predicted_n), _ratio(tp, actual_n)
        f1s[label] = _f1(precision, recall)
        if label == "negative":
            report.update(negative_precision=precision, negative_recall=recall, negative_f1=f1s[label])
    report["macro_f1"] = round(sum(f1s.values()) / len(f1s), 4)
    report["accuracy"] = _ratio(sum(1 for t, p in zip(true, predicted, strict=True) if t == p), len(true))
    return report


def read_sentiment_csv(path: str | Path) -> list[tuple[str, str]]:
    """text,label rows (a header row is optional); labels negative/neutral/positive (or 0/1/2)."""
    rows = []
    with open(path, encoding="utf-8-sig", newline="") as file:
        for number, row in enumerate(csv.reader(file), start=1):
            if not row or not any(cell.strip() for cell in row):
                continue
            if number == 1 and [cell.strip().lower() for cell in row[:2]] == ["text", "label"]:
                continue
            if len(row) < 2:
                raise EvaluationFileError(f"{path}, line {number}: expected text,label but found one column")
            label = _LABEL_ALIASES.get(row[-1].strip().lower())
            if label is None:
                raise EvaluationFileError(
                    f"{path}, line {number}: label {row[-1]!r} is not negative, neutral or positive"
                )
            # A text with unquoted commas arrives split; the label is always the last column.
            rows.append((",".join(row[:-1]), label))
    if not rows:
        raise EvaluationFileError(f"{path}: no rows")
    return rows


def evaluate_sentiment(rows: Iterable[tuple[str, str]], *, batch_size: int = 256) -> dict:
    """The product's scorer (triggers.sentiment) on labelled rows; see classification_report."""
    rows = list(rows)
    predicted: list[str] = []
    for start in range(0, len(rows), batch_size):
        batch = [text for text, _ in rows[start : start + batch_size]]
        predicted.extend(result.label for result in score_texts(batch))
    return classification_report([label for _, label in rows], predicted)


# --- Handoff -------------------------------------------------------------------------------------------


def read_handoff_csv(path: str | Path) -> list[dict]:
    """Bitext-style rows: an utterance (or text) column and an intent column, or a handoff column
    (true/false). Returns [{"text", "intent", "handoff"}]."""
    with open(path, encoding="utf-8-sig", newline="") as file:
        reader = csv.DictReader(file)
        fields = set(reader.fieldnames or ())
        text_field = "utterance" if "utterance" in fields else "text" if "text" in fields else None
        label_field = next((name for name in ("should_handoff", "handoff") if name in fields), None)
        if text_field is None or not (label_field or "intent" in fields):
            raise EvaluationFileError(
                f"{path}: needs a 'text' (or 'utterance') column and a 'should_handoff' (1/0) or 'intent' column"
            )
        rows = []
        for row in reader:
            intent = (row.get("intent") or "").strip()
            if label_field and (row.get(label_field) or "").strip():
                expected = row[label_field].strip().lower() in {"1", "true", "yes"}
            else:
                expected = intent in HANDOFF_INTENTS
            rows.append({"text": row[text_field], "intent": intent, "handoff": expected})
    return rows


def handoff_report(rows: Sequence[dict], decided: Sequence[bool]) -> dict:
    """Precision and recall of "hand off" decisions, plus how often each intent was handed off."""
    expected = [row["handoff"] for row in rows]
    tp = sum(1 for e, d in zip(expected, decided, strict=True) if e and d)
    precision, recall = _ratio(tp, sum(decided)), _ratio(tp, sum(expected))
    by_intent: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    for row, d in zip(rows, decided, strict=True):
        totals[row.get("intent", "")] += 1
        by_intent[row.get("intent", "")] += int(d)
    return {
        "n": len(rows),
        "should_handoff": sum(expected),
        "handed_off": sum(decided),
        "precision": precision,
        "recall": recall,
        "f1": _f1(precision, recall),
        "handoff_rate_by_intent": {
            intent: _ratio(by_intent[intent], totals[intent]) for intent in sorted(totals) if by_intent[intent]
        },
    }


def evaluate_handoff_engine(rows: Sequence[dict], *, with_sentiment: bool = True, batch_size: int = 256) -> dict:
    """The shipped default rules, through the engine alone, on each text as a first visitor message.

    Each text is embedded once (the vector serves the intent conditions and the sentiment
    scorer); with_sentiment also scores it and runs the sentiment phase, as the worker would.
    Conversation-dependent rules (bot stuck, trends, business hours) cannot fire on a lone message.
    """
    ruleset = compile_rules(default_rule_specs(), embed=embed)
    decided: list[bool] = []
    fired_by_rule: Counter[str] = Counter()
    for start in range(0, len(rows), batch_size):
        batch = rows[start : start + batch_size]
        texts = [row["text"] for row in batch]
        vectors = embed(texts)
        scores = [r.score for r in score_texts(texts, vectors=vectors)] if with_sentiment else [None] * len(texts)
        for text, vector, score in zip(texts, vectors, scores, strict=True):
            first = evaluate(ruleset, MessageContext(text, vector=vector), phase="message")
            winner = first.handoff
            if winner is None and score is not None:
                message = MessageContext(text, sentiment=score, vector=vector)
                fired = {match.rule_id for match in first.matches}
                winner = evaluate(ruleset, message, phase="sentiment", skip_rule_ids=fired).handoff
            decided.append(winner is not None)
            if winner is not None:
                fired_by_rule[winner.rule_name] += 1
    return {**handoff_report(rows, decided), "handoffs_by_rule": dict(fired_by_rule.most_common())}
