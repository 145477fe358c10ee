"""All SQL: the catalog of documents, pages, chunks and embeddings, the other tables, the content store, the
embedded server, the engine and migrations. Imports only `domain`."""
