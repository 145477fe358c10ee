"""Finding chunks: the query over one embedding set, and the one result type the CLI and the API show."""
