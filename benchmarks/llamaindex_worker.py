"""One LlamaIndex ingest of a folder, written as LlamaIndex's documentation shows it, in a process of its own.

SimpleDirectoryReader, then `IngestionPipeline(transformations=[splitter, embedder], vector_store=store)`:
SentenceSplitter with our chunk size and overlap, OpenAIEmbedding pointed at the simulator, PGVectorStore
with its defaults (no docstore, so nothing is skipped on a second run; no ANN index: PGVectorStore builds
HNSW only when given `hnsw_kwargs`). Prints one JSON object. Run by benchmarks.compare; needs the
`benchmark` extra.
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
from llama_index.embeddings.openai import OpenAIEmbedding  # noqa: E402
from llama_index.vector_stores.postgres import PGVectorStore  # noqa: E402

TABLE = "bench"


def build_pipeline(args) -> IngestionPipeline:
    # LlamaIndex's default tokenizer is cl100k_base too, as ours, from a file it ships (no download).
    splitter = SentenceSplitter(chunk_size=args.chunk_tokens, chunk_overlap=args.overlap_tokens)
    embedder = OpenAIEmbedding(model=args.model, api_base=args.openai_url, api_key="sk-benchmark")
    store = PGVectorStore.from_params(connection_string=args.database_url, async_connection_string=args.async_url,
                                      table_name=TABLE, embed_dim=args.dimensions)
    return IngestionPipeline(transformations=[splitter, embedder], vector_store=store)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--async-url", required=True)
    parser.add_argument("--openai-url", required=True)
    # Ours, passed by benchmarks.systems (this process imports nothing of ours: its start-up is measured).
    parser.add_argument("--chunk-tokens", type=int, required=True)
    parser.add_argument("--overlap-tokens", type=int, required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--dimensions", type=int, required=True)
    args = parser.parse_args()
    imported = time.monotonic()
    pipeline = build_pipeline(args)
    built = time.monotonic()
    documents = SimpleDirectoryReader(str(args.corpus), recursive=True).load_data()
    read = time.monotonic()
    nodes = pipeline.run(documents=documents)
    done = time.monotonic()
    print(json.dumps({
        "seconds": done - STARTED,
        "documents": len({doc.metadata.get("file_path") for doc in documents}),
        "chunks": len(nodes),
        "stages": {"imports": imported - STARTED, "set-up": built - imported, "read files": read - built,
                   "split, embed, store": done - read},
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main()
