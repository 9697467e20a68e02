"""HTTP API of the catalog app."""
