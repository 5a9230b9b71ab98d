"""The embedding memo the rule cache and the context builder share (real model, nlp.embeddings)."""

import numpy as np

from nlp.embeddings import embed
from triggers.vectors import EmbeddingMemo


def test_rows_come_back_in_order_and_each_text_is_embedded_once():
    seen: list[list[str]] = []

    def counting_embed(texts):
        seen.append(list(texts))
        return embed(texts)

    memo = EmbeddingMemo(counting_embed, size=10)
    first = memo(["where is my parcel", "refund please", "where is my parcel"])
    again = memo(["refund please", "talk to a human"])
    assert seen == [["where is my parcel", "refund please"], ["talk to a human"]]
    np.testing.assert_allclose(first, embed(["where is my parcel", "refund please", "where is my parcel"]), atol=1e-6)
    np.testing.assert_allclose(again, embed(["refund please", "talk to a human"]), atol=1e-6)
    assert memo([]).shape == (0, 384)


def test_a_text_evicted_while_another_is_embedded_is_still_returned():
    # Another thread filling the memo while this call embeds its missing text used to evict the
    # text this call had found cached, and the lookup after embedding raised KeyError.
    def embed_while_others_fill_the_memo(texts):
        if texts == ["a new question"]:
            memo(["someone else", "and another"])
        return embed(texts)

    memo = EmbeddingMemo(embed_while_others_fill_the_memo, size=2)
    memo(["a cached question"])
    rows = memo(["a cached question", "a new question"])
    np.testing.assert_allclose(rows, embed(["a cached question", "a new question"]), atol=1e-6)
