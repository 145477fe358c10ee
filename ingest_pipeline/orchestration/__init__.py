"""Everything that imports Dagster: partitions and policies, the assets, checks, metadata, sensors, the code
location, launching runs, the stage runner and its workers, and the wiring of resources from settings."""
