import json

import pytest
from django.core.management import CommandError, call_command

from knowledge.models import Article, ExampleQuestion

KB = """article,question,answer
shipping,how long does delivery take,Delivery takes 2-4 working days.
shipping,when will my parcel arrive,Delivery takes 2-4 working days.
shipping,how fast is shipping,Delivery takes 2-4 working days.
returns,how do i return an item,Return unused items within 30 days.
returns,can i send something back,Return unused items within 30 days.
returns,what is your return policy,Return unused items within 30 days.
password,i forgot my password,Use the Forgot password link on the sign-in page.
password,how do i reset my password,Use the Forgot password link on the sign-in page.
password,i can't log in,Use the Forgot password link on the sign-in page.
"""

EVAL = """text,expected_article
when does my package get here,shipping
i want to send my boots back,returns
reset my password please,password
what is the capital of mongolia,
write a poem about pancakes,
"""


@pytest.fixture
def files(tmp_path):
    kb, evaluation = tmp_path / "kb.csv", tmp_path / "eval.csv"
    kb.write_text(KB)
    evaluation.write_text(EVAL)
    return kb, evaluation


def _last_json(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


@pytest.mark.django_db
def test_kb_import_creates_articles_and_reimport_does_not_duplicate(files, capsys):
    kb, _ = files

    call_command("kb_import", str(kb))
    call_command("kb_import", str(kb))

    assert sorted(Article.objects.values_list("title", flat=True)) == ["password", "returns", "shipping"]
    assert ExampleQuestion.objects.count() == 9
    assert Article.objects.get(title="returns").body == "Return unused items within 30 days."
    assert not ExampleQuestion.objects.filter(embedding__isnull=True).exists()


@pytest.mark.django_db
def test_kb_import_replace_clears_the_knowledge_base_first(files, demo_kb):
    kb, _ = files

    call_command("kb_import", str(kb), "--replace")

    assert Article.objects.count() == 3


@pytest.mark.django_db
def test_kb_import_reads_renamed_columns(tmp_path):
    path = tmp_path / "bitext.csv"
    path.write_text("instruction,intent,response\ncancel my order,cancel_order,Go to Orders and press Cancel.\n")

    call_command(
        "kb_import",
        str(path),
        "--article-column=intent",
        "--question-column=instruction",
        "--answer-column=response",
    )

    article = Article.objects.get()
    assert (article.title, article.body) == ("cancel_order", "Go to Orders and press Cancel.")


@pytest.mark.django_db
def test_evaluate_answers_prints_the_scores_as_json_last(files, capsys):
    kb, evaluation = files
    call_command("kb_import", str(kb))
    capsys.readouterr()

    call_command("evaluate", "answers", str(evaluation))

    result = _last_json(capsys)
    assert set(result) == {
        "n",
        "in_scope_accuracy",
        "oos_recall",
        "oos_precision",
        "p50_ms",
        "p95_ms",
        "threshold",
        "auroc_in_scope_vs_oos",
        "auroc_right_vs_decline",
    }
    assert result["n"] == 5
    assert result["threshold"] == 0.5  # the shipped default
    assert result["auroc_in_scope_vs_oos"] == 1.0
    assert result["in_scope_accuracy"] == 1.0
    assert result["oos_recall"] == 1.0
    assert result["oos_precision"] == 1.0
    assert 0 < result["p50_ms"] <= result["p95_ms"]


@pytest.mark.django_db
def test_evaluate_answers_prints_the_trade_off_and_the_threshold_for_a_target_recall(files, capsys):
    kb, evaluation = files
    call_command("kb_import", str(kb))
    capsys.readouterr()

    call_command("evaluate", "answers", str(evaluation), "--target-oos-recall", "0.5")

    lines = capsys.readouterr().out.strip().splitlines()
    result = json.loads(lines[-1])
    table = lines[lines.index(next(line for line in lines if line.startswith("threshold"))) + 1 : -1]
    assert [float(line.split()[0]) for line in table] == [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    # The lowest threshold declining one of the two foreign questions declines exactly that one.
    assert result["target"]["target_oos_recall"] == 0.5
    assert result["target"]["oos_recall"] == 0.5
    assert 0 < result["target"]["threshold"] < result["threshold"]
    assert result["target"]["in_scope_accuracy"] == 1.0


@pytest.mark.django_db
def test_evaluate_answers_rejects_a_target_outside_zero_to_one(files):
    _kb, evaluation = files
    with pytest.raises(CommandError, match=r"expected a share in \(0, 1\]"):
        call_command("evaluate", "answers", str(evaluation), "--target-oos-recall", "90")
