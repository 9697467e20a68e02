"""HTTP API of the vehicles app."""
