"""Inspection plans and tasks (检查任务): a regulator's plan (drawing its first period at once), a task's result
recorded once with its findings, photos, hazards and enforcement actions, and the reads of both, scoped."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from alerts.complaints import photo_clean
from alerts.models import RuleCode
from alerts.services import alert_request_record
from core.errors import Conflict, InvalidInput, NotFound, PermissionRefused
from core.models import ENTERPRISE_KINDS, Organization, Region, User
from core.scoping import in_jurisdiction, scoped
from supervision.draw import inspection_plan_draw
from supervision.models import EnforcementAction, InspectionPhoto, InspectionPlan, InspectionTask

Kind = EnforcementAction.Kind

MAX_NAME = 200
MAX_CHECKLIST_ITEMS = 50
MAX_ITEM_CHARS = 200
MAX_NOTE_CHARS = 2000
MAX_SAMPLE = 10_000
MAX_DUE_DAYS = 365
MAX_FINDINGS = 100
MAX_ACTIONS = 20
MAX_HAZARDS = 10_000
MAX_FINE_YUAN = Decimal("100000000")  # ¥100,000,000: far above any fine the Orders allow
MAX_CONFISCATED = 1_000_000
MAX_PHOTOS = 6
MAX_PHOTO_BYTES = 5 * 1024 * 1024
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
CLOCK_SKEW = dt.timedelta(minutes=5)  # a phone's clock a little ahead is not "the future"


# ── Who ──────────────────────────────────────────────────────────────────────────────────────────────────────────


def regulator_of(user: User) -> Organization:
    """The caller's market regulator; anyone else (an enterprise, a department, the platform) is refused: plans and
    inspections are the bureau's own work."""
    org = user.organization if user.is_authenticated else None
    if org is None or not org.is_active or not org.is_regulator:
        raise PermissionRefused(_("Only a market regulator's staff may plan and record inspections."))
    return org


# ── Plans ────────────────────────────────────────────────────────────────────────────────────────────────────────


def _clean_lines(values, field: str, errors: dict, *, at_least_one: bool) -> list[str]:
    lines = [str(v).strip() for v in values or () if str(v).strip()]
    lines = list(dict.fromkeys(lines))  # an item twice is one item
    if at_least_one and not lines:
        errors[field] = [_("List at least one item to check.")]
    elif len(lines) > MAX_CHECKLIST_ITEMS:
        errors[field] = [_("At most %(n)d items.") % {"n": MAX_CHECKLIST_ITEMS}]
    elif any(len(line) > MAX_ITEM_CHARS for line in lines):
        errors[field] = [_("Each item at most %(n)d characters.") % {"n": MAX_ITEM_CHARS}]
    return lines


@transaction.atomic
def inspection_plan_create(
    *,
    user: User,
    name: str,
    region_code: str,
    kinds: list[str],
    frequency: str,
    sample_size: int | None,
    checklist: list[str],
    due_days: int,
    risk_weighted: bool = False,
    now: dt.datetime | None = None,
    seed: str | None = None,
) -> tuple[InspectionPlan, int]:
    """Make a plan in the regulator's jurisdiction and draw its current period at once. `sample_size` None draws
    every enterprise. Returns the plan and how many tasks the draw made. `seed`: see inspection_plan_draw."""
    regulator = regulator_of(user)
    now = now or timezone.now()
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME:
        errors["name"] = [_("Name the plan (at most %(n)d characters).") % {"n": MAX_NAME}]
    code = (region_code or "").strip()
    region = Region.objects.filter(code=code).first() if code.isdigit() and len(code) <= 12 else None
    if region is None:
        errors["region_code"] = [_("Unknown region code.")]
    unknown = [k for k in kinds or () if k not in ENTERPRISE_KINDS]
    kinds = list(dict.fromkeys(k for k in kinds or () if k in ENTERPRISE_KINDS))
    if unknown or not kinds:
        errors["kinds"] = [_("Choose the kinds of enterprise to inspect (makers, dealers, repair shops…).")]
    if frequency not in InspectionPlan.Frequency.values:
        errors["frequency"] = [_("Once, every week or every month.")]
    if sample_size is not None and not 1 <= sample_size <= MAX_SAMPLE:
        errors["sample"] = [_("Draw from 1 to %(n)d enterprises, or all of them.") % {"n": MAX_SAMPLE}]
    checklist = _clean_lines(checklist, "checklist", errors, at_least_one=True)
    if not isinstance(due_days, int) or not 1 <= due_days <= MAX_DUE_DAYS:
        errors["due_days"] = [_("From 1 to %(n)d days.") % {"n": MAX_DUE_DAYS}]
    if errors:
        first = next(iter(errors.values()))[0]
        code_of = "unknown_region" if list(errors) == ["region_code"] else "invalid"
        raise InvalidInput(first, code=code_of, fields=errors)
    if not in_jurisdiction(user, region.code):
        message = _("This region is outside your jurisdiction.")
        raise PermissionRefused(message, code="outside_jurisdiction", fields={"region_code": [message]})

    plan = InspectionPlan.objects.create(
        regulator=regulator,
        name=name,
        region_code=region.code,
        kinds=kinds,
        frequency=frequency,
        sample_size=sample_size,
        risk_weighted=bool(risk_weighted),
        checklist=checklist,
        due_days=due_days,
        created_by=user,
    )
    # Made "now" as the caller's clock says (auto_now_add would take the wall clock): the first period and the
    # deadlines follow from it.
    InspectionPlan.objects.filter(pk=plan.pk).update(created_at=now)
    plan.created_at = now
    return plan, inspection_plan_draw(plan=plan, now=now, seed=seed)


# ── A task's result ─────────────────────────────────────────────────────────────────────────────────────────────


def _clean_findings(findings, errors: dict) -> list[dict]:
    cleaned, problems = [], {}
    if not isinstance(findings, list | tuple) or len(findings) > MAX_FINDINGS:
        errors["findings"] = [_("At most %(n)d findings.") % {"n": MAX_FINDINGS}]
        return []
    for index, finding in enumerate(findings):
        finding = finding if isinstance(finding, dict) else {}
        item = str(finding.get("item") or "").strip()
        note = str(finding.get("note") or "").strip()
        if not item or len(item) > MAX_ITEM_CHARS:
            problems[str(index)] = {
                "item": [_("Name the item checked (at most %(n)d characters).") % {"n": MAX_ITEM_CHARS}]
            }
        elif not isinstance(finding.get("ok"), bool):
            problems[str(index)] = {"ok": [_("Say whether the item was in order.")]}
        elif len(note) > MAX_NOTE_CHARS:
            problems[str(index)] = {"note": [_("At most %(n)d characters.") % {"n": MAX_NOTE_CHARS}]}
        else:
            cleaned.append({"item": item, "ok": finding["ok"], "note": note})
    if problems:
        errors["findings"] = problems
    return cleaned


def _amount(value) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return Decimal("NaN")
    return amount


def _clean_actions(actions, errors: dict, codes: list[str]) -> list[dict]:
    """Each action of a kind that exists; a fine with its amount in yuan (at most fen), a confiscation with the
    units taken, and neither figure on any other kind (they would count in the wrong column of the figures)."""
    if not isinstance(actions, list | tuple) or len(actions) > MAX_ACTIONS:
        errors["actions"] = [_("At most %(n)d actions.") % {"n": MAX_ACTIONS}]
        return []
    cleaned, problems = [], {}
    for index, action in enumerate(actions):
        action = action if isinstance(action, dict) else {}
        kind, note = action.get("kind"), str(action.get("note") or "").strip()
        amount, quantity = _amount(action.get("amount_yuan")), action.get("quantity")
        problem = None
        if kind not in Kind.values:
            problem = {"kind": [_("Unknown action.")]}
        elif kind == Kind.FINE and (amount is None or not amount.is_finite() or not 0 < amount <= MAX_FINE_YUAN):
            problem = {"amount_yuan": [_("A fine needs its amount in yuan.")]}
            codes.append("amount_required")
        elif kind == Kind.FINE and amount != amount.quantize(Decimal("0.01")):
            problem = {"amount_yuan": [_("At most two decimals (fen).")]}
        elif kind != Kind.FINE and amount is not None:
            problem = {"amount_yuan": [_("Only a fine has an amount.")]}
        elif kind == Kind.CONFISCATION and (
            not isinstance(quantity, int) or isinstance(quantity, bool) or not 0 < quantity <= MAX_CONFISCATED
        ):
            problem = {"quantity": [_("A confiscation needs the number of units taken.")]}
            codes.append("quantity_required")
        elif kind != Kind.CONFISCATION and quantity not in (None, ""):
            problem = {"quantity": [_("Only a confiscation has a number of units.")]}
        elif len(note) > MAX_NOTE_CHARS:
            problem = {"note": [_("At most %(n)d characters.") % {"n": MAX_NOTE_CHARS}]}
        if problem:
            problems[str(index)] = problem
            continue
        cleaned.append(
            {
                "kind": kind,
                "amount_yuan": amount.quantize(Decimal("0.01")) if kind == Kind.FINE else None,
                "quantity": quantity if kind == Kind.CONFISCATION else None,
                "note": note,
            }
        )
    if problems:
        errors["actions"] = problems
    return cleaned


def _clean_photos(uploads, existing: int, errors: dict) -> list[tuple[str, bytes]]:
    """The photos as JPEG, PNG or WebP without their metadata (the repairs' and complaints' rules)."""
    if not uploads:
        return []
    mb = MAX_PHOTO_BYTES // (1024 * 1024)
    if existing + len(uploads) > MAX_PHOTOS:
        errors["photos"] = [_("At most %(n)d photos per inspection.") % {"n": MAX_PHOTOS}]
        return []
    cleaned = []
    for upload in uploads:
        if not isinstance(upload, UploadedFile):
            errors["photos"] = [_("Attach a photo file.")]
            return []
        if upload.size is None or upload.size > MAX_PHOTO_BYTES:
            errors["photos"] = [_("A photo may be at most %(mb)d MB.") % {"mb": mb}]
            return []
        upload.seek(0)
        result = photo_clean(upload.read(MAX_PHOTO_BYTES + 1))
        if result is None:
            errors["photos"] = [_("Send photos as JPEG, PNG or WebP images.")]
            return []
        cleaned.append(result)
    return cleaned


EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


@transaction.atomic
def inspection_result_record(
    *,
    user: User,
    task_id,
    performed_at: dt.datetime | None,
    findings: list[dict],
    hazards_found: int,
    actions: list[dict],
    note: str = "",
    photos=(),
    now: dt.datetime | None = None,
) -> InspectionTask:
    """Record what an inspection found, once: the checklist's findings, photos, the hazards found and the
    enforcement actions taken (责令改正、约谈、立案、罚款、没收). A hazard raises INSPECTION_HAZARD about the
    enterprise, which then runs the closed loop (rectify → verify → close). 404 for a task the caller does not
    see, 403 for anyone but a regulator, 409 for a task already done, 400 for a wrong result."""
    now = now or timezone.now()
    pk = as_id(task_id)
    task = tasks_visible_to(user).filter(pk=pk).first() if pk is not None else None
    if task is None:
        raise NotFound(_("No such inspection task, or not one you may see."))
    regulator_of(user)
    task = InspectionTask.objects.select_for_update().select_related("plan", "organization").get(pk=task.pk)
    if task.status == InspectionTask.Status.DONE:
        raise Conflict(_("This inspection's result was already recorded."), code="task_already_done")

    errors: dict = {}
    performed_at = performed_at or now
    if timezone.is_naive(performed_at):
        performed_at = timezone.make_aware(performed_at)
    if performed_at > now + CLOCK_SKEW or performed_at < EARLIEST:
        errors["performed_at"] = [_("The inspection cannot be in the future.")]
    findings = _clean_findings(findings, errors)
    if isinstance(hazards_found, bool) or not isinstance(hazards_found, int) or not 0 <= hazards_found <= MAX_HAZARDS:
        errors["hazards_found"] = [_("From 0 to %(n)d.") % {"n": MAX_HAZARDS}]
    codes: list[str] = []
    actions = _clean_actions(actions, errors, codes)
    note = (note or "").strip()
    if len(note) > MAX_NOTE_CHARS:
        errors["note"] = [_("At most %(n)d characters.") % {"n": MAX_NOTE_CHARS}]
    cleaned_photos = _clean_photos(list(photos or ()), task.photos.count(), errors)
    if errors:
        # A fine without its amount, a confiscation without its units: codes a client tells apart.
        raise InvalidInput(_first_message(errors), code=codes[0] if codes else "invalid", fields=errors)

    task.status = InspectionTask.Status.DONE
    task.performed_at, task.performed_by, task.done_at = performed_at, user, now
    task.findings, task.hazards_found, task.note = findings, hazards_found, note
    task.save(update_fields=["status", "performed_at", "performed_by", "done_at", "findings", "hazards_found", "note"])
    EnforcementAction.objects.bulk_create(
        EnforcementAction(
            task=task,
            organization=task.organization,
            region_code=task.region_code,
            taken_at=performed_at,
            taken_by=user,
            **action,
        )
        for action in actions
    )
    for content_type, data in cleaned_photos:
        photo = InspectionPhoto(task=task, content_type=content_type)
        photo.file.save(f"task-{task.pk}.{EXTENSIONS[content_type]}", ContentFile(data), save=False)
        photo.save()
    if hazards_found:
        alert_request_record(
            rule=RuleCode.INSPECTION_HAZARD,
            region_code=task.region_code,
            source=f"inspection:{task.pk}",
            organization=task.organization,
            evidence={
                "enterprise": task.organization_id,
                "reasons": [f["item"] + (f"：{f['note']}" if f["note"] else "") for f in findings if not f["ok"]],
                "hazards_found": hazards_found,
                "plan": task.plan.name,
                "task": task.pk,
                "actions": [a["kind"] for a in actions],
            },
        )
    return task


def _first_message(errors: dict) -> str:
    value = next(iter(errors.values()))
    while isinstance(value, dict):
        value = next(iter(value.values()))
    return value[0]


# ── Reads ───────────────────────────────────────────────────────────────────────────────────────────────────────


def as_id(value) -> int | None:
    """An id from a URL or a filter, or None when it cannot be one (a 20-digit number is a 404, not an error)."""
    text = str(value)
    return int(text) if text.isdigit() and 0 < int(text) < 2**63 else None


def plans_visible_to(user: User) -> QuerySet[InspectionPlan]:
    return (
        scoped(InspectionPlan.objects.select_related("regulator", "created_by"), user)
        .annotate(
            tasks_total=Count("tasks"), tasks_done=Count("tasks", filter=Q(tasks__status=InspectionTask.Status.DONE))
        )
        .order_by("-created_at", "-pk")
    )


def tasks_visible_to(user: User) -> QuerySet[InspectionTask]:
    """Regulators see the tasks about enterprises of their subtree (whoever planned them); enterprises and
    departments none: an inspection is not announced (双随机)."""
    return scoped(InspectionTask.objects.select_related("plan", "organization__region", "performed_by"), user)


TASK_STATUSES = ("open", "overdue", "done")
# A result's actions in the order they were taken (the model lists the newest first), and its photos.
TASK_RESULT = (Prefetch("actions", queryset=EnforcementAction.objects.order_by("pk")), "photos")


def task_status(task: InspectionTask, now: dt.datetime) -> str:
    """open, done, or overdue: open past its deadline."""
    if task.status == InspectionTask.Status.OPEN and task.due_at < now:
        return "overdue"
    return task.status


def tasks_filtered(
    queryset: QuerySet[InspectionTask],
    *,
    now: dt.datetime,
    status: str = "",
    plan_id: int | None = None,
    organization_id: int | None = None,
    region_code: str = "",
    performed_from: dt.date | None = None,
    performed_to: dt.date | None = None,
) -> QuerySet[InspectionTask]:
    if status == "open":
        queryset = queryset.filter(status=InspectionTask.Status.OPEN, due_at__gte=now)
    elif status == "overdue":
        queryset = queryset.filter(status=InspectionTask.Status.OPEN, due_at__lt=now)
    elif status == "done":
        queryset = queryset.filter(status=InspectionTask.Status.DONE)
    if plan_id is not None:
        queryset = queryset.filter(plan_id=plan_id)
    if organization_id is not None:
        queryset = queryset.filter(organization_id=organization_id)
    if region_code:
        queryset = queryset.filter(region_code__startswith=region_code)
    if performed_from is not None:
        queryset = queryset.filter(performed_at__gte=day_start(performed_from))
    if performed_to is not None:
        queryset = queryset.filter(performed_at__lt=day_start(performed_to + dt.timedelta(days=1)))
    return queryset


def day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def task_visible(user: User, pk) -> InspectionTask:
    pk = as_id(pk)
    task = tasks_visible_to(user).prefetch_related(*TASK_RESULT).filter(pk=pk).first() if pk else None
    if task is None:
        raise NotFound(_("No such inspection task, or not one you may see."))
    return task


@dataclass(frozen=True)
class EnterpriseFacts:
    """What an inspector wants at hand at the door: the enterprise's open alerts, its stock, its recent sales or
    repairs, its duty records (日管控、周排查、月调度) and its earlier inspections."""

    open_alerts: list
    stock: list[dict]
    stock_vehicles: int
    stock_batteries: int
    sales: list
    repairs: list
    duty_records: list
    inspections: list


RECENT = 10


def enterprise_facts(user: User, task: InspectionTask) -> EnterpriseFacts:
    from alerts.selectors import alerts_visible_to
    from alerts.services import OPEN
    from dealers.selectors import sales_visible_to, stock_batteries, stock_vehicles
    from repairs.selectors import repairs_visible_to
    from supervision.models import DutyRecord

    org = task.organization
    vehicles, batteries = stock_vehicles(org.pk), stock_batteries(org.pk)
    stock = [
        {"kind": "vehicle", "model": row["model__code"], "count": row["n"]}
        for row in vehicles.order_by().values("model__code").annotate(n=Count("pk")).order_by("model__code")
    ] + [
        {"kind": "battery", "model": row["model__code"], "count": row["n"]}
        for row in batteries.order_by().values("model__code").annotate(n=Count("pk")).order_by("model__code")
    ]
    return EnterpriseFacts(
        open_alerts=list(
            alerts_visible_to(user).filter(organization=org, status__in=OPEN).order_by("-created_at")[:RECENT]
        ),
        stock=stock,
        stock_vehicles=sum(r["count"] for r in stock if r["kind"] == "vehicle"),
        stock_batteries=sum(r["count"] for r in stock if r["kind"] == "battery"),
        sales=list(sales_visible_to(user).filter(dealer=org)[:RECENT]),
        repairs=list(repairs_visible_to(user).filter(shop=org)[:RECENT]),
        duty_records=list(
            scoped(DutyRecord.objects.filter(organization=org), user).order_by("-period_start", "kind")[:RECENT]
        ),
        inspections=list(
            tasks_visible_to(user)
            .filter(organization=org, status=InspectionTask.Status.DONE)
            .exclude(pk=task.pk)
            .order_by("-performed_at")[:5]
        ),
    )


def photo_visible(user: User, task_pk, photo_pk) -> InspectionPhoto:
    task = task_visible(user, task_pk)
    photo = task.photos.filter(pk=as_id(photo_pk) or 0).first()
    if photo is None:
        raise NotFound(_("No such photo."))
    return photo
