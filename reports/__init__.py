"""Dashboards, risk grading (三分), monthly reports, inspection tasks, ledgers and exports."""
