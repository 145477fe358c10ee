-- Keep vectors of up to ~2,000 dimensions (8 kB) in the table row instead of TOAST. By default Postgres
-- moves anything over 2 kB out of line: a 1,536-dimension vector became one row plus four TOAST rows
-- and their index entries, read back piece by piece by every exact scan and index build. Inline, the
-- heap also shows its real size, so Postgres gives an HNSW build on a large set parallel workers.
-- Wider vectors (3,072 dimensions) still go to TOAST. Applies to rows written from now on.
ALTER TABLE chunk_embeddings SET (toast_tuple_target = 8160);
ALTER TABLE embedding_cache SET (toast_tuple_target = 8160);
