"""Vehicles, batteries, owners, fitment, registration, the lifecycle ledger and the public scan page."""
