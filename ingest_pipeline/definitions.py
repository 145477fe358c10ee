"""The code location: the document assets, the ingest job and the resources configured from the environment."""

import dagster as dg

from ingest_pipeline.assets.documents import document_assets
from ingest_pipeline.assets.policies import INGEST_GROUP
from ingest_pipeline.resources.wiring import build_resources
from ingest_pipeline.settings import Settings

INGEST_JOB = "ingest_documents"

ingest_job = dg.define_asset_job(
    INGEST_JOB,
    selection=dg.AssetSelection.groups(INGEST_GROUP),
    description="Parse, validate, chunk and embed the selected documents, many documents per run.",
)



def build_definitions(resources: dict) -> dg.Definitions:
    return dg.Definitions(assets=document_assets, jobs=[ingest_job], resources=resources,
                          executor=dg.in_process_executor)


defs = build_definitions(build_resources(Settings.from_env(), secrets_as_env_vars=True))
