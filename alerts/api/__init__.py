"""HTTP API of the alerts app."""
