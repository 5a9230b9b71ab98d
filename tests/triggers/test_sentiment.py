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


def test_the_model_beats_vader_on_the_held_out_tweets_and_is_small():
    report = sentiment.model_report()["held_out"]
    assert report["model"]["negative_f1"] > report["vader"]["negative_f1"]
    assert report["model"]["macro_f1"] > report["vader"]["macro_f1"]
    assert sentiment.MODEL_PATH.stat().st_size < 100_000


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
