"""The enterprise duties of SAMR Orders 75/76 (日管控、周排查、月调度): filing a record against its checklist, the
sweep that raises DUTY_OVERDUE for each record missing after its period, and the closing of that alert once the
missing records are filed.

Who owes what: active manufacturers, battery makers and dealers, one record of each kind per period, from the day
they were registered on the platform (Organization.created_at). The sweep looks back a bounded number of periods
(LOOKBACK), so that its first run on a platform with years of enterprises does not raise years of alerts.

A missing record is an alert request with the source `duty:<period>:<enterprise id>` (once per enterprise, kind
and period, whatever the number of runs). The rule engine turns it into a DUTY_OVERDUE alert about the enterprise,
routed to its regulator; while that alert is open, the next missing records add to it (alerts.engine) instead of
raising more alerts. The alert closes by itself when every record it lists has been filed.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from alerts.models import Alert, AlertRequest, RuleCode
from core.errors import Conflict, InvalidInput, PermissionRefused
from core.models import Organization, OrganizationKind, User
from supervision.duty_periods import Period, kind_of, period_parse, periods_ended
from supervision.models import DutyKind, DutyRecord, DutyTemplate

DUTY_HOLDER_KINDS = (OrganizationKind.MANUFACTURER, OrganizationKind.BATTERY_MAKER, OrganizationKind.DEALER)
# How far back the sweep looks: a week of days, four weeks, two months.
LOOKBACK = {DutyKind.DAILY: 7, DutyKind.WEEKLY: 4, DutyKind.MONTHLY: 2}
SIGNED_BY_MAX = 50
NOTE_MAX = 500
ITEM_MAX = 300
ITEMS_MAX = 100


def duty_source(organization_id: int, period_code: str) -> str:
    """The alert request's source of one missing record (the period's shape says its kind)."""
    return f"duty:{period_code}:{organization_id}"


def period_of_source(source: str) -> str | None:
    prefix, _sep, rest = str(source).partition(":")
    code = rest.partition(":")[0]
    return code if prefix == "duty" and kind_of(code) else None


def checklist_for(organization_kind: str, kind: str) -> list[str] | None:
    """The checklist of this duty for this kind of enterprise, or None where an administrator removed it."""
    items = (
        DutyTemplate.objects.filter(organization_kind=organization_kind, kind=kind)
        .values_list("items", flat=True)
        .first()
    )
    return [str(item) for item in items] if items is not None else None


# ── Filing ───────────────────────────────────────────────────────────────────────────────────────────────────


def _refuse(code: str, message: str, problems: dict[int, list[str]] | list[str]) -> InvalidInput:
    if isinstance(problems, dict):
        return InvalidInput(message, code=code, fields={"items": {str(i): problems[i] for i in sorted(problems)}})
    return InvalidInput(message, code=code, fields={"items": problems})


def _answers_clean(items, checklist: list[str] | None) -> list[dict]:
    """Each answer `{"item", "ok", "note"}` checked against the checklist, in the checklist's order.

    The checklist is the law's record, not a questionnaire to pick from: every item is answered once, an item that
    is not on it is refused (`unknown_item`: a typo would otherwise stand as a check that was never asked for),
    and an item found not in order says what was found and done (`note_required`). Where an administrator removed
    the checklist, the enterprise's own items are taken as they are.
    """
    if not isinstance(items, list) or not items:
        message = _("Answer the items of the checklist.")
        raise InvalidInput(message, code="invalid", fields={"items": [message]})
    if len(items) > ITEMS_MAX:
        message = _("At most %(n)d items.") % {"n": ITEMS_MAX}
        raise InvalidInput(message, code="invalid", fields={"items": [message]})
    answers, malformed = [], {}
    for index, answer in enumerate(items):
        if not isinstance(answer, dict):
            malformed[index] = [_('Each answer is {"item", "ok", "note"}.')]
            continue
        item = " ".join(str(answer.get("item") or "").split())
        ok, note = answer.get("ok"), answer.get("note")
        note = "" if note is None else note
        problems = []
        if not item or len(item) > ITEM_MAX:
            problems.append(_("Name the checklist item."))
        if not isinstance(ok, bool):
            problems.append(_("Say whether it was in order: true or false."))
        if not isinstance(note, str) or len(note) > NOTE_MAX:
            problems.append(_("The note is text of at most %(n)d characters.") % {"n": NOTE_MAX})
        if problems:
            malformed[index] = problems
            continue
        answers.append({"item": item, "ok": ok, "note": note.strip()})
    if malformed:
        raise _refuse("invalid", _("Some answers are not in the form asked for."), malformed)

    known = set(checklist) if checklist is not None else None
    unknown = {
        index: [_("Not an item of this checklist.")]
        for index, answer in enumerate(answers)
        if known and answer["item"] not in known
    }
    if unknown:
        raise _refuse("unknown_item", _("Answer the items of the checklist as they are written."), unknown)
    seen: dict[str, int] = {}
    twice = {}
    for index, answer in enumerate(answers):
        if answer["item"] in seen:
            twice[index] = [_("Answered twice.")]
        seen.setdefault(answer["item"], index)
    if twice:
        raise _refuse("duplicate_item", _("Answer each item once."), twice)
    unexplained = {
        index: [_("Say what was found and what is done about it.")]
        for index, answer in enumerate(answers)
        if not answer["ok"] and not answer["note"]
    }
    if unexplained:
        raise _refuse("note_required", _("An item that is not in order needs a note."), unexplained)
    if checklist is None:
        return answers
    missing = [item for item in checklist if item not in seen]
    if missing:
        raise _refuse("items_missing", _("Answer every item of the checklist."), missing)
    order = {item: position for position, item in enumerate(checklist)}
    return sorted(answers, key=lambda a: order[a["item"]])


def _signer_clean(signed_by) -> str:
    signer = " ".join(str(signed_by or "").split()) if isinstance(signed_by, str) else ""
    if not signer or len(signer) > SIGNED_BY_MAX:
        message = _(
            "The name of whoever signs the record (quality-safety officer or director), at most %(n)d characters."
        ) % {"n": SIGNED_BY_MAX}
        raise InvalidInput(message, fields={"signed_by": [message]})
    return signer


@transaction.atomic
def duty_record_file(
    *, user: User, kind: str, period: str, items, signed_by: str, now: dt.datetime | None = None
) -> DutyRecord:
    """File one duty record of the user's enterprise. 403 for anyone but a manufacturer, battery maker or dealer;
    400 for a period in the future or written wrong, or answers that do not match the checklist; 409
    `duty_already_recorded` for a second record of the same kind and period. Late when filed after the period
    (local dates). Filing closes the DUTY_OVERDUE alert that waited for it, once all it lists are filed.

    Nothing goes to the audit log: the record itself says who filed it and when, and who signed it is a name the
    log has no business keeping."""
    org = user.organization
    if org is None or not org.is_active or org.kind not in DUTY_HOLDER_KINDS:
        raise PermissionRefused(
            _("Duty records are filed by manufacturers, battery makers and dealers."), code="not_a_duty_holder"
        )
    if kind not in DutyKind.values:
        message = _("The duty is daily, weekly or monthly.")
        raise InvalidInput(message, code="invalid_kind", fields={"kind": [message]})
    parsed = period_parse(kind, period)
    now = now or timezone.now()
    today = timezone.localdate(now)
    if parsed.start > today:
        message = _("This period has not begun yet: a record is filed during or after its period.")
        raise InvalidInput(message, code="future_period", fields={"period": [message]})
    signer = _signer_clean(signed_by)
    answers = _answers_clean(items, checklist_for(org.kind, kind))
    if DutyRecord.objects.filter(organization=org, kind=kind, period=parsed.code).exists():
        raise _already(parsed)
    try:
        with transaction.atomic():  # the unique constraint decides between two filings at once
            record = DutyRecord.objects.create(
                organization=org,
                region_code=org.region_id,
                kind=kind,
                period=parsed.code,
                period_start=parsed.start,
                period_end=parsed.end,
                items=answers,
                signed_by=signer,
                late=today > parsed.end,
                filed_by=user,
            )
    except IntegrityError:
        raise _already(parsed) from None
    overdue_resolve(record)
    return record


def _already(period: Period) -> Conflict:
    return Conflict(
        _("The %(duty)s of %(period)s is already recorded.")
        % {"duty": DutyKind(period.kind).label, "period": period.code},
        code="duty_already_recorded",
        fields={"period": [period.code]},
    )


# ── The alert closes by itself ───────────────────────────────────────────────────────────────────────────────


def _alert_periods(alert: Alert) -> set[str]:
    """The periods a DUTY_OVERDUE alert stands for: the first missing record, and each one added while it was open
    (their steps "seen again" keep the sources, all of them; the evidence lists only the newest)."""
    sources = [(alert.evidence or {}).get("source", "")]
    sources += alert.transitions.filter(action="repeat").values_list("note", flat=True)
    return {code for code in map(period_of_source, sources) if code}


def overdue_resolve(record: DutyRecord) -> list[Alert]:
    """After a record is filed: the missing record it makes good no longer raises an alert, and an open
    DUTY_OVERDUE alert whose records are now all filed is closed by the platform, with a step that says which
    record closed it. Returns the alerts closed."""
    from alerts.services import alert_close_by_platform

    # Found missing but not yet an alert (the drain runs just after the sweep): it lapses here. Waits for a drain
    # that holds it, and then finds its alert below.
    source = duty_source(record.organization_id, record.period)
    AlertRequest.objects.filter(rule=RuleCode.DUTY_OVERDUE, source=source, processed_at__isnull=True).update(
        processed_at=timezone.now()
    )
    open_alerts = (
        Alert.objects.select_for_update(of=("self",))
        .filter(rule=RuleCode.DUTY_OVERDUE, organization_id=record.organization_id, event_id__isnull=True)
        .exclude(status__in=(Alert.Status.CLOSED, Alert.Status.DISMISSED))
        .order_by("id")
    )
    closed = []
    for alert in open_alerts:
        owed = _alert_periods(alert)
        if record.period not in owed:
            continue
        filed = set(
            DutyRecord.objects.filter(organization_id=record.organization_id, period__in=owed).values_list(
                "period", flat=True
            )
        )
        if owed - filed:
            continue
        with translation.override(settings.LANGUAGE_CODE):  # the history reads the same for everyone
            note = _(
                "Closed by the platform: the %(duty)s of %(period)s was filed on %(day)s, and every record this "
                "alert listed is now filed."
            ) % {
                "duty": DutyKind(record.kind).label,
                "period": record.period,
                "day": timezone.localtime(record.filed_at).strftime("%Y-%m-%d %H:%M"),
            }
        if (done := alert_close_by_platform(alert_id=alert.pk, note=note)) is not None:
            closed.append(done)
    return closed


# ── The sweep ────────────────────────────────────────────────────────────────────────────────────────────────


def sweep_periods(today: dt.date) -> list[Period]:
    """The periods the sweep of `today` checks: those ended before it, within the look-back."""
    return [period for kind, count in LOOKBACK.items() for period in periods_ended(kind, today, count)]


def duty_overdue_sweep(*, today: dt.date | None = None) -> int:
    """Raise DUTY_OVERDUE (an alert request) for every active duty holder and every period of the look-back that
    ended without its record, from the day the enterprise was registered. One INSERT … SELECT finds the missing
    records and inserts the requests; one already raised is skipped by its unique source, so a second run raises
    nothing. Returns how many were raised. `today` (local date) freezes the clock for a replay or a test."""
    from vehicles.ledger import outbox_kick

    today = today or timezone.localdate()
    periods = sweep_periods(today)
    rows = ", ".join(["(%s::text, %s::text, %s::date, %s::date)"] * len(periods))
    sql = f"""
        INSERT INTO {AlertRequest._meta.db_table}
            (rule, region_code, organization_id, frame_no, battery_serial, source, evidence, created_at)
        SELECT %s, o.region_id, o.id, '', '', 'duty:' || p.code || ':' || o.id,
               jsonb_build_object('duty', p.kind, 'period', p.code, 'period_start', p.starts, 'period_end', p.ends),
               %s
        FROM {Organization._meta.db_table} o
        JOIN (VALUES {rows}) AS p (kind, code, starts, ends)
          ON p.starts >= (o.created_at AT TIME ZONE %s)::date
        WHERE o.kind = ANY(%s) AND o.status = %s
          AND NOT EXISTS (
              SELECT 1 FROM {DutyRecord._meta.db_table} r
              WHERE r.organization_id = o.id AND r.kind = p.kind AND r.period = p.code
          )
        ON CONFLICT DO NOTHING
    """
    params: list = [RuleCode.DUTY_OVERDUE.value, timezone.now()]
    for period in periods:
        params += [period.kind, period.code, period.start, period.end]
    params += [settings.TIME_ZONE, list(DUTY_HOLDER_KINDS), Organization.Status.ACTIVE.value]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        raised = max(cursor.rowcount, 0)
        if raised:
            transaction.on_commit(outbox_kick)  # the engine turns them into alerts now, not at the next beat
    return raised
