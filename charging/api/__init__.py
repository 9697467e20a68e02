"""The charging operators' API (API.md "More of the chain": swap stations and swap events)."""
