"""A feed's cursor: the position after an entry, (txid, id), opaque to the consumer and bound to its feed."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from django.utils.translation import gettext as _

from core.errors import InvalidInput

_SHAPE = re.compile(r"^(?P<feed>[a-z]{1,16}):(?P<txid>\d{1,20}):(?P<id>\d{1,19})$")
MAX_POSITION = 2**63 - 1


@dataclass(frozen=True, order=True)
class Position:
    txid: int
    id: int


START = Position(0, 0)


def cursor_encode(feed: str, position: Position) -> str:
    return base64.urlsafe_b64encode(f"{feed}:{position.txid}:{position.id}".encode()).decode().rstrip("=")


def cursor_decode(feed: str, cursor: str | None) -> Position:
    """The position a cursor of this feed stands for; none given is the start. A cursor that is not one this
    feed gave out is refused (400 `invalid_cursor`), rather than read from somewhere else."""
    if not cursor:
        return START
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    match = _SHAPE.match(text)
    if match is None or match["feed"] != feed or int(match["txid"]) > MAX_POSITION or int(match["id"]) > MAX_POSITION:
        message = _("This cursor was not given out by this feed: start without `after`, or from a cursor it gave.")
        raise InvalidInput(message, code="invalid_cursor", fields={"after": [message]})
    return Position(int(match["txid"]), int(match["id"]))
