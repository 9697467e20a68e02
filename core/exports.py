"""List exports for the work ledgers (工作台账): CSV that opens cleanly in Excel (UTF-8 with BOM), and XLSX."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence

from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from core.replica import keep_scope


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence]) -> StreamingHttpResponse:
    """Stream rows as CSV; streaming keeps memory flat for ledgers of any length."""
    writer = csv.writer(_Echo())
    rows = keep_scope(rows)  # read after the view returned: still in its replica scope, if any (core.replica)

    def lines():
        yield "\ufeff"  # Excel needs the BOM to read UTF-8 Chinese
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _cell(sheet, value):
    if isinstance(value, dt.datetime):
        # Excel has no time zones: write the local wall-clock time, as the pages show it.
        if timezone.is_aware(value):
            value = timezone.localtime(value).replace(tzinfo=None)
        cell = WriteOnlyCell(sheet, value=value.replace(second=0, microsecond=0))
        cell.number_format = "yyyy-mm-dd hh:mm"
        return cell
    if isinstance(value, dt.date):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "yyyy-mm-dd"
        return cell
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"  # text typed at the counter is never a formula
    return cell


def xlsx_response(filename: str, header: Sequence[str], rows: Iterable[Sequence], *, title: str = "") -> HttpResponse:
    """One sheet: the header row, then the rows; dates as real Excel dates."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=(title or "Sheet1")[:31])
    sheet.append([str(h) for h in header])
    for row in rows:
        sheet.append([_cell(sheet, value) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
