"""Upload to registered: one `admit()` for the CLI, the API and the inbox, and the inbox folder. Core, then resource."""
