"""Write var/bench/bitext_handoff.csv (text,should_handoff) from Bitext's labelled utterances.

contact_human_agent and complaint should hand off; every other intent should be answered by the
bot once the knowledge base is loaded from bitext_support_6k_with_responses.csv:

    export HANDOFF_DATA_DIR=$PWD/var/bench-eval
    .venv/bin/python bench/bitext_to_handoff_csv.py
    .venv/bin/python manage.py migrate && .venv/bin/python manage.py kb_import \\
        ../shared/data/bitext/bitext_support_6k_with_responses.csv --replace \\
        --article-column intent --question-column instruction --answer-column response
    .venv/bin/python manage.py evaluate handoff var/bench/bitext_handoff.csv
"""

import csv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT.parent / "shared" / "data" / "bitext" / "bitext_utterances_8k.csv"
TARGET = ROOT / "var" / "bench" / "bitext_handoff.csv"
HANDOFF_INTENTS = {"contact_human_agent", "complaint"}


def main() -> None:
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    with SOURCE.open(newline="", encoding="utf-8-sig") as source, TARGET.open("w", newline="") as target:
        writer = csv.writer(target)
        writer.writerow(["text", "should_handoff"])
        count = 0
        for row in csv.DictReader(source):
            writer.writerow([row["utterance"], int(row["intent"] in HANDOFF_INTENTS)])
            count += 1
    print(f"wrote {count} rows to {TARGET}")


if __name__ == "__main__":
    main()
