"""Template filters of the inspection and enforcement pages: a figure's name, and a sum of money as ¥1,234.00."""

from decimal import Decimal, InvalidOperation

from django import template

from supervision.enforcement import FIGURES

register = template.Library()
_LABELS = dict(FIGURES)


@register.filter
def figure_label(code: str) -> str:
    """An enforcement figure's name in the page's language (supervision.enforcement.FIGURES)."""
    return str(_LABELS.get(code, code))


@register.filter
def yuan(value) -> str:
    """¥1,234.00 in every language (UX.md), whatever the locale's grouping; blank for no amount."""
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return f"¥{amount:,.2f}"
