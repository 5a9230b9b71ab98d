"""Train the sentiment classifier that triggers.sentiment uses, validated out of domain.

Run from the repo root (a few minutes on 2 cores, most of it embedding ~30k texts once; cached):

    .venv/bin/python bench/train_sentiment.py [--data $HANDOFF_BENCH_DATA] [--cache var/triggers-cache]

Why several sources: trained on TweetEval alone, the model read politely worded complaints ("my flight
was delayed 3 hours and no one told us") as neutral, because tweets rarely describe a service failure
without swearing about it. Reviews and support requests do. Every source below comes from the
shared data sets (bench/data.py); none is evaluation data:

  tweets     TweetEval sentiment, validation + test (negative / neutral / positive)
  emotion    TweetEval emotion, all splits: anger and sadness -> negative, joy and optimism -> positive
  amazon     UCI Sentiment Labelled Sentences, Amazon product reviews (negative / positive)
  yelp       the same, Yelp restaurant reviews
  imdb       the same, IMDb movie reviews
  bitext     Bitext customer-support requests (the 6k file, machine-generated from seeds). Negative:
             reports of something gone wrong, whether Bitext files them as a complaint intent
             (`complaint`, `payment_issue`, `registration_problems`) or as the task they are about
             ("I have an issue editing my address", "i cannot edit order 732201349959": words of
             BITEXT_REPORTS_A_PROBLEM), and requests flagged W (offensive). Left out: "I'm still
             waiting for my refund" and the like (neither calm nor a named complaint). Neutral: the rest.
  clinc      CLINC150 (crowd-written requests to an assistant): 25 task requests per intent from the
             train split as neutral, and every train+val text of the intents that report a problem
             (a blocked account, a declined or damaged card, fraud, lost luggage) as negative: calm,
             polite descriptions of what went wrong, the complaints tweets lack.

Why the support requests were split and relabelled (the held-out "support" source scored 0.29
negative F1, below VADER): Bitext labels by task, not by mood, so the old labels called "help me file a
claim against your company" negative and "problems with cancelling order 370795561790" or "I'm waiting
for a refund of $350" neutral; a model trained on them learnt that describing a failure calmly is
neutral, which is exactly what real customers do. Nothing in the old support source was a calm
description of a failure labelled negative.

Validation holds one source out at a time: the model trained on the other six scores the seventh, so
each figure says how the model does on a kind of text it has never seen (per-source table in
triggers/sentiment_model.json). Sources differ in their share of negatives (tweets 30%, emotion 68%),
and F1 moves with it, so each is also scored as if half its texts were negative (the support prior
below). The L2 strength is the one with the best mean of that; the final model is trained on all.

The decision is tuned for support traffic in two steps, neither on an evaluation set. A prior shift:
training balances the classes (an implied prior of 1/3 each), while people write to support mostly
when something went wrong. With SUPPORT_PRIOR (our estimate, stated here) the logits get
log(prior / (1/3)) added, which is Bayes' rule for a change of class prior; it is folded into the
stored bias, so the score p(positive) - p(negative) carries it. Then the operating point: a message is
negative once p(negative) reaches NEGATIVE_THRESHOLD, which comes from the costs of the two wrong calls
(COST_MISSED_UPSET, COST_NEEDLESS_HANDOFF), not from a leaderboard.

The model is a softmax regression over triggers.sentiment.features (the sentence embedding plus
VADER's four scores), standardised, trained with Adam in numpy with a fixed seed. Writes
triggers/sentiment_model.npz (standardisation and prior folded into the weights, the threshold) and
triggers/sentiment_model.json (settings and per-source results).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.data import DATA  # noqa: E402
from nlp.embeddings import embed  # noqa: E402
from triggers import sentiment  # noqa: E402
from triggers.evaluation import classification_report  # noqa: E402

SEED = 20240601
EPOCHS = 10
BATCH = 64
LEARNING_RATE = 1e-3
L2_GRID = (1e-4, 1e-2, 1e-1)
NEG, NEU, POS = 0, 1, 2
# Share of negative / neutral / positive messages we expect on a support desk (an assumption, stated
# so it can be argued with): most people write because something is wrong; thanks close many
# conversations; praise is rarer.
SUPPORT_PRIOR = (0.5, 0.3, 0.2)
# The operating point, from what a wrong call costs: a missed upset customer stays with a bot that
# cannot calm them and may leave (other rules get a second chance: asking for a person, frustration,
# the average of the next messages); a needless handoff costs an agent a few minutes. We take the
# first as twice the second, so a message is called negative once p(negative) > 1 / (1 + 2).
COST_MISSED_UPSET, COST_NEEDLESS_HANDOFF = 2.0, 1.0
NEGATIVE_THRESHOLD = COST_NEEDLESS_HANDOFF / (COST_NEEDLESS_HANDOFF + COST_MISSED_UPSET)
SCORE_CUTS = (-0.3, -0.5, -0.7, -0.8)  # the "below" values of the shipped sentiment rules, and the old -0.8
CLINC_REQUESTS_PER_INTENT = 25
CLINC_NOT_REQUESTS = {"small_talk", "meta"}  # CLINC150 domains that are chat, not tasks
# A customer writing about one of these is telling us something went wrong: negative examples.
CLINC_PROBLEMS = {"account_blocked", "card_declined", "damaged_card", "lost_luggage", "report_fraud"}
# Neither: a request to freeze an account or report a card one lost oneself is calm as often as not.
CLINC_AMBIGUOUS = {"freeze_account", "report_lost_card"}
BITEXT_PROBLEMS = {"complaint", "payment_issue", "registration_problems"}
# Bitext files a request by its task, so "I have an issue editing my address" is change_shipping_address,
# labelled like "how do I change my address", while "report a signup error" (registration_problems) is a
# complaint. Reporting a problem is what a complaint is, whichever task it is about.
BITEXT_REPORTS_A_PROBLEM = re.compile(
    r"\b(problems?|issues?|errors?|trouble|can'?t|cannot|unable|not working|(doesn'?t|does not|won'?t) work|"
    r"fail(ed|s)?|wrong)\b",
    re.IGNORECASE,
)
BITEXT_STILL_WAITING = re.compile(r"\b(waiting|still|haven'?t|yet)\b", re.IGNORECASE)
EMOTION_TO_SENTIMENT = {0: NEG, 1: POS, 2: POS, 3: NEG}  # anger, joy, optimism, sadness


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split("\n")


def _tweeteval(folder: Path, splits: tuple[str, ...], mapping: dict[int, int] | None = None):
    texts, labels = [], []
    for split in splits:
        split_labels = [int(line) for line in (folder / f"{split}_labels.txt").read_text().split()]
        texts += _lines(folder / f"{split}_text.txt")[: len(split_labels)]
        labels += [mapping[label] if mapping else label for label in split_labels]
    return texts, np.array(labels)


def _uci(path: Path):
    texts, labels = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        text, _, label = line.rpartition("\t")
        if text.strip() and label.strip() in {"0", "1"}:
            texts.append(text.strip())
            labels.append(POS if label.strip() == "1" else NEG)
    return texts, np.array(labels)


def _bitext(data: Path):
    texts, labels = [], []
    with open(data / "bitext" / "bitext_support_6k_with_responses.csv", encoding="utf-8-sig", newline="") as file:
        for row in csv.DictReader(file):
            text = row["instruction"]
            offensive = "W" in (row.get("tags") or row.get("flags") or "")
            if row["intent"] in BITEXT_PROBLEMS or offensive or BITEXT_REPORTS_A_PROBLEM.search(text):
                label = NEG
            elif BITEXT_STILL_WAITING.search(text):
                continue  # "I'm still waiting for my refund": neither calm nor a complaint we can name
            else:
                label = NEU
            texts.append(text)
            labels.append(label)
    return texts, np.array(labels)


def _clinc(data: Path):
    clinc = json.loads((data / "clinc150" / "clinc150_train_val.json").read_text(encoding="utf-8"))
    domains = json.loads((data / "clinc150" / "domains.json").read_text(encoding="utf-8"))
    tasks = {
        intent
        for domain, intents in domains.items()
        if domain not in CLINC_NOT_REQUESTS
        for intent in intents
        if intent not in CLINC_PROBLEMS and intent not in CLINC_AMBIGUOUS
    }
    by_intent: dict[str, list[str]] = {}
    for text, intent in clinc["train"]:
        if intent in tasks:
            by_intent.setdefault(intent, []).append(text)
    rng = np.random.default_rng(SEED)
    texts, labels = [], []
    for intent in sorted(by_intent):
        for i in rng.permutation(len(by_intent[intent]))[:CLINC_REQUESTS_PER_INTENT]:
            texts.append(by_intent[intent][i])
            labels.append(NEU)
    # People telling a bank or an airline what went wrong, calmly: the polite complaints tweets lack.
    for split in ("train", "val"):
        for text, intent in clinc[split]:
            if intent in CLINC_PROBLEMS:
                texts.append(text)
                labels.append(NEG)
    return texts, np.array(labels)


def load_sources(data: Path) -> dict[str, tuple[list[str], np.ndarray]]:
    tweeteval = data / "tweeteval"
    uci = data / "uci_sentences"
    return {
        "tweets": _tweeteval(tweeteval, ("val", "test")),
        "emotion": _tweeteval(tweeteval / "emotion", ("train", "val", "test"), EMOTION_TO_SENTIMENT),
        "amazon": _uci(uci / "amazon_cells_labelled.txt"),
        "yelp": _uci(uci / "yelp_labelled.txt"),
        "imdb": _uci(uci / "imdb_labelled.txt"),
        "bitext": _bitext(data),
        "clinc": _clinc(data),
    }


def embeddings(texts: list[str], cache: Path | None, name: str) -> np.ndarray:
    """Embed, or reuse a cached array made from exactly these texts (keyed by their hash)."""
    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    path = cache / f"{name}-{digest}.npy" if cache else None
    if path and path.exists():
        return np.load(path)

    started = time.perf_counter()
    vectors = embed(texts)
    print(f"embedded {len(texts)} {name} texts in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, vectors)
    return vectors


def train(x: np.ndarray, y: np.ndarray, sample_weight: np.ndarray, *, l2: float) -> tuple[np.ndarray, np.ndarray]:
    """Softmax regression with Adam, mini-batches and L2; inputs already standardised."""
    rng = np.random.default_rng(SEED)
    n, d = x.shape
    weights, bias = np.zeros((d, 3), np.float32), np.zeros(3, np.float32)
    targets = np.eye(3, dtype=np.float32)[y]
    sample_weight = sample_weight.astype(np.float32)
    moments = [[np.zeros_like(weights), np.zeros_like(weights)], [np.zeros_like(bias), np.zeros_like(bias)]]
    step = 0
    for _ in range(EPOCHS):
        order = rng.permutation(n)
        for start in range(0, n, BATCH):
            batch = order[start : start + BATCH]
            logits = x[batch] @ weights + bias
            logits -= logits.max(axis=1, keepdims=True)
            probabilities = np.exp(logits)
            probabilities /= probabilities.sum(axis=1, keepdims=True)
            error = (probabilities - targets[batch]) * (sample_weight[batch, None] / len(batch))
            gradients = (x[batch].T @ error + l2 * weights, error.sum(axis=0))
            step += 1
            for parameter, gradient, (m, v) in zip((weights, bias), gradients, moments, strict=True):
                m *= 0.9
                m += 0.1 * gradient
                v *= 0.999
                v += 0.001 * gradient * gradient
                parameter -= LEARNING_RATE * (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + 1e-8)
    return weights, bias


def balanced_weights(y: np.ndarray, source: np.ndarray) -> np.ndarray:
    """Each source weighs the same in total, then each class the same in total (prior 1/3 each)."""
    weight = np.zeros(len(y))
    names = np.unique(source)
    for name in names:
        weight[source == name] = len(y) / (len(names) * (source == name).sum())
    for label in range(3):
        mask = y == label
        weight[mask] *= (weight.sum() / 3) / weight[mask].sum()
    return weight * len(y) / weight.sum()


def prior_shift() -> np.ndarray:
    return np.log(np.array(SUPPORT_PRIOR) / (1 / 3)).astype(np.float32)


def fit(x: np.ndarray, y: np.ndarray, source: np.ndarray, *, l2: float) -> tuple[np.ndarray, np.ndarray]:
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-6
    weights, bias = train((x - mean) / std, y, balanced_weights(y, source), l2=l2)
    # Fold the standardisation into the weights: the product multiplies raw features once.
    return (weights / std[:, None]).astype(np.float32), (bias - (mean / std) @ weights).astype(np.float32)


def probabilities(x: np.ndarray, weights: np.ndarray, bias: np.ndarray) -> np.ndarray:
    logits = x @ weights + bias
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True)


def predict(p: np.ndarray, negative_threshold: float | None = NEGATIVE_THRESHOLD) -> np.ndarray:
    """The product's decision (sentiment.decide); None: plain argmax, for comparison."""
    if negative_threshold is None:
        return p.argmax(axis=1)
    return np.array([sentiment.LABELS.index(sentiment.decide(row, negative_threshold)) for row in p])


def negative_f1_at_share(true: np.ndarray, predicted: np.ndarray, share: float) -> float:
    """Negative F1 had the source's negatives made up `share` of it (each class keeps its error rates).

    Sources differ in how many of their texts are negative (tweets 30%, emotion 68%); F1 depends on
    that, so the sources are also compared at the share we expect on a support desk.
    """
    negative = true == NEG
    w_neg, w_other = share / max(negative.sum(), 1), (1 - share) / max((~negative).sum(), 1)
    tp = w_neg * np.sum(negative & (predicted == NEG))
    fn = w_neg * np.sum(negative & (predicted != NEG))
    fp = w_other * np.sum(~negative & (predicted == NEG))
    return round(float(2 * tp / (2 * tp + fp + fn)), 4) if tp else 0.0


def names(labels: np.ndarray) -> list[str]:
    return [sentiment.LABELS[i] for i in labels]


def report_for(true: np.ndarray, p: np.ndarray, texts: list[str]) -> dict:
    predicted = predict(p)
    vader = np.array([sentiment.LABELS.index(sentiment.vader_label(text)) for text in texts])
    share = SUPPORT_PRIOR[NEG]
    scores = p[:, 2] - p[:, 0]
    return {
        "n": len(true),
        "negative_share": round(float(np.mean(true == NEG)), 3),
        "model": classification_report(names(true), names(predicted)),
        "vader": classification_report(names(true), names(vader)),
        "model_argmax": classification_report(names(true), names(predict(p, None))),
        f"negative_f1_at_{share}_negative": {
            "model": negative_f1_at_share(true, predicted, share),
            "vader": negative_f1_at_share(true, vader, share),
        },
        # How the shipped rules' score thresholds (triggers/defaults.py) cut this source.
        "share_below_score": {
            str(cut): {
                "negative": round(float(np.mean(scores[true == NEG] < cut)), 3),
                "not_negative": round(float(np.mean(scores[true != NEG] < cut)), 3),
            }
            for cut in SCORE_CUTS
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--cache", type=Path, default=ROOT / "var" / "triggers-cache")
    parser.add_argument("--out", type=Path, default=sentiment.MODEL_PATH)
    args = parser.parse_args()

    sources = load_sources(args.data)
    features, labels, origin, all_texts = [], [], [], []
    for name, (texts, y) in sources.items():
        features.append(sentiment.features(embeddings(texts, args.cache, f"sentiment-{name}"), texts))
        labels.append(y)
        origin.append(np.full(len(y), name))
        all_texts += texts
    x, y, source = np.vstack(features), np.concatenate(labels), np.concatenate(origin)
    shift = prior_shift()
    share = SUPPORT_PRIOR[NEG]

    def at_share(result: dict) -> float:
        return result[f"negative_f1_at_{share}_negative"]["model"]

    # Leave one source out; choose L2 on the mean held-out negative F1 at the support desk's share.
    held_out: dict[float, dict[str, dict]] = {}
    for l2 in L2_GRID:
        held_out[l2] = {}
        for name in sources:
            train_mask = source != name
            weights, bias = fit(x[train_mask], y[train_mask], source[train_mask], l2=l2)
            test = ~train_mask
            texts = [t for t, m in zip(all_texts, test, strict=True) if m]
            held_out[l2][name] = report_for(y[test], probabilities(x[test], weights, bias + shift), texts)
        print(f"l2={l2}: mean held-out negative F1 at {share} negative "
              f"{np.mean([at_share(r) for r in held_out[l2].values()]):.4f}", file=sys.stderr)  # fmt: skip
    best_l2 = max(L2_GRID, key=lambda l2: np.mean([at_share(r) for r in held_out[l2].values()]))

    weights, bias = fit(x, y, source, l2=best_l2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out,
        weights=weights,
        bias=(bias + shift).astype(np.float32),
        negative_threshold=np.float32(NEGATIVE_THRESHOLD),
    )
    per_source = held_out[best_l2]

    def mean_of(key: str, which: str) -> float:
        return round(float(np.mean([r[key][which] for r in per_source.values()])), 4)

    report = {
        "model": "softmax regression on all-MiniLM-L6-v2 embedding + VADER (compound, neg, pos, neu)",
        "sources": {name: len(texts) for name, (texts, _y) in sources.items()},
        "seed": SEED,
        "settings": {
            "epochs": EPOCHS,
            "batch": BATCH,
            "learning_rate": LEARNING_RATE,
            "l2": best_l2,
            "support_prior": dict(zip(sentiment.LABELS, SUPPORT_PRIOR, strict=True)),
            "negative_threshold": round(NEGATIVE_THRESHOLD, 4),
            "costs": {"missed_upset_customer": COST_MISSED_UPSET, "needless_handoff": COST_NEEDLESS_HANDOFF},
        },
        "held_out_by_source": per_source,
        "mean_held_out_negative_f1": {
            "model": mean_of("model", "negative_f1"),
            "vader": mean_of("vader", "negative_f1"),
        },
        f"mean_held_out_negative_f1_at_{share}_negative": {
            "model": mean_of(f"negative_f1_at_{share}_negative", "model"),
            "vader": mean_of(f"negative_f1_at_{share}_negative", "vader"),
        },
        "l2_grid": {str(l2): round(float(np.mean([at_share(r) for r in held_out[l2].values()])), 4) for l2 in L2_GRID},
    }
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    summary = {
        name: {
            "model": [r["model"][k] for k in ("negative_precision", "negative_recall", "negative_f1")],
            "vader": [r["vader"][k] for k in ("negative_precision", "negative_recall", "negative_f1")],
            f"f1_at_{share}_negative": r[f"negative_f1_at_{share}_negative"],
        }
        for name, r in per_source.items()
    }
    print(json.dumps({"l2": best_l2, "held_out_negative_precision_recall_f1": summary}, indent=2))


if __name__ == "__main__":
    main()
