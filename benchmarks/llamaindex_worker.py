"""One LlamaIndex ingest of a folder, as a Python user would write it, measured in its own process.

SimpleDirectoryReader, then IngestionPipeline (SentenceSplitter with our chunk size and overlap,
OpenAIEmbedding pointed at the simulator) writing to PGVectorStore, with a docstore persisted
between invocations so that a re-ingest skips unchanged documents (LlamaIndex's UPSERTS strategy).
Prints one JSON object. Run by benchmarks.compare; needs the `benchmark` extra.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

STARTED = time.monotonic()  # before the imports: they are part of what a user waits for

from llama_index.core import SimpleDirectoryReader  # noqa: E402
from llama_index.core.ingestion import IngestionPipeline  # noqa: E402
from llama_index.core.node_parser import SentenceSplitter  # noqa: E402
from llama_index.core.storage.docstore import SimpleDocumentStore  # noqa: E402
from llama_index.embeddings.openai import OpenAIEmbedding  # noqa: E402
from llama_index.vector_stores.postgres import PGVectorStore  # noqa: E402

TABLE = "bench"
STATE = "pipeline_storage"


def build_pipeline(args) -> IngestionPipeline:
    # LlamaIndex's default tokenizer is cl100k_base too, as ours, from a file it ships (no download).
    splitter = SentenceSplitter(chunk_size=args.chunk_tokens, chunk_overlap=args.overlap_tokens)
    embedder = OpenAIEmbedding(model="text-embedding-3-small", api_base=args.openai_url, api_key="sk-benchmark")
    store = PGVectorStore.from_params(connection_string=args.database_url, async_connection_string=args.async_url,
                                      table_name=TABLE, embed_dim=1536)
    return IngestionPipeline(transformations=[splitter, embedder], vector_store=store, docstore=SimpleDocumentStore())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--state", type=Path, required=True, help="Folder for the persisted docstore and cache.")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--async-url", required=True)
    parser.add_argument("--openai-url", required=True)
    parser.add_argument("--chunk-tokens", type=int, default=512)
    parser.add_argument("--overlap-tokens", type=int, default=64)
    args = parser.parse_args()
    imported = time.monotonic()
    pipeline = build_pipeline(args)
    if (args.state / STATE).exists():
        pipeline.load(str(args.state / STATE))
    loaded = time.monotonic()
    documents = SimpleDirectoryReader(str(args.corpus), recursive=True, filename_as_id=True).load_data()
    read = time.monotonic()
    nodes = pipeline.run(documents=documents)
    ran = time.monotonic()
    pipeline.persist(str(args.state / STATE))
    done = time.monotonic()
    print(json.dumps({
        "seconds": done - STARTED,
        "documents": len({doc.metadata.get("file_path") for doc in documents}),
        "chunks": len(nodes),
        "stages": {"imports": imported - STARTED, "set-up": loaded - imported, "read files": read - loaded,
                   "split, embed, store": ran - read, "persist docstore": done - ran},
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main()
