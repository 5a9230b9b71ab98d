"""A linear probe that maps a question to an article, trained on the articles' example questions.

Frozen sentence embeddings alone put the nearest example question in the right article ~89% of the
time on CLINC150; a softmax layer trained over the same embeddings plus sparse word uni/bigram
features gets ~96-97% (see bench/knowledge_calibrate.py). The probe is pure numpy (no scipy or
torch): the sparse part is kept as CSR-style index arrays.

Nothing here touches the database; knowledge/classifier.py stores and loads probes.
"""

from __future__ import annotations

import io
import itertools
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def lexical_terms(text: str) -> set[str]:
    """Word unigrams and bigrams of ``text``, lower-cased."""
    words = _WORD.findall(text.lower())
    return set(words) | {f"{a} {b}" for a, b in itertools.pairwise(words)}


@dataclass(frozen=True)
class TrainingParams:
    epochs: int = 15
    batch_size: int = 512
    learning_rate: float = 0.02
    # Small knowledge bases fit in one batch; they still need enough Adam steps to converge.
    min_steps: int = 300
    l2: float = 1e-6
    seed: int = 0
    # Relative weight of the (L2-normalised) lexical block against the unit-length embedding.
    lexical_weight: float = 0.5
    min_df: int = 2
    max_vocabulary: int = 50_000


@dataclass
class _Sparse:
    """Rows of a sparse matrix: values[indptr[i]:indptr[i+1]] sit in columns[...]."""

    indptr: np.ndarray
    columns: np.ndarray
    values: np.ndarray


class LinearProbe:
    def __init__(
        self,
        *,
        labels: np.ndarray,
        vocabulary: list[str],
        idf: np.ndarray,
        dense_weights: np.ndarray,
        sparse_weights: np.ndarray,
        bias: np.ndarray,
        lexical_weight: float,
    ) -> None:
        self.labels = labels
        self.vocabulary = vocabulary
        self._index = {term: i for i, term in enumerate(vocabulary)}
        self.idf = idf
        self.dense_weights = dense_weights
        self.sparse_weights = sparse_weights
        self.bias = bias
        self.lexical_weight = lexical_weight

    def predict_proba(self, *, vectors: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """Probabilities over ``labels``, one row per text."""
        sparse = _featurise(texts, self._index, self.idf, self.lexical_weight)
        return _softmax(_logits(vectors, sparse, self.dense_weights, self.sparse_weights, self.bias))

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez(
            buffer,
            labels=self.labels,
            vocabulary=np.array(self.vocabulary, dtype=object),
            idf=self.idf,
            dense_weights=self.dense_weights,
            sparse_weights=self.sparse_weights,
            bias=self.bias,
            lexical_weight=np.array(self.lexical_weight),
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> LinearProbe:
        # allow_pickle only for the vocabulary's object array; the bytes come from our own database.
        arrays = np.load(io.BytesIO(data), allow_pickle=True)
        return cls(
            labels=arrays["labels"],
            vocabulary=[str(term) for term in arrays["vocabulary"]],
            idf=arrays["idf"],
            dense_weights=arrays["dense_weights"],
            sparse_weights=arrays["sparse_weights"],
            bias=arrays["bias"],
            lexical_weight=float(arrays["lexical_weight"]),
        )


def fit_probe(
    *,
    vectors: np.ndarray,
    texts: Sequence[str],
    labels: Sequence[int],
    params: TrainingParams | None = None,
) -> LinearProbe:
    """Train a softmax regression from (embedding, text) to label with mini-batch Adam."""
    params = params or TrainingParams()
    classes, targets = np.unique(np.asarray(labels, dtype=np.int64), return_inverse=True)
    n, dims = vectors.shape
    k = len(classes)

    term_sets = [lexical_terms(text) for text in texts]
    df = Counter(term for terms in term_sets for term in terms)
    # At least two example questions must share a term for it to say anything about an article.
    kept = [term for term, count in df.most_common(params.max_vocabulary) if count >= params.min_df]
    kept.sort()
    index = {term: i for i, term in enumerate(kept)}
    idf = np.array([math.log((1 + n) / (1 + df[term])) + 1.0 for term in kept], dtype=np.float32)
    sparse = _featurise(texts, index, idf, params.lexical_weight, term_sets=term_sets)

    # Rows padded to the longest row, pointing at an extra all-zero weight row, so a mini-batch is
    # plain fancy indexing instead of slicing CSR arrays.
    vocab_size = len(kept)
    width = max(1, int(np.diff(sparse.indptr).max(initial=0)))
    padded_columns = np.full((n, width), vocab_size, dtype=np.int64)
    padded_values = np.zeros((n, width), dtype=np.float32)
    for row, (start, end) in enumerate(zip(sparse.indptr[:-1], sparse.indptr[1:], strict=True)):
        padded_columns[row, : end - start] = sparse.columns[start:end]
        padded_values[row, : end - start] = sparse.values[start:end]

    weights = [
        np.zeros((dims, k), dtype=np.float32),
        np.zeros((vocab_size + 1, k), dtype=np.float32),
        np.zeros(k, dtype=np.float32),
    ]
    first = [np.zeros_like(w) for w in weights]
    second = [np.zeros_like(w) for w in weights]
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    rng = np.random.default_rng(params.seed)
    step = 0
    steps_per_epoch = math.ceil(n / params.batch_size)
    for _epoch in range(max(params.epochs, math.ceil(params.min_steps / steps_per_epoch))):
        order = rng.permutation(n)
        for batch_start in range(0, n, params.batch_size):
            batch = order[batch_start : batch_start + params.batch_size]
            step += 1
            columns, values = padded_columns[batch], padded_values[batch]
            logits = vectors[batch] @ weights[0] + weights[2]
            logits += np.einsum("bl,blk->bk", values, weights[1][columns])
            grad_logits = _softmax(logits)
            grad_logits[np.arange(len(batch)), targets[batch]] -= 1.0
            grad_logits /= len(batch)

            flat_columns = columns.ravel()
            contributions = (values[:, :, None] * grad_logits[:, None, :]).reshape(-1, k)
            sort = np.argsort(flat_columns, kind="stable")
            sorted_columns = flat_columns[sort]
            starts = np.flatnonzero(np.r_[True, sorted_columns[1:] != sorted_columns[:-1]])
            grad_sparse = np.zeros_like(weights[1])
            grad_sparse[sorted_columns[starts]] = np.add.reduceat(contributions[sort], starts, axis=0)
            grad_sparse[vocab_size] = 0.0
            grads = [
                vectors[batch].T @ grad_logits + params.l2 * weights[0],
                grad_sparse + params.l2 * weights[1],
                grad_logits.sum(axis=0),
            ]
            bias1, bias2 = 1 - beta1**step, 1 - beta2**step
            for i, grad in enumerate(grads):
                first[i] *= beta1
                first[i] += (1 - beta1) * grad
                second[i] *= beta2
                second[i] += (1 - beta2) * grad * grad
                weights[i] -= (params.learning_rate / bias1) * first[i] / (np.sqrt(second[i] / bias2) + eps)

    return LinearProbe(
        labels=classes,
        vocabulary=kept,
        idf=idf,
        dense_weights=weights[0],
        sparse_weights=weights[1][:vocab_size],
        bias=weights[2],
        lexical_weight=params.lexical_weight,
    )


def _featurise(
    texts: Sequence[str],
    index: dict[str, int],
    idf: np.ndarray,
    lexical_weight: float,
    *,
    term_sets: list[set[str]] | None = None,
) -> _Sparse:
    term_sets = term_sets if term_sets is not None else [lexical_terms(text) for text in texts]
    indptr = [0]
    columns: list[int] = []
    for terms in term_sets:
        row = sorted(index[term] for term in terms if term in index)
        columns.extend(row)
        indptr.append(len(columns))
    columns_array = np.array(columns, dtype=np.int64)
    values = idf[columns_array].astype(np.float32) if len(columns) else np.zeros(0, dtype=np.float32)
    indptr_array = np.array(indptr, dtype=np.int64)
    # TF-IDF rows scaled to length lexical_weight, like the unit-length embedding beside them.
    for start, end in itertools.pairwise(indptr_array):
        if end > start:
            segment = values[start:end]
            values[start:end] = segment * (lexical_weight / float(np.linalg.norm(segment)))
    return _Sparse(indptr=indptr_array, columns=columns_array, values=values)


def _logits(
    vectors: np.ndarray, sparse: _Sparse, dense_weights: np.ndarray, sparse_weights: np.ndarray, bias: np.ndarray
) -> np.ndarray:
    logits = vectors @ dense_weights + bias
    starts, ends = sparse.indptr[:-1], sparse.indptr[1:]
    nonempty = ends > starts
    if nonempty.any():
        contributions = sparse_weights[sparse.columns] * sparse.values[:, None]
        # reduceat sums from each start to the next; empty rows add nothing in between.
        logits[nonempty] += np.add.reduceat(contributions, starts[nonempty], axis=0)
    return logits


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)
