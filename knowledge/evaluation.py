"""`evaluate answers`: questions through exactly the decision the live bot makes, scored.

Rows are (text, expected_article): the article's title or external key as `kb_import` creates
them; empty means out of scope (the bot should decline and offer a person). A declined in-scope
question counts as wrong.
"""

import csv
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from knowledge.answers import answer_decide
from knowledge.models import Article
from knowledge.policy import answer_threshold
from knowledge.tradeoff import Scored, operating_point, separation, sweep, threshold_for_oos_recall


class EvaluationFileError(ValueError):
    pass


def read_answers_csv(path: Path, *, text_column: str = "text", expected_column: str = "expected_article"):
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = {text_column, expected_column} - set(reader.fieldnames or [])
        if missing:
            raise EvaluationFileError(f"{path} has no column(s) {sorted(missing)}; found {reader.fieldnames}")
        rows = [(row[text_column], (row[expected_column] or "").strip()) for row in reader]
    if not rows:
        raise EvaluationFileError(f"{path} has no rows")
    return rows


def percentile_ms(timings: list[float], fraction: float) -> float:
    ordered = sorted(timings)
    return round(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))], 1)


@dataclass
class AnswersEvaluation:
    result: dict
    in_scope: int
    out_of_scope: int
    declined: int
    wrong: list[tuple[str, str, str, float]] = field(default_factory=list)
    scored: list[Scored] = field(default_factory=list)  # every question, for the trade-off


def evaluate_answers(
    rows: list[tuple[str, str]],
    *,
    progress: Callable[[int, int], None] | None = None,
    target_oos_recall: float | None = None,
) -> AnswersEvaluation:
    """The bot's decisions on `rows` at the configured threshold, and the trade-off at other thresholds.

    Besides the summary keys, `result` holds "threshold", the two AUROCs of knowledge.tradeoff.separation,
    "sweep" (one operating point per threshold) and, with `target_oos_recall`, "target": the lowest
    threshold declining that share of the out-of-scope rows, and what it costs in scope.
    """
    names: dict[int, set[str]] = {}
    for pk, title, key in Article.objects.values_list("pk", "title", "external_key"):
        names[pk] = {title.strip().lower(), key.strip().lower()} - {""}

    answer_decide(question="warm-up")  # loads the embedding model and the classifier; not timed
    timings, wrong, scored = [], [], []
    in_scope = in_scope_right = oos = oos_declined = declined = 0
    for number, (text, expected) in enumerate(rows, start=1):
        started = time.perf_counter()
        decision = answer_decide(question=text)
        timings.append((time.perf_counter() - started) * 1000)
        declined += decision.declined
        if expected:
            in_scope += 1
            picked_right = expected.lower() in names.get(decision.article_id, set())
            right = not decision.declined and picked_right
            in_scope_right += right
            scored.append(Scored(confidence=decision.confidence, in_scope=True, right=picked_right))
        else:
            scored.append(Scored(confidence=decision.confidence, in_scope=False))
            oos += 1
            oos_declined += decision.declined
            right = decision.declined
        if not right:
            predicted = "" if decision.declined else sorted(names.get(decision.article_id, {"?"}))[0]
            wrong.append((text, expected, predicted, round(decision.confidence, 4)))
        if progress and number % 500 == 0:
            progress(number, len(rows))

    result = {
        "n": len(rows),
        "in_scope_accuracy": round(in_scope_right / in_scope, 4) if in_scope else 0.0,
        "oos_recall": round(oos_declined / oos, 4) if oos else 0.0,
        "oos_precision": round(oos_declined / declined, 4) if declined else 0.0,
        "p50_ms": round(statistics.median(timings), 1),
        "p95_ms": percentile_ms(timings, 0.95),
        "threshold": answer_threshold(),
        **separation(scored),
        "sweep": [point.as_dict() for point in sweep(scored)],
    }
    if target_oos_recall is not None:
        threshold = threshold_for_oos_recall(scored, target_oos_recall)
        result["target"] = {
            "target_oos_recall": target_oos_recall,
            **(operating_point(scored, threshold).as_dict() if threshold is not None else {"threshold": None}),
        }
    return AnswersEvaluation(
        result=result, in_scope=in_scope, out_of_scope=oos, declined=declined, wrong=wrong, scored=scored
    )
