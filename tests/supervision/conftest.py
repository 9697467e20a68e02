"""Fixtures of the supervision tests: the town of the inspection tests (tests/supervision/inspection_world.py)."""

from tests.supervision.inspection_world import eager_in_test_transaction, town  # noqa: F401
