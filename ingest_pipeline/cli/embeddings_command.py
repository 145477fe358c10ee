"""`ingest-pipeline embeddings list | fill | switch SET | drop SET`: the embedding sets and their coverage, filling
the configured set after a model change, and the manual cases (switching search, dropping a set)."""

from __future__ import annotations

import sys

from ingest_pipeline.cli.index_command import keep_index_up
from ingest_pipeline.cli.output import print_json_lines, print_table
from ingest_pipeline.service.application import Application
from ingest_pipeline.store import embedding_sets, embeddings
from ingest_pipeline.store.embedding_sets import Coverage, SetRefused

_SET_HELP = "The set's id or name (embedder/model/dimensions), as `embeddings list` shows them."


def add_to(commands) -> None:
    parser = commands.add_parser("embeddings", help="Embedding sets: list them, fill the configured one, switch "
                                                    "search to one, drop one.")
    actions = parser.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="Every set: model, dimensions, coverage of the embedded documents, "
                                              "whether search answers from it, index size.")
    listing.add_argument("--json", action="store_true", help="One JSON object per set.")
    listing.set_defaults(handler=list_sets)
    fill = actions.add_parser("fill", help="Embed every embedded document's chunks into the configured set "
                                           "(INGEST_EMBEDDER, _MODEL, _DIMENSIONS); search switches to it once it "
                                           "covers them all, and answers from the active set until then.")
    fill.set_defaults(handler=fill_set)
    switch = actions.add_parser("switch", help="Make search answer from SET now (refused while SET lacks vectors "
                                               "for some embedded document, unless --force).")
    switch.add_argument("set", help=_SET_HELP)
    switch.add_argument("--force", action="store_true", help="Switch even if SET does not cover every document.")
    switch.set_defaults(handler=switch_set)
    drop = actions.add_parser("drop", help="Delete SET: its vectors, cached vectors and HNSW index (not the "
                                           "active set).")
    drop.add_argument("set", help=_SET_HELP)
    drop.set_defaults(handler=drop_set)


def list_sets(args) -> int:
    app = Application.from_env()
    configured = _configured_set_id(app)
    with app.engine.connect() as conn:
        found = embedding_sets.coverage(conn)
    rows = [_row(c, configured) for c in found]
    if args.json:
        print_json_lines(rows)
    elif rows:
        print_table([{**row, "active": "yes" if row["active"] else "", "configured": "yes" if row["configured"] else "",
                      "documents": f"{row['documents']}/{row['of_documents']}",
                      "chunks": f"{row['chunks']}/{row['of_chunks']}", "index_mb": row["index_mb"]} for row in rows],
                    ("set", "name", "active", "configured", "documents", "chunks", "index_mb"))
    else:
        print("no embedding sets yet: ingest some documents first", file=sys.stderr)
    return 0


def fill_set(args) -> int:
    """Runs the `embeddings` asset, in process, over the embedded documents the configured set lacks."""
    from ingest_pipeline.orchestration.runs import launch_ingest

    app = Application.from_env()
    configured = _configured_set_id(app)
    with app.engine.connect() as conn:
        lacking = embedding_sets.documents_lacking(conn, configured)
    if lacking:
        print(f"embedding {len(lacking)} document(s) into {_configured_name(app)}…", file=sys.stderr)
        for result in launch_ingest(app.settings.dagster_home, lacking, app.resources, assets=["embeddings"]):
            if not result.success:
                print(f"run {result.run_id} failed: see the run in the Dagster UI", file=sys.stderr)
        keep_index_up(app)
    configured = _configured_set_id(app)
    with app.engine.connect() as conn:
        found = embedding_sets.coverage(conn, [configured]) if configured is not None else []
    if not found:
        print("nothing is embedded yet: there is nothing to fill", file=sys.stderr)
        return 0
    (done,) = found
    print(f"set {done.set.id} ({done.set.name}) covers {done.documents} of {done.of_documents} embedded documents"
          + ("; search answers from it" if done.set.active else "; search still answers from the active set"))
    return 0 if done.complete else 1


def switch_set(args) -> int:
    app = Application.from_env()
    try:
        with app.engine.begin() as conn:
            chosen, replaced = embedding_sets.switch(conn, args.set, force=args.force)
    except SetRefused as refused:
        print(f"error: {refused}", file=sys.stderr)
        return 1
    print(f"search answers from set {chosen.id} ({chosen.name})"
          + (f", no longer from set {replaced.id} ({replaced.name})" if replaced and replaced.id != chosen.id else ""))
    configured = _configured_set_id(app)
    if configured is not None and configured != chosen.id:
        print(f"note: the configured set is {_configured_name(app)}: the embeddings stage keeps filling it and "
              f"switches search to it once it is complete; configure {chosen.name} to stay on this one",
              file=sys.stderr)
    return 0


def drop_set(args) -> int:
    app = Application.from_env()
    try:
        with app.engine.begin() as conn:
            dropped, vectors, cached = embedding_sets.drop(conn, args.set)
    except SetRefused as refused:
        print(f"error: {refused}", file=sys.stderr)
        return 1
    print(f"dropped set {dropped.id} ({dropped.name}): {vectors} vectors, {cached} cached vectors and its index")
    return 0


def _row(found: Coverage, configured: int | None) -> dict:
    size = round(found.index_bytes / 2**20, 2) if found.index_bytes is not None else None
    return {"set": found.set.id, "name": found.set.name, "embedder": found.set.embedder, "model": found.set.model,
            "dimensions": found.set.dimensions, "active": found.set.active, "configured": found.set.id == configured,
            "documents": found.documents, "of_documents": found.of_documents, "chunks": found.chunks,
            "of_chunks": found.of_chunks, "complete": found.complete, "index_mb": size}


def _configured_set_id(app: Application) -> int | None:
    space = app.embedder.space
    with app.engine.connect() as conn:
        return embeddings.find_set(conn, space.embedder, space.model, space.dimensions)


def _configured_name(app: Application) -> str:
    space = app.embedder.space
    return f"{space.embedder}/{space.model}/{space.dimensions}"
