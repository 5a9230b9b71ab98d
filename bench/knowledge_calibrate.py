"""Fit the confidence calibration and threshold of knowledge/scoring.py on CLINC150, without touching val.

    .venv/bin/python bench/knowledge_calibrate.py [--data $HANDOFF_BENCH_DATA/clinc150] [--folds 5]

Uses only the train split (5-fold cross-validation: a probe trained on 4/5 of the example
questions scores the held-out 1/5) and oos_train (scored by a probe trained on all of train):
  * classifier mode: logistic fit of "the top article is right" on [logit(p_top), best cosine to
    that article's example questions] -> HANDOFF_PROBE_CALIBRATION;
  * retrieval mode (no probe): logistic fit on [best cosine (leave-one-out), margin over the next
    article] -> HANDOFF_RETRIEVAL_CALIBRATION;
  * the threshold: the highest one that declines at most MAX_DECLINE_LOSS of the answerable
    questions on those folds (in-scope accuracy within half a point of never declining), a
    rule fixed before looking at val.
Out-of-scope rows are weighted to 10% of the logistic fit, a guess at real traffic. Prints one JSON object
with the constants to paste into knowledge/conf.py; val is for `manage.py evaluate` only.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.data import DATA  # noqa: E402
from knowledge.probe import fit_probe  # noqa: E402
from nlp.embeddings import embed  # noqa: E402

OOS_SHARE = 0.10
MAX_DECLINE_LOSS = 0.005


def _embeddings(data: Path, cache: Path) -> dict[str, tuple[np.ndarray, list[str], list[str]]]:
    splits = json.loads((data / "clinc150_train_val.json").read_text(encoding="utf-8"))
    out = {}
    cached = np.load(cache) if cache.exists() else None
    for name in ("train", "oos_train"):
        texts = [text for text, _ in splits[name]]
        labels = [label for _, label in splits[name]]
        if cached is not None and f"{name}_X" in cached and len(cached[f"{name}_X"]) == len(texts):
            vectors = cached[f"{name}_X"]
        else:
            vectors = embed(texts)
        out[name] = (vectors, texts, labels)
    if cached is None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, **{f"{k}_X": v[0] for k, v in out.items()})
    return out


def _best_similarity(query: np.ndarray, examples: np.ndarray, example_labels: np.ndarray, label: np.ndarray):
    sims = query @ examples.T
    return np.array([sims[i, example_labels == label[i]].max() for i in range(len(query))])


def _fit_logistic(features: np.ndarray, target: np.ndarray, weights: np.ndarray, steps: int = 3000) -> np.ndarray:
    x = np.hstack([features, np.ones((len(features), 1))])
    mean, std = x[:, :-1].mean(0), x[:, :-1].std(0) + 1e-9
    xs = x.copy()
    xs[:, :-1] = (x[:, :-1] - mean) / std
    w = np.zeros(x.shape[1])
    for _ in range(steps):  # Newton would be faster; gradient descent on 3 weights is plenty
        p = 1 / (1 + np.exp(-xs @ w))
        w -= 0.5 * (xs.T @ ((p - target) * weights)) / weights.sum()
    # Undo the standardisation so the coefficients apply to raw features.
    coef = w[:-1] / std
    bias = w[-1] - (w[:-1] * mean / std).sum()
    return np.r_[coef, bias]


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _threshold(confidence: np.ndarray, correct: np.ndarray, is_oos: np.ndarray) -> tuple[float, float, float]:
    in_scope = ~is_oos
    ceiling = (correct & in_scope).sum() / in_scope.sum()
    best = (0.0, ceiling, 0.0)
    for t in np.arange(0.0, 1.0, 0.005):
        accuracy = (correct & (confidence >= t) & in_scope).sum() / in_scope.sum()
        if accuracy < ceiling - MAX_DECLINE_LOSS:
            break
        recall = (is_oos & (confidence < t)).sum() / is_oos.sum()
        best = (float(t), float(accuracy), float(recall))
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=DATA / "clinc150")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--cache", type=Path, default=ROOT / "var" / "bench" / "clinc_calibration_embeddings.npz")
    args = parser.parse_args()
    started = time.perf_counter()
    data = _embeddings(args.data, args.cache)
    X, texts, labels = data["train"]
    Xo, texts_o, _ = data["oos_train"]
    names = sorted(set(labels))
    y = np.array([names.index(label) for label in labels])
    rng = np.random.default_rng(0)
    fold = rng.permutation(len(y)) % args.folds

    rows = []  # (logit p, similarity, correct, is_oos)
    for k in range(args.folds):
        train, held = fold != k, fold == k
        probe = fit_probe(vectors=X[train], texts=[t for t, m in zip(texts, train, strict=True) if m], labels=y[train])
        probs = probe.predict_proba(vectors=X[held], texts=[t for t, m in zip(texts, held, strict=True) if m])
        top = probe.labels[probs.argmax(1)]
        sim = _best_similarity(X[held], X[train], y[train], top)
        for p, s, ok in zip(probs.max(1), sim, top == y[held], strict=True):
            rows.append((p, s, bool(ok), False))
        print(f"fold {k + 1}/{args.folds}: accuracy {np.mean(top == y[held]):.4f}", file=sys.stderr)
    probe = fit_probe(vectors=X, texts=texts, labels=y)
    probs = probe.predict_proba(vectors=Xo, texts=texts_o)
    top = probe.labels[probs.argmax(1)]
    for p, s in zip(probs.max(1), _best_similarity(Xo, X, y, top), strict=True):
        rows.append((p, s, False, True))

    np.savez(args.cache.with_name("clinc_calibration_rows.npz"), rows=np.array(rows, dtype=float))
    p = np.clip(np.array([r[0] for r in rows]), 1e-6, 1 - 1e-6)
    features = np.c_[np.log(p / (1 - p)), [r[1] for r in rows]]
    correct = np.array([r[2] for r in rows])
    is_oos = np.array([r[3] for r in rows])
    weights = np.where(is_oos, OOS_SHARE / is_oos.mean(), (1 - OOS_SHARE) / (~is_oos).mean())
    probe_coef = _fit_logistic(features, correct.astype(float), weights)
    probe_conf = _sigmoid(np.c_[features, np.ones(len(features))] @ probe_coef)
    threshold, cv_accuracy, cv_recall = _threshold(probe_conf, correct, is_oos)

    # Retrieval mode: nearest example question of another row (leave-one-out) and the margin to the
    # best example of a different article.
    sims = X @ X.T
    np.fill_diagonal(sims, -1)
    per_class = np.stack([sims[:, y == c].max(1) for c in range(len(names))], axis=1)
    order = np.argsort(-per_class, axis=1)
    top_sim = per_class[np.arange(len(y)), order[:, 0]]
    margin = top_sim - per_class[np.arange(len(y)), order[:, 1]]
    r_correct = order[:, 0] == y
    sims_o = Xo @ X.T
    per_class_o = np.stack([sims_o[:, y == c].max(1) for c in range(len(names))], axis=1)
    sorted_o = -np.sort(-per_class_o, axis=1)
    r_features = np.r_[np.c_[top_sim, margin], np.c_[sorted_o[:, 0], sorted_o[:, 0] - sorted_o[:, 1]]]
    r_target = np.r_[r_correct, np.zeros(len(Xo), dtype=bool)]
    r_oos = np.r_[np.zeros(len(y), dtype=bool), np.ones(len(Xo), dtype=bool)]
    r_weights = np.where(r_oos, OOS_SHARE / r_oos.mean(), (1 - OOS_SHARE) / (~r_oos).mean())
    retrieval_coef = _fit_logistic(r_features, r_target.astype(float), r_weights)
    r_conf = _sigmoid(np.c_[r_features, np.ones(len(r_features))] @ retrieval_coef)
    r_threshold, r_accuracy, r_recall = _threshold(r_conf, r_target, r_oos)

    print(
        json.dumps(
            {
                "HANDOFF_PROBE_CALIBRATION": [round(float(v), 4) for v in probe_coef],
                "HANDOFF_ANSWER_THRESHOLD": round(threshold, 3),
                "cv_max_decline_loss": MAX_DECLINE_LOSS,
                "cv_in_scope_accuracy": round(cv_accuracy, 4),
                "cv_oos_recall": round(cv_recall, 4),
                "HANDOFF_RETRIEVAL_CALIBRATION": [round(float(v), 4) for v in retrieval_coef],
                "retrieval_only_threshold": round(r_threshold, 3),
                "retrieval_only_in_scope_accuracy": round(r_accuracy, 4),
                "retrieval_only_oos_recall": round(r_recall, 4),
                "seconds": round(time.perf_counter() - started, 1),
                "math_check": math.isfinite(float(probe_coef.sum())),
            }
        )
    )


if __name__ == "__main__":
    main()
