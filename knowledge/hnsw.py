"""pgvector's `hnsw.ef_search` for the knowledge base's nearest-neighbour queries, as a session setting.

An HNSW index scan returns at most ef_search rows (pgvector's default is 40), so retrieval needs it a
little above VECTOR_CANDIDATES. Rows the scan returns that the query then drops (an unpublished
article's chunks, or dead rows a re-ingestion left until VACUUM) would come out of those ef_search, so
the scan is iterative (pgvector >= 0.8): it walks on until the LIMIT is filled (up to pgvector's
hnsw.max_scan_tuples). "relaxed_order" because the search re-ranks its candidates anyway.

Set on the database session when Django opens the connection (the connection_created signal,
connected in knowledge/apps.py: it fires again on every reconnect, be it after CONN_MAX_AGE or a
dropped connection), a search costs no round trip for it; `ef_search_ensure`
sets it again only if the wanted value changed since (a test's settings), for the transaction if
the search runs in one.
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

from knowledge import conf

# Fetching VECTOR_CANDIDATES rows; a little more, so the scan is not cut off exactly at the limit.
EF_SEARCH_MARGIN = 20


def ef_search_wanted() -> int:
    return conf.get("VECTOR_CANDIDATES") + EF_SEARCH_MARGIN


def ef_search_ensure(connection: BaseDatabaseWrapper) -> None:
    """Set hnsw.ef_search on this connection's session, unless it is set already."""
    wanted = ef_search_wanted()
    if getattr(connection, "hnsw_ef_search", None) == wanted:
        return
    # In a transaction, for that transaction only: a session setting changed there would be undone by
    # a rollback or kept by a commit, and which of them is not known here.
    in_transaction = connection.in_atomic_block or not connection.get_autocommit()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('hnsw.ef_search', %s, %s), set_config('hnsw.iterative_scan', 'relaxed_order', %s)",
            [str(wanted), in_transaction, in_transaction],
        )
    if not in_transaction:
        connection.hnsw_ef_search = wanted


def ef_search_on_connect(sender, *, connection: BaseDatabaseWrapper, **kwargs) -> None:
    """connection_created receiver: a new session starts with pgvector's default."""
    if connection.vendor != "postgresql":
        return
    connection.hnsw_ef_search = None
    ef_search_ensure(connection)
