"""corpus_report: one table of the whole corpus by status — documents, bytes, pages, chunks, tokens and embedding cost."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Mapping

import dagster as dg

from ingest_pipeline.domain.statuses import DocumentStatus
from ingest_pipeline.embed.resource import EmbedderResource
from ingest_pipeline.store import documents
from ingest_pipeline.store.documents import COUNTED
from ingest_pipeline.store.resource import PostgresResource

if TYPE_CHECKING:
    import pandas as pd

# Its own group: the ingest job selects the `ingest` group and must stay partitioned by document.
REPORTING_GROUP = "reporting"
TOTAL = "total"
COST = "estimated_embedding_cost_usd"
COLUMNS = dg.TableSchema(columns=[
    dg.TableColumn("status", "string", description="Document status; the last row adds them all up."),
    dg.TableColumn("documents", "int"),
    dg.TableColumn("bytes", "int", description="Size of the stored files."),
    dg.TableColumn("pages", "int", description="Pages parsed."),
    dg.TableColumn("chunks", "int", description="Chunks cut (searchable once embedded)."),
    dg.TableColumn("tokens", "int", description="cl100k_base tokens in those chunks."),
    dg.TableColumn(COST, "float", description="What embedding those tokens costs with the configured embedder."),
])


def corpus_frame(totals: Mapping[str, Mapping[str, int]], cost_usd: Callable[[int], float]) -> pd.DataFrame:
    """A row per status, in pipeline order (zeros included, so the table keeps its shape), then the total."""
    import pandas as pd  # here, not at the top: every `ingest-pipeline` command loads this module

    rows = [{"status": str(status), **{name: totals.get(status, {}).get(name, 0) for name in COUNTED}}
            for status in DocumentStatus]
    rows.append({"status": TOTAL, **{name: sum(row[name] for row in rows) for name in COUNTED}})
    frame = pd.DataFrame(rows, columns=["status", *COUNTED])
    frame[COST] = [round(cost_usd(int(tokens)), 6) for tokens in frame["tokens"]]
    return frame


@dg.asset(group_name=REPORTING_GROUP, kinds={"pandas", "postgres"}, deps=["embeddings"],
          description="The corpus by document status: documents, bytes, pages, chunks, tokens and the estimated "
                      "embedding cost. Not partitioned: it reads every document; materialize it whenever you like.")
def corpus_report(database: PostgresResource, embedder: EmbedderResource) -> dg.Output:
    with database.engine.connect() as conn:
        frame = corpus_frame(documents.status_totals(conn), embedder.estimated_cost_usd)
    total = frame.iloc[-1]
    return dg.Output(frame, metadata={
        "report": dg.MetadataValue.md(frame.to_markdown(index=False)),
        "dagster/column_schema": COLUMNS,
        "dagster/row_count": dg.MetadataValue.int(len(frame)),
        "documents": dg.MetadataValue.int(int(total["documents"])),
        "tokens": dg.MetadataValue.int(int(total["tokens"])),
        COST: dg.MetadataValue.float(float(total[COST])),
    })
