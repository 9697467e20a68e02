"""List exports for the work ledgers (工作台账): CSV that opens cleanly in Excel (UTF-8 with BOM)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence

from django.http import StreamingHttpResponse


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence]) -> StreamingHttpResponse:
    """Stream rows as CSV; streaming keeps memory flat for ledgers of any length."""
    writer = csv.writer(_Echo())

    def lines():
        yield "\ufeff"  # Excel needs the BOM to read UTF-8 Chinese
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
