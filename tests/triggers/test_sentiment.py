"""The sentiment scorer the product uses, and its evaluation."""

import csv
import json

import pytest
from django.core.management import call_command

from triggers import sentiment
from triggers.evaluation import classification_report, read_sentiment_csv

NEGATIVE = [
    "This is absolutely ridiculous, worst service ever",
    "I hate this, nothing works",
    "your service is terrible and I want my money back",
    "I am very angry about the delay",
]
POSITIVE = ["Thanks, that sorted it, you are great", "Brilliant, thank you so much for the quick help!"]
REQUESTS = ["Where is my order?", "How do I reset my password?", "I want to delete my account", "Do you ship to Spain?"]


def test_known_negatives_score_below_zero_and_positives_above():
    results = sentiment.score_texts(NEGATIVE + POSITIVE)
    assert all(r.score < -0.5 and r.label == "negative" for r in results[: len(NEGATIVE)]), results
    assert all(r.score > 0.5 and r.label == "positive" for r in results[len(NEGATIVE) :]), results


def test_plain_support_requests_are_not_read_as_angry():
    # Trained on tweets alone the model scored "delete my account" about -0.8; task requests from
    # CLINC150 in training keep the topic from passing for the mood.
    for result in sentiment.score_texts(REQUESTS):
        assert result.score > -0.4, result


def test_scores_are_probability_differences_in_range():
    result = sentiment.score_text("meh")
    assert -1 <= result.score <= 1
    assert result.score == pytest.approx(result.probabilities["positive"] - result.probabilities["negative"], abs=1e-3)
    assert sum(result.probabilities.values()) == pytest.approx(1, abs=1e-3)


def test_the_model_beats_vader_on_sources_it_never_saw_and_is_small():
    # bench/train_sentiment.py holds each source out in turn and scores it with a model trained on the rest.
    report = sentiment.model_report()
    held_out = report["held_out_by_source"]
    assert set(held_out) == {"tweets", "emotion", "amazon", "yelp", "imdb", "bitext", "clinc"}
    # Compared at the support desk's share of negatives (the sources range from 18% to 68%):
    # on every source, support requests included, the model beats VADER.
    share = report["settings"]["support_prior"]["negative"]
    for source, result in held_out.items():
        at_share = result[f"negative_f1_at_{share}_negative"]
        assert at_share["model"] > at_share["vader"], source
    for source in ("amazon", "yelp", "imdb", "bitext", "clinc"):
        assert held_out[source]["model"]["negative_recall"] > held_out[source]["vader"]["negative_recall"], source
    assert sentiment.MODEL_PATH.stat().st_size < 100_000


def test_the_label_follows_the_cost_threshold_not_the_argmax():
    # Missing an upset customer costs twice a needless handoff: negative from p(negative) >= 1/3.
    threshold = sentiment.model_report()["settings"]["negative_threshold"]
    assert threshold == pytest.approx(1 / 3, abs=1e-3)
    assert sentiment.decide((0.34, 0.5, 0.16), threshold) == "negative"
    assert sentiment.decide((0.32, 0.5, 0.18), threshold) == "neutral"
    assert sentiment.decide((0.32, 0.18, 0.5), threshold) == "positive"


# Customers describing what went wrong, most of them politely: the tone is calm, the message is not.
# None of these sentences is in the training data (tweets, reviews, Bitext and CLINC150 requests).
SUPPORT_COMPLAINTS = [
    "my flight was delayed 3 hours and no one told us",
    "the package arrived damaged",
    "I was charged twice for the same order",
    "nobody has replied to my emails",
    "The app keeps crashing when I try to pay",
    "I was promised a call back yesterday and nobody called",
    "Hello, my order arrived yesterday but the box was empty",
    "I booked a window seat and was given a middle seat without any explanation",
    "We were promised a refund within 5 days and it's been three weeks",
    "Sorry to trouble you, but my bill is higher than the price I was quoted",
    "my train was cancelled and the replacement bus never came",
    "Could you please explain why my parcel was sent back to you?",
]
# What most people write to a support desk: a calm question or request, about the same topics
# (orders, bills, accounts, bookings) as the complaints above. Also written for this test.
SUPPORT_REQUESTS = [
    "how do I change my address",
    "Could you tell me what time you close today?",
    "I'd like to add my partner to the booking",
    "Can I pick up my order from the store instead?",
    "What documents do I need to open an account?",
    "Please send me a copy of my last receipt",
    "Which plans include international calls?",
    "Can I change the seat on my booking?",
]


def test_support_style_complaints_score_negative_even_when_polite():
    # Before (trained on TweetEval alone) the delayed flight scored neutral, and so did most of these.
    results = sentiment.score_texts(SUPPORT_COMPLAINTS)
    missed = [(text, r) for text, r in zip(SUPPORT_COMPLAINTS, results, strict=True) if r.label != "negative"]
    assert not missed
    assert all(r.score < -0.5 for r in results), results


def test_support_style_requests_do_not_score_negative():
    # The other half of the trade-off: a calm request about a bill or a booking is not a complaint,
    # and stays clear of the shipped rules' thresholds (the lowest, -0.3, is the VIP rule's).
    results = sentiment.score_texts(SUPPORT_REQUESTS)
    wrong = [(text, r) for text, r in zip(SUPPORT_REQUESTS, results, strict=True) if r.label == "negative"]
    assert not wrong
    assert all(r.score > -0.3 for r in results), results


def test_classification_report_counts():
    report = classification_report(
        ["negative", "negative", "neutral", "positive", "positive"],
        ["negative", "neutral", "neutral", "positive", "negative"],
    )
    assert report == {
        "n": 5,
        "negative_precision": 0.5,
        "negative_recall": 0.5,
        "negative_f1": 0.5,
        "macro_f1": 0.6111,
        "accuracy": 0.6,
    }


def test_the_csv_reader_accepts_headers_aliases_and_commas_in_text(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text('text,label\n"late, again",negative\nfine thanks,pos\nunquoted, comma,0\n', encoding="utf-8")
    assert read_sentiment_csv(path) == [
        ("late, again", "negative"),
        ("fine thanks", "positive"),
        ("unquoted, comma", "negative"),
    ]
    (tmp_path / "bad.csv").write_text("hello,grumpy\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 1: label 'grumpy' is not negative, neutral or positive"):
        read_sentiment_csv(tmp_path / "bad.csv")


def test_evaluate_sentiment_prints_the_scores_as_json_last(tmp_path, capsys):
    path = tmp_path / "sample.csv"
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["text", "label"])
        writer.writerows([(text, "negative") for text in NEGATIVE] + [(text, "positive") for text in POSITIVE])
    call_command("evaluate", "sentiment", str(path))
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["n"] == 6
    assert printed["negative_recall"] == 1.0
    assert set(printed) >= {"negative_precision", "negative_recall", "negative_f1", "macro_f1"}
