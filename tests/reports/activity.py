"""The month of work the reports' tests read (re-exported for the browser tests, which see no reports conftest)."""

from tests.reports.conftest import build_activity

__all__ = ["build_activity"]
