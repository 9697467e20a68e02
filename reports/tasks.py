"""Background work of the reports: the nightly repair of the rollups, the risk grading, the monthly reports."""
