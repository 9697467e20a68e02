"""Shared kernel: regions, organizations, users and roles, jurisdiction scoping, audit log, idempotency."""
