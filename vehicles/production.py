"""Production (出厂登记): makers register the vehicles and batteries they produced, in bulk, all or nothing.

A request carries up to 10,000 items of one model (a file uploaded from the maker's page up to 100,000). Every
item is checked in Python first and every bad row is reported by its index. Then, in one transaction, the rows,
their `produced` ledger events and the outbox messages are written with COPY (production_copy.py). Ids come from
the tables' sequences up front, so each event can name its vehicle or battery and each outbox message its event.
Rows are streamed from generators, so no COPY buffer or ORM object is built per row.

A vehicle maker may name the batteries it fits at the factory (`battery_serials` of a vehicle item): batteries it
holds in stock, received from their maker (dealers/shipments.py), of a model certified for the vehicle model (标配).
They are fitted in the same write: their fitments, the `battery_fitted` events on the bike's chain right after
`produced`, and the batteries' rows (fitted, held with the bike), all by COPY or one statement. Items without
batteries take exactly the path they took before.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence

from django.db import IntegrityError, connection, transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from catalog.models import BatteryModel, VehicleModel
from core.audit import audit_record
from core.errors import Conflict, InvalidInput, PermissionRefused
from core.models import Organization, OrganizationKind, User
from vehicles import codes, factory_fitting
from vehicles.ledger import outbox_kick
from vehicles.models import Battery, Vehicle
from vehicles.production_copy import PRODUCTION_TZ, batteries_copy, vehicles_copy

MAX_ITEMS = 10_000
# The production day is a calendar day in China (PRODUCTION_TZ); its event happens at the start of that day.
# Frame numbers carry a 20xx year; earlier dates are typing errors (and year 1 would not survive UTC).
EARLIEST_PRODUCTION = dt.date(2000, 1, 1)
MOTOR_NO_MAX = Vehicle._meta.get_field("motor_no").max_length

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_PRINTABLE = re.compile(r"[^\x00-\x1f\x7f]+")  # PostgreSQL text takes no NUL; COPY rows no control characters
_UNIQUE_DETAIL = re.compile(r"Key \((?P<column>[^)]+)\)=\((?P<value>.*)\) already exists")
# A fresh public code that collides with an existing one is drawn again (60 random bits: rare).
_CODE_ATTEMPTS = 3

Problems = dict[int, list[str]]


@transaction.atomic
def vehicles_produce(*, actor: User, model_code: str, items: Sequence, max_items: int = MAX_ITEMS) -> int:
    """Register produced vehicles of one of the actor's models: all or nothing. Returns how many.

    `max_items`: an API request takes MAX_ITEMS; a file uploaded from the maker's page more (vehicles/uploads.py).
    """
    maker = _maker_of(actor, OrganizationKind.MANUFACTURER, _("Only vehicle manufacturers register vehicles."))
    model = _own_model(VehicleModel, maker=maker, code=model_code)
    _check_count(items, max_items)
    today = timezone.localdate(timezone=PRODUCTION_TZ)
    units: list[tuple[str, str, dt.date]] = []
    problems: Problems = {}
    first_index: dict[str, int] = {}
    fitting: dict[int, list[str]] = {}  # item index → the serials to fit, checked for shape
    first_serial: dict[str, int] = {}
    for index, item in enumerate(items):
        found: list[str] = []
        if not isinstance(item, dict):
            problems[index] = ["not_an_object"]
            continue
        serials = factory_fitting.battery_serials_read(item, found, first_serial, index)
        if serials:
            fitting[index] = serials
        frame_no = _text(item, "frame_no", found)
        if frame_no is not None:
            problem = (
                codes.frame_no_problem(frame_no, enterprise_code=maker.enterprise_code, today=today)
                if frame_no.isascii()  # the pattern's \d would take full-width digits
                else "malformed_frame_no"
            )
            if problem:
                found.append(problem)
            elif frame_no in first_index:
                found.append("duplicate_in_request")
            else:
                first_index[frame_no] = index
        motor_no = _text(item, "motor_no", found)
        if motor_no is not None and not (len(motor_no) <= MOTOR_NO_MAX and _PRINTABLE.fullmatch(motor_no)):
            found.append("malformed_motor_no")
        produced_on = _production_date(item, found, today)
        if found:
            problems[index] = found
        else:
            units.append((frame_no, motor_no, produced_on))
    _flag_registered(problems, first_index, Vehicle, "frame_no")
    _refuse_bad_rows(problems)
    # Items and units share their order once no row is bad.
    fitted = factory_fitting.batteries_to_fit(maker=maker, model=model, fitting=fitting, today=today) if fitting else {}

    recorded_at = timezone.now()
    _write_all_or_nothing(
        lambda: vehicles_copy(maker=maker, model=model, units=units, recorded_at=recorded_at, fitted=fitted),
        first_index,
    )
    data = {"model": model.code, "count": len(units)}
    if fitted:
        data["batteries_fitted"] = sum(len(batteries) for batteries in fitted.values())
    audit_record(actor=actor, action="vehicles.produced", target=model, data=data)
    return len(units)


@transaction.atomic
def batteries_produce(*, actor: User, model_code: str, items: Sequence, max_items: int = MAX_ITEMS) -> int:
    """Register produced battery packs of one of the actor's models: all or nothing. Returns how many."""
    maker = _maker_of(actor, OrganizationKind.BATTERY_MAKER, _("Only battery makers register batteries."))
    model = _own_model(BatteryModel, maker=maker, code=model_code)
    _check_count(items, max_items)
    today = timezone.localdate(timezone=PRODUCTION_TZ)
    units: list[tuple[str, dt.date]] = []
    problems: Problems = {}
    first_index: dict[str, int] = {}
    for index, item in enumerate(items):
        found: list[str] = []
        if not isinstance(item, dict):
            problems[index] = ["not_an_object"]
            continue
        serial = _text(item, "serial", found)
        if serial is not None:
            serial = codes.normalise_serial(serial)
            if not codes.BATTERY_SERIAL.fullmatch(serial):
                found.append("malformed_serial")
            elif serial in first_index:
                found.append("duplicate_in_request")
            else:
                first_index[serial] = index
        produced_on = _production_date(item, found, today)
        if found:
            problems[index] = found
        else:
            units.append((serial, produced_on))
    _flag_registered(problems, first_index, Battery, "serial")
    _refuse_bad_rows(problems)

    recorded_at = timezone.now()
    _write_all_or_nothing(
        lambda: batteries_copy(maker=maker, model=model, units=units, recorded_at=recorded_at),
        first_index,
    )
    audit_record(
        actor=actor, action="batteries.produced", target=model, data={"model": model.code, "count": len(units)}
    )
    return len(units)


# Checks -------------------------------------------------------------------------------------------------------


def _maker_of(actor: User, kind: str, message: str) -> Organization:
    org = getattr(actor, "organization", None)
    if org is None or org.kind != kind or not org.is_active:
        raise PermissionRefused(message)
    return org


def _own_model(model_class: type[VehicleModel] | type[BatteryModel], *, maker: Organization, code: str):
    # Another maker's model is as unknown to the caller as a code that does not exist.
    model = model_class.objects.filter(code=code, maker=maker).first()
    if model is None:
        message = _("Your organization has filed no model with this code.")
        raise InvalidInput(message, code="unknown_model", fields={"model": [message]})
    return model


def _check_count(items: Sequence, max_items: int) -> None:
    if not items:
        message = _("Send at least one item.")
        raise InvalidInput(message, code="no_items", fields={"items": [message]})
    if len(items) > max_items:
        message = _("At most %(max)d items per request; send the rest in another request.") % {"max": max_items}
        raise InvalidInput(message, code="too_many_items", fields={"items": [message]})


def _text(item: dict, name: str, found: list[str]) -> str | None:
    value = item.get(name)
    if value is None or value == "":
        found.append(f"missing_{name}")
        return None
    if not isinstance(value, str):
        found.append(f"malformed_{name}")
        return None
    return value.strip()


def _production_date(item: dict, found: list[str], today: dt.date) -> dt.date | None:
    value = _text(item, "produced_on", found)
    if value is None:
        return None
    try:
        day = dt.date.fromisoformat(value) if _DATE.fullmatch(value) else None
    except ValueError:  # 2026-02-30
        day = None
    if day is None:
        found.append("malformed_produced_on")
    elif day > today:
        found.append("future_date")
    elif day < EARLIEST_PRODUCTION:
        found.append("date_too_early")
    return day


def _flag_registered(problems: Problems, first_index: dict[str, int], model: type[Model], column: str) -> None:
    """Mark the items already on the platform, with one query for the whole request."""
    if not first_index:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {column} FROM {model._meta.db_table} WHERE {column} = ANY(%s)",
            [list(first_index)],
        )
        for (value,) in cursor.fetchall():
            problems.setdefault(first_index[value], []).append("already_registered")


def _refuse_bad_rows(problems: Problems) -> None:
    if not problems:
        return
    count = len(problems)
    raise InvalidInput(
        ngettext(
            "%(count)d item is invalid; nothing was registered.",
            "%(count)d items are invalid; nothing was registered.",
            count,
        )
        % {"count": count},
        code="invalid_items",
        fields={"items": {str(index): problems[index] for index in sorted(problems)}},
    )


# Writing ------------------------------------------------------------------------------------------------------


def _write_all_or_nothing(write: Callable[[], None], first_index: dict[str, int]) -> None:
    """Run the COPYs in a savepoint; a unique key taken meanwhile by a concurrent request is a 409."""
    for attempt in range(1, _CODE_ATTEMPTS + 1):
        try:
            with transaction.atomic(), connection.wrap_database_errors:
                write()
            transaction.on_commit(outbox_kick)  # the produced events reach the rule engine like any other
            return
        except IntegrityError as exc:
            column, value = _unique_violation(exc)
            if column == "code" and attempt < _CODE_ATTEMPTS:
                continue
            fields = {}
            if value in first_index:
                fields = {"items": {str(first_index[value]): ["already_registered"]}}
            raise Conflict(
                _("Some items were registered meanwhile by another request; nothing was registered."),
                code="already_registered",
                fields=fields,
            ) from None


def _unique_violation(exc: IntegrityError) -> tuple[str | None, str | None]:
    """The column and value of the unique key that was violated, from PostgreSQL's error detail."""
    diag = getattr(exc.__cause__, "diag", None)
    match = _UNIQUE_DETAIL.search(getattr(diag, "message_detail", None) or "")
    if match:
        return match["column"], match["value"]
    # A server set to another language words the detail differently; the constraint's name still tells.
    return ("code" if "_code_" in (getattr(diag, "constraint_name", None) or "") else None), None
