"""Production uploads (出厂登记 by file): a maker's CSV or XLSX of produced units, registered in the background.

The page stores the file and queues a task (after commit, with the upload's id). The task reads the rows, then
hands them to the bulk services of vehicles/production.py in one transaction: the same checks, the same COPY
path and the same ledger events as the API, for up to MAX_ROWS rows at once. All or nothing: one bad row and
nothing is registered; the bad rows are kept (the first BAD_ROWS_KEPT) with their file row numbers.

Progress is written while the file is read, outside any transaction, so the page sees it. Checking and writing
then happen in one transaction, which nobody sees until it commits together with the upload's final status.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import re
from collections.abc import Iterator

from celery import current_app
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import load_workbook

from catalog.models import BatteryModel, VehicleModel
from core.errors import DomainError, InvalidInput, PermissionRefused
from core.models import OrganizationKind, User
from vehicles import production
from vehicles.models import ProductionUpload

log = logging.getLogger(__name__)

Kind = ProductionUpload.Kind
Status = ProductionUpload.Status

MAX_ROWS = 100_000
MAX_LINES = 2 * MAX_ROWS  # rows of the sheet read at most, blank ones included
MAX_FILE_BYTES = 20 * 1024 * 1024  # 100,000 rows of CSV are about 4 MB, of XLSX under 2 MB
EXTENSIONS = ("csv", "xlsx")
BAD_ROWS_KEPT = 1_000  # enough to fix a file by; the count says how many there are in all
MAX_COLUMNS = 30  # columns of a sheet looked at for the header
READ_SHARE = 60  # per cent of the progress bar for reading; checking and writing fill the rest when committed
PROGRESS_EVERY = 5_000  # rows between two progress writes
STALE_AFTER = dt.timedelta(minutes=10)  # a reading or writing upload untouched this long lost its worker
REQUEUE_AFTER = dt.timedelta(minutes=1)  # a waiting upload no worker took this long is queued again
TASK = "vehicles.tasks.process_production_upload"

# What a maker of each kind uploads, and the model it names.
KIND_OF_MAKER = {OrganizationKind.MANUFACTURER: Kind.VEHICLE, OrganizationKind.BATTERY_MAKER: Kind.BATTERY}
MODEL_OF_KIND = {Kind.VEHICLE: VehicleModel, Kind.BATTERY: BatteryModel}
COLUMNS = {Kind.VEHICLE: ("frame_no", "motor_no", "produced_on"), Kind.BATTERY: ("serial", "produced_on")}
# The headings a column may have: the API's field name, the English and the Chinese words a spreadsheet uses.
HEADINGS = {
    "frame_no": ("frame_no", "frame number", "frame no", "车架号", "车架编号", "整车编码"),
    "motor_no": ("motor_no", "motor number", "motor no", "电机号", "电机编号", "电机编码"),
    "produced_on": ("produced_on", "production date", "produced on", "生产日期", "出厂日期"),
    "serial": ("serial", "battery code", "battery serial", "电池编码", "电池编号", "电池序列号"),
}
_HEADING_KEY = {heading: column for column, headings in HEADINGS.items() for heading in headings}
# 2026/3/1, 2026.3.1, 2026-3-1, 2026年3月1日: how spreadsheets and people write a day; the service takes ISO.
_LOOSE_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
CELL_KEPT = 64  # characters of a bad row's cell kept for the page


class FileProblem(Exception):
    """The file as a whole cannot be registered: `code` (worded by the page) and its details."""

    def __init__(self, code: str, **detail):
        super().__init__(code)
        self.code = code
        self.detail = detail


# Filing --------------------------------------------------------------------------------------------------------


def upload_kind_for(actor: User) -> str:
    """What this user's organization uploads: vehicles for a manufacturer, batteries for a battery maker."""
    org = getattr(actor, "organization", None)
    if org is None or not org.is_active or org.kind not in KIND_OF_MAKER:
        raise PermissionRefused(_("Only vehicle manufacturers and battery makers register production."))
    return KIND_OF_MAKER[org.kind]


@transaction.atomic
def production_upload_create(*, actor: User, model_code: str, file) -> ProductionUpload:
    """Store a maker's file of produced units of one of its models and queue its registration."""
    kind = upload_kind_for(actor)
    org = actor.organization
    if not MODEL_OF_KIND[kind].objects.filter(maker=org, code=model_code).exists():
        message = _("Your organization has filed no model with this code.")
        raise InvalidInput(message, code="unknown_model", fields={"model": [message]})
    name = (getattr(file, "name", "") or "").replace("\\", "/").rsplit("/", 1)[-1]
    if "." not in name or name.rsplit(".", 1)[-1].lower() not in EXTENSIONS:
        message = _("Upload a CSV or XLSX file.")
        raise InvalidInput(message, code="unsupported_file", fields={"file": [message]})
    if file.size > MAX_FILE_BYTES:
        message = _("The file is larger than %(mb)d MB; split it.") % {"mb": MAX_FILE_BYTES // (1024 * 1024)}
        raise InvalidInput(message, code="file_too_large", fields={"file": [message]})
    if file.size == 0:
        message = _("The file is empty.")
        raise InvalidInput(message, code="empty_file", fields={"file": [message]})
    upload = ProductionUpload(
        organization=org, uploaded_by=actor, kind=kind, model_code=model_code, file_name=name[:200]
    )
    upload.file.save(name, file, save=False)
    upload.save()
    upload_id = upload.pk
    transaction.on_commit(lambda: _queue(upload_id))
    return upload


def _queue(upload_id: int) -> None:
    try:
        current_app.send_task(TASK, args=[upload_id])
    except Exception:  # the broker being down must not fail the upload that committed; the page queues it again
        log.warning("production upload %s not queued; its page will queue it again", upload_id, exc_info=True)


def production_upload_nudge(upload: ProductionUpload) -> None:
    """Queue again an upload no worker took (the broker was down) or whose worker died; at most once a minute."""
    now = timezone.now()
    waiting = upload.status == Status.QUEUED and upload.updated_at < now - REQUEUE_AFTER
    lost = upload.status in {Status.READING, Status.WRITING} and upload.updated_at < now - STALE_AFTER
    if (waiting or lost) and cache.add(f"production-upload:nudge:{upload.pk}", 1, timeout=60):
        _queue(upload.pk)


# Processing ----------------------------------------------------------------------------------------------------


def production_upload_process(*, upload_id: int) -> str:
    """Read the file and register every row, or none; the upload's status says which. Safe to run twice."""
    if not _claim(upload_id):
        return "skipped"
    upload = ProductionUpload.objects.select_related("organization", "uploaded_by").get(pk=upload_id)
    try:
        items, rows = _read(upload)
    except FileProblem as problem:
        _finish(upload_id, status=Status.REFUSED, problem=problem.code, problem_detail=problem.detail)
        return Status.REFUSED
    except Exception:
        _finish(upload_id, status=Status.FAILED, problem="unreadable")
        log.exception("production upload %s: the file could not be read", upload_id)
        return Status.FAILED
    _update(upload_id, status=Status.WRITING, rows_read=len(items), rows_total=len(items), progress=READ_SHARE)

    produce = production.vehicles_produce if upload.kind == Kind.VEHICLE else production.batteries_produce
    try:
        with transaction.atomic():
            created = produce(actor=upload.uploaded_by, model_code=upload.model_code, items=items, max_items=MAX_ROWS)
            # The final status commits with the rows: an upload is "registered" exactly when its rows are.
            _finish(upload_id, status=Status.DONE, created_count=created, bad_count=0, bad_rows=[], problem="")
    except DomainError as refusal:
        bad = _bad_rows(refusal, items, rows, upload.kind)
        _finish(
            upload_id,
            status=Status.REFUSED,
            problem=refusal.code,
            message=refusal.message,
            bad_count=len(bad),
            bad_rows=bad[:BAD_ROWS_KEPT],
        )
        return Status.REFUSED
    except Exception:
        _finish(upload_id, status=Status.FAILED, problem="error")
        raise
    return Status.DONE


def _claim(upload_id: int) -> bool:
    """Take the upload for this worker with one conditional UPDATE: a waiting one, or one whose worker was lost."""
    now = timezone.now()
    open_to_take = Q(status=Status.QUEUED) | Q(
        status__in=[Status.READING, Status.WRITING], updated_at__lt=now - STALE_AFTER
    )
    return (
        ProductionUpload.objects.filter(open_to_take, pk=upload_id).update(
            status=Status.READING, started_at=now, updated_at=now, progress=0, rows_read=0
        )
        == 1
    )


def _update(upload_id: int, **values) -> None:
    ProductionUpload.objects.filter(pk=upload_id).update(updated_at=timezone.now(), **values)


def _finish(upload_id: int, *, status: str, **values) -> None:
    if status == Status.DONE:
        values.setdefault("progress", 100)
    _update(upload_id, status=status, finished_at=timezone.now(), **values)


def _bad_rows(refusal: DomainError, items: list[dict], rows: list[int], kind: str) -> list[dict]:
    """The service names bad items by their index; the page names them by the file's row number."""
    by_index = (refusal.fields or {}).get("items")
    if not isinstance(by_index, dict):
        return []
    bad = []
    for index in sorted(by_index, key=int):
        item = items[int(index)]
        cells = {column: str(item.get(column, ""))[:CELL_KEPT] for column in COLUMNS[kind]}
        bad.append({"row": rows[int(index)], "cells": cells, "reasons": list(by_index[index])})
    return bad


# Reading -------------------------------------------------------------------------------------------------------


def _read(upload: ProductionUpload) -> tuple[list[dict], list[int]]:
    """Every data row as the service's item, and the file's row number of each (the heading is row 1)."""
    columns = COLUMNS[upload.kind]
    with upload.file.open("rb") as handle:
        if upload.file_name.lower().endswith(".xlsx"):
            sheet_rows, estimate = _xlsx_rows(handle)
        else:
            sheet_rows, estimate = _csv_rows(handle.read())
        items: list[dict] = []
        rows: list[int] = []
        positions = None
        for number, cells in sheet_rows:
            if number > MAX_LINES:  # blank lines count too: a small file may unpack into millions of them
                raise FileProblem("too_many_rows", max=MAX_ROWS)
            if not any(cell not in (None, "") for cell in cells):
                continue  # blank lines between blocks of rows are no error
            if positions is None:
                positions = _heading(cells, columns)
                continue
            if len(items) == MAX_ROWS:
                raise FileProblem("too_many_rows", max=MAX_ROWS)
            items.append({column: _cell(cells, position, column) for column, position in positions.items()})
            rows.append(number)
            if len(items) % PROGRESS_EVERY == 0:
                _progress(upload.pk, len(items), estimate)
    if positions is None or not items:
        raise FileProblem("no_rows")
    return items, rows


def _progress(upload_id: int, read: int, estimate: int | None) -> None:
    share = min(READ_SHARE - 1, READ_SHARE * read // estimate) if estimate else 0
    _update(upload_id, rows_read=read, rows_total=estimate if estimate and estimate >= read else None, progress=share)


def _heading(cells: tuple, columns: tuple[str, ...]) -> dict[str, int]:
    """Where each needed column is, by its heading; a file without them is refused as a whole."""
    found: dict[str, int] = {}
    for position, cell in enumerate(cells):
        key = _HEADING_KEY.get(_heading_words(cell))
        if key in columns and key not in found:
            found[key] = position
    missing = [column for column in columns if column not in found]
    if missing:
        raise FileProblem("missing_columns", columns=missing)
    return found


def _heading_words(cell) -> str:
    """A heading as looked up: "生产日期（YYYY-MM-DD）" → "生产日期", " Frame  Number " → "frame number"."""
    text = re.split(r"[(（]", str(cell or ""), maxsplit=1)[0]
    return " ".join(text.split()).lower()


def _cell(cells: tuple, position: int, column: str) -> str:
    value = cells[position] if position < len(cells) else None
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a frame number Excel turned into a number
    text = str(value).strip()
    if column == "produced_on":
        match = _LOOSE_DATE.fullmatch(text)
        if match:
            year, month, day = match.groups()
            return f"{year}-{int(month):02d}-{int(day):02d}"
    return text


def _csv_rows(data: bytes) -> tuple[Iterator[tuple[int, tuple]], int]:
    """Rows of a CSV file in UTF-8 (with or without BOM) or GB 18030 (what Excel saves on a Chinese Windows)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            raise FileProblem("unreadable") from None
    if "\x00" in text:
        raise FileProblem("unreadable")
    first_line = text.split("\n", 1)[0]
    # Commas, unless the heading line shows the file was saved with tabs or semicolons instead.
    delimiter = next((d for d in ("\t", ";") if d in first_line and "," not in first_line), ",")

    def rows() -> Iterator[tuple[int, tuple]]:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        try:
            for cells in reader:
                yield reader.line_num, tuple(cells)
        except csv.Error:
            raise FileProblem("unreadable") from None

    return rows(), text.count("\n")


def _xlsx_rows(handle) -> tuple[Iterator[tuple[int, tuple]], int | None]:
    """Rows of the first sheet of an XLSX workbook, streamed (read-only mode), with values rather than formulas."""
    try:
        workbook = load_workbook(handle, read_only=True, data_only=True)
    except Exception:  # not a workbook, or a damaged one: openpyxl raises many kinds
        raise FileProblem("unreadable") from None
    sheet = workbook.worksheets[0] if workbook.worksheets else None
    if sheet is None:
        raise FileProblem("no_rows")
    estimate = sheet.max_row if isinstance(sheet.max_row, int) and sheet.max_row > 1 else None

    def rows() -> Iterator[tuple[int, tuple]]:
        try:
            yield from enumerate(sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS), start=1)
        finally:
            workbook.close()

    return rows(), estimate
