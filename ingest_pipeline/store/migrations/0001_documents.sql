-- Documents, their parsed pages, chunks and embeddings (pgvector).
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE documents (
    id            text PRIMARY KEY,
    external_id   text UNIQUE,
    source        text NOT NULL,
    file_name     text NOT NULL,
    sha256        text NOT NULL,
    size_bytes    bigint NOT NULL,
    media_type    text,
    version       integer NOT NULL DEFAULT 1,
    status        text NOT NULL,
    failed_stage  text,
    reason        text,
    attempts      integer NOT NULL DEFAULT 0,
    pages         integer,
    characters    bigint,
    text_hash     text,
    duplicate_of  text REFERENCES documents (id) ON DELETE SET NULL,
    chunk_count   integer NOT NULL DEFAULT 0,
    token_count   bigint NOT NULL DEFAULT 0,
    parse_key     text,
    validate_key  text,
    chunk_key     text,
    metadata      jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX documents_status ON documents (status);
CREATE INDEX documents_sha256 ON documents (sha256);
CREATE INDEX documents_text_hash ON documents (text_hash);

-- Parsed text per page; clean_text is filled by validation.
CREATE TABLE document_pages (
    document_id  text NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    page_number  integer NOT NULL,
    parsed_text  text NOT NULL,
    clean_text   text,
    PRIMARY KEY (document_id, page_number)
);

-- Chunks waiting for their embeddings; published into `chunks` together with them.
CREATE TABLE staged_chunks (
    id            text NOT NULL,
    document_id   text NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    ordinal       integer NOT NULL,
    text          text NOT NULL,
    text_hash     text NOT NULL,
    token_count   integer NOT NULL,
    page_start    integer NOT NULL,
    page_end      integer NOT NULL,
    heading_path  text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (document_id, ordinal)
);

-- The searchable chunks: only ever replaced whole, per document, in one transaction.
CREATE TABLE chunks (
    id            text PRIMARY KEY,
    document_id   text NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    ordinal       integer NOT NULL,
    text          text NOT NULL,
    text_hash     text NOT NULL,
    token_count   integer NOT NULL,
    page_start    integer NOT NULL,
    page_end      integer NOT NULL,
    heading_path  text[] NOT NULL DEFAULT '{}',
    UNIQUE (document_id, ordinal)
);
CREATE INDEX chunks_text_hash ON chunks (text_hash);

-- One row per (embedder, model, dimensions): model versions live side by side.
CREATE TABLE embedding_sets (
    id          serial PRIMARY KEY,
    embedder    text NOT NULL,
    model       text NOT NULL,
    dimensions  integer NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (embedder, model, dimensions)
);

-- Content-addressed: the same normalised text is embedded once per set, ever.
CREATE TABLE embedding_cache (
    set_id     integer NOT NULL REFERENCES embedding_sets (id) ON DELETE CASCADE,
    text_hash  text NOT NULL,
    embedding  vector NOT NULL,
    PRIMARY KEY (set_id, text_hash)
);

-- Vectors of the searchable chunks; an HNSW index per set is created with the set
-- (a partial expression index, since one column holds several dimensions).
CREATE TABLE chunk_embeddings (
    chunk_id   text NOT NULL REFERENCES chunks (id) ON DELETE CASCADE,
    set_id     integer NOT NULL REFERENCES embedding_sets (id) ON DELETE CASCADE,
    embedding  vector NOT NULL,
    PRIMARY KEY (chunk_id, set_id)
);
