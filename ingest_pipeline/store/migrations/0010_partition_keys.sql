-- Each document's Dagster partition key, stored once and never changed (a new version keeps it).
-- Documents registered from now on get a readable key (a slug of their name and the start of their id,
-- see domain/ids.py). Documents registered before keep their id as their key: their partitions,
-- materializations and run keys in existing Dagster instances stay attached to them.
ALTER TABLE documents ADD COLUMN partition_key text;
UPDATE documents SET partition_key = id;
ALTER TABLE documents ALTER COLUMN partition_key SET NOT NULL;
CREATE UNIQUE INDEX documents_partition_key ON documents (partition_key);
