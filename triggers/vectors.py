"""numpy on first use, and a memo of embeddings this process has already computed. Pure: no Django.

The web process, every worker and the pure engine import the triggers app on start-up; numpy
loads only when a rule first compares vectors (tests/triggers/test_imports.py and
tests/triggers/test_engine.py::test_the_engine_imports_no_django_and_no_model check it).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np


def numpy() -> ModuleType:
    """The numpy module, imported the first time a vector is handled (then it is in sys.modules)."""
    import numpy  # noqa: PLC0415 - heavy, loaded on first use; test_imports.py proves the cheap import

    return numpy


class EmbeddingMemo:
    """Embeddings of the texts embedded most recently, so each is computed once per process.

    "Rephrasing" compares a message with the visitor's previous few, which this process has
    usually just embedded; recompiling the rules after one edit re-embeds only the new phrases.
    """

    def __init__(self, embed: Callable[[list[str]], np.ndarray], *, size: int) -> None:
        self._embed = embed
        self._size = size
        self._lock = threading.Lock()
        self._vectors: OrderedDict[str, Any] = OrderedDict()

    def __call__(self, texts: list[str]) -> np.ndarray:
        """One row per text, in order, like `embed` itself."""
        if not texts:
            return self._embed([])
        with self._lock:
            found = {text: self._vectors[text] for text in texts if text in self._vectors}
            for text in found:
                self._vectors.move_to_end(text)
        missing = [text for text in dict.fromkeys(texts) if text not in found]
        if missing:  # outside the lock: the model is the slow part, and other threads may read meanwhile
            fresh = dict(zip(missing, self._embed(missing), strict=True))
            found.update(fresh)
            with self._lock:
                self._vectors.update(fresh)
                while len(self._vectors) > self._size:
                    self._vectors.popitem(last=False)
        return numpy().stack([found[text] for text in texts])
