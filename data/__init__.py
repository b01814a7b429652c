"""The data layer: curated files, their schema, the DuckDB store and its one engine."""
