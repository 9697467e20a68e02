"""HTTP API of the repairs app."""
