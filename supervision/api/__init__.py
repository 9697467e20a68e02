"""The supervision work API (API.md "Supervision work")."""
