"""HTTP API of the recycling app."""
