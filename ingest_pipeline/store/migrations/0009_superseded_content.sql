-- The bytes of versions a document has moved past. They stay while the new version is on its way
-- (its old chunks are still what search shows) and are removed once it is published, unless a
-- document or another superseded version still holds the same bytes.
CREATE TABLE superseded_content (
    document_id   text NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    sha256        text NOT NULL,
    superseded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (document_id, sha256)
);
CREATE INDEX superseded_content_sha256 ON superseded_content (sha256);
