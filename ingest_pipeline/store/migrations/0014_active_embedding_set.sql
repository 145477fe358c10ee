-- The embedding set search answers from, recorded in the database: configuring another model (or size) makes a
-- new set that fills in the background while search stays on this one, which changes only when the new set
-- covers every embedded document (or by `ingest-pipeline embeddings switch`). At most one set is active.
ALTER TABLE embedding_sets ADD COLUMN active boolean NOT NULL DEFAULT false;
CREATE UNIQUE INDEX embedding_sets_one_active ON embedding_sets (active) WHERE active;
-- A store from before this migration searched its configured set, which cannot be read here: the set holding
-- the most vectors (the newest of equals) is the one that answered; `embeddings switch` picks another.
UPDATE embedding_sets SET active = true WHERE id = (
    SELECT s.id FROM embedding_sets s LEFT JOIN chunk_embeddings e ON e.set_id = s.id
    GROUP BY s.id ORDER BY count(e.chunk_id) DESC, s.id DESC LIMIT 1);
