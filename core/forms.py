"""What the platform's forms share."""

from __future__ import annotations

from django import forms

from core.errors import DomainError


def domain_error_place(form: forms.Form, error: DomainError, field_map: dict[str, str] | None = None) -> None:
    """A service's refusal beside the fields it is about (its `fields`, named as the form names them through
    `field_map`), else above the form; its messages are already in words."""
    placed = False
    for key, details in (error.fields or {}).items():
        name = (field_map or {}).get(key, key)
        if name in form.fields:
            texts = [str(d) for d in (details if isinstance(details, list | tuple) else [details])]
            form.add_error(name, texts or [error.message])
            placed = True
    if not placed:
        form.add_error(None, error.message)
