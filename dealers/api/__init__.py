"""HTTP API of the dealers app."""
