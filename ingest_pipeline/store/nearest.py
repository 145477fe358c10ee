"""The chunks nearest to a query vector in one embedding set: the set's HNSW index over its indexed vectors and
an exact scan over those not indexed yet, merged and re-scored at full precision; optionally filtered, with
pgvector's iterative index scans and an exact scan behind them, so a filter still gets k hits when k exist."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from sqlalchemy import Connection, Row, text

from ingest_pipeline.store.embeddings import indexed_expression, vector_literal

# pgvector's upper bound for hnsw.ef_search.
MAX_EF_SEARCH = 1000
# The smallest candidate list an HNSW search keeps. Hashing-embedder vectors of random-word texts, queried
# with other random-word texts (halfvec index, benchmarks/vector_storage.py) gave recall@10 0.71 at
# pgvector's default of 40, 0.87 at 100, 0.94 at 200 and 0.98 at 400 at 10k chunks; at 100k, 0.78 at 400.
MIN_EF_SEARCH = 400
# How a filtered index scan goes on past its first ef_search rows: in batches, slightly out of order (the
# final hits are sorted again by exact distance), which finds more matching rows than strict_order.
ITERATIVE_SCAN = "relaxed_order"
# Tuples a filtered (iterative) index scan visits before it gives up; an exact scan over the rows the
# filter matches answers then.
MAX_SCAN_TUPLES = 20_000


@dataclass(frozen=True)
class Filters:
    """Which chunks a search may return: of these documents, external ids, current versions, and whose
    document metadata contains `metadata` (jsonb @>). Empty means no restriction."""

    document_ids: Sequence[str] = ()
    external_ids: Sequence[str] = ()
    versions: Sequence[int] = ()
    metadata: Mapping | None = field(default=None)

    def __post_init__(self):
        if self.metadata is not None and not isinstance(self.metadata, Mapping):
            raise ValueError(f"a metadata filter must be a JSON object, not {type(self.metadata).__name__}")
        for name in ("document_ids", "external_ids", "versions"):
            if isinstance(getattr(self, name), (str, bytes)):
                raise ValueError(f"filter {name} must be a list, not one string")
        if any(isinstance(v, bool) or not isinstance(v, int) for v in self.versions):
            raise ValueError(f"filter versions must be whole numbers: {list(self.versions)!r}")

    def __bool__(self) -> bool:
        return bool(self.document_ids or self.external_ids or self.versions or self.metadata is not None)

    def where(self) -> tuple[str, dict]:
        """SQL conditions on chunks `c` and documents `d`, and their parameters."""
        clauses, params = [], {}
        for column, name in (("c.document_id", "document_ids"), ("d.external_id", "external_ids"),
                             ("d.version", "versions")):
            if getattr(self, name):
                clauses.append(f"{column} = ANY(:{name})")
                params[name] = list(getattr(self, name))
        if self.metadata is not None:
            clauses.append("d.metadata @> CAST(:metadata AS jsonb)")
            params["metadata"] = json.dumps(dict(self.metadata))
        return "".join(f" AND {clause}" for clause in clauses), params


def nearest_rows(conn: Connection, set_id: int, dimensions: int, query: Sequence[float], k: int,
                 filters: Filters = Filters()) -> list[Row]:
    """(document_id, source, page_start, page_end, heading_path, cosine similarity, text), nearest first."""
    conn.execute(text(f"SET LOCAL hnsw.ef_search = {min(max(MIN_EF_SEARCH, int(k)), MAX_EF_SEARCH)}"))
    if filters:  # keep scanning the index until k rows pass the filter, not just the first ef_search
        conn.execute(text(f"SET LOCAL hnsw.iterative_scan = {ITERATIVE_SCAN}"))
        conn.execute(text(f"SET LOCAL hnsw.max_scan_tuples = {MAX_SCAN_TUPLES}"))
    rows = _query(conn, set_id, dimensions, query, k, filters, use_index=True)
    if filters and len(rows) < k:  # the index scan gave up before k matched: ask every matching row
        rows = _query(conn, set_id, dimensions, query, k, filters, use_index=False)
    return rows


def _query(conn: Connection, set_id: int, dimensions: int, query: Sequence[float], k: int,
           filters: Filters, use_index: bool) -> list[Row]:
    # Literal ints (never user text) so the planner can match the set's partial HNSW index.
    exact = f"e.embedding::vector({int(dimensions)}) <=> CAST(:query AS vector({int(dimensions)}))"
    approximate = (f"{indexed_expression('e.embedding', dimensions)} <=> "
                   f"{indexed_expression('CAST(:query AS vector)', dimensions)}") if use_index else exact
    joins = "JOIN chunks c ON c.id = e.chunk_id JOIN documents d ON d.id = c.document_id" if filters else ""
    conditions, params = filters.where()
    branch = f"SELECT e.chunk_id, e.embedding FROM chunk_embeddings e {joins} WHERE e.set_id = {int(set_id)} "
    return list(conn.execute(text(
        f"WITH candidates AS MATERIALIZED ("
        f"({branch} AND e.indexed {conditions} ORDER BY {approximate} LIMIT :k) UNION ALL "
        f"({branch} AND NOT e.indexed {conditions} ORDER BY {exact} LIMIT :k)) "
        f"SELECT c.document_id, d.source, c.page_start, c.page_end, c.heading_path, 1 - ({exact}), c.text "
        "FROM candidates e JOIN chunks c ON c.id = e.chunk_id JOIN documents d ON d.id = c.document_id "
        f"ORDER BY {exact} LIMIT :k"
    ), {"query": vector_literal(query), "k": k, **params}))
