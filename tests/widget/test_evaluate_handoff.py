import csv
import json

import pytest
from django.core.management import call_command

from chat.models import Conversation, Customer

pytestmark = pytest.mark.django_db


def test_evaluate_handoff_runs_each_text_through_the_live_pipeline(tmp_path, capsys):
    """The shipped default rules (installed by migration) decide; the bot answers the rest."""
    from knowledge.demo import load_demo_knowledge_base

    load_demo_knowledge_base()
    path = tmp_path / "handoff.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "should_handoff"])
        writer.writerows(
            [
                ("I want to talk to a real person", 1),
                ("This is the worst service ever, I want to make a complaint", 1),
                ("How long does shipping take?", 0),
                ("How do I reset my password?", 0),
            ]
        )
    call_command("evaluate", "handoff", str(path))
    lines = capsys.readouterr().out.strip().splitlines()
    summary = json.loads(lines[-1])
    assert list(summary) == ["n", "precision", "recall", "f1", "p50_ms"]
    assert (summary["n"], summary["precision"], summary["recall"], summary["f1"]) == (4, 1.0, 1.0, 1.0)
    assert summary["p50_ms"] > 0
    assert not Conversation.objects.exists() and not Customer.objects.exists(), "nothing is left behind"


def test_evaluate_refuses_a_file_without_the_columns(tmp_path):
    from django.core.management.base import CommandError

    path = tmp_path / "bad.csv"
    path.write_text("question\nhello\n")
    with pytest.raises(CommandError, match="should_handoff"):
        call_command("evaluate", "handoff", str(path))
