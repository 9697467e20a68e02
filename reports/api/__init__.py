"""The reports and risk-grading API (API.md "Reports and risk grading")."""
