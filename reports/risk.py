"""The 三分 risk grading (Jiaxing): the signals of an enterprise's risk, the grading of every enterprise and region
from them, and the reads of the grades (a region's children's colours, who turned risk or red in a period).

A signal is a small registered function that counts, for all enterprises at once (one query), how often something
that makes an enterprise riskier happened: `{organization id: count}`. Everything else is data an administrator
edits (reports.models): each signal's weight (RiskSignal), the score from which an enterprise is a risk enterprise
and the days that count as recent (RiskSetting), the colours of a region's share of risk enterprises
(ColourThreshold). Score = Σ weight × count; each grade keeps its reasons `[{"code", "weight", "count"}]`.

Adding a signal (failed sampling, overdue duties): register its counting function here with `@signal(code,
name=...)`, then give it a weight in a data migration (a RiskSignal row). Until it has an active row it counts for
nothing, so it can ship before a bureau has weighed it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Count, F, Func, Q, QuerySet, TextField
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from alerts.models import Alert, RuleCode, Severity
from alerts.selectors import overdue
from core.errors import NotFound
from core.models import ENTERPRISE_KINDS, QUALIFICATION_KINDS, Organization, Region, User
from core.scoping import in_jurisdiction, scoped
from reports.models import (
    ColourThreshold,
    EnterpriseGrade,
    ProductCategory,
    RegionColour,
    RegionGrade,
    RiskSetting,
    RiskSignal,
)

THRESHOLD = "risk_score_threshold"
WINDOW_DAYS = "window_days"
CENT = Decimal("0.01")
NOT_OPEN = (Alert.Status.CLOSED, Alert.Status.DISMISSED)
MODIFICATION_RULES = (RuleCode.MOD_BATTERY_NONSTANDARD, RuleCode.MOD_SPEED_UNLOCK, RuleCode.MOD_MOTOR_POWER)


# ── Signals ──────────────────────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Moment:
    """When a grading looks: now, and where "recent" begins (RiskSetting `window_days` before)."""

    now: dt.datetime
    since: dt.datetime

    @property
    def today(self) -> dt.date:
        return timezone.localdate(self.now)


@dataclass(frozen=True)
class Signal:
    code: str
    name: str
    count: Callable[[Moment], dict[int, int]]


SIGNALS: dict[str, Signal] = {}


def signal(code: str, *, name):
    """Register a signal; used as a decorator on its counting function (Moment → {organization id: count})."""

    def register(count: Callable[[Moment], dict[int, int]]) -> Callable[[Moment], dict[int, int]]:
        SIGNALS[code] = Signal(code, name, count)
        return count

    return register


def _per_organization(alerts: QuerySet[Alert], counted=None) -> dict[int, int]:
    """One grouped query: the alerts (or the distinct `counted` values among them) of each enterprise named."""
    tally = Count(counted, distinct=True) if counted is not None else Count("pk")
    rows = alerts.filter(organization__isnull=False).order_by().values_list("organization_id").annotate(n=tally)
    return dict(rows)


def _recent(moment: Moment) -> QuerySet[Alert]:
    """The alerts raised in the window, less those the regulator dismissed: a dismissed alert was unfounded."""
    return Alert.objects.filter(created_at__gte=moment.since, created_at__lte=moment.now).exclude(
        status=Alert.Status.DISMISSED
    )


@signal("open_alerts", name=gettext_lazy("open alerts about the enterprise"))
def open_alerts(moment: Moment) -> dict[int, int]:
    return _per_organization(Alert.objects.filter(created_at__lte=moment.now).exclude(status__in=NOT_OPEN))


@signal("overdue_rectifications", name=gettext_lazy("alerts not rectified by their deadline"))
def overdue_rectifications(moment: Moment) -> dict[int, int]:
    # A verified rectification waits on the regulator's closing, not on the enterprise: not overdue by it.
    return _per_organization(
        Alert.objects.filter(overdue(moment.now)).exclude(status__in=(*NOT_OPEN, Alert.Status.VERIFIED))
    )


@signal("recent_alerts_high", name=gettext_lazy("recent high-severity alerts"))
def recent_alerts_high(moment: Moment) -> dict[int, int]:
    return _per_organization(_recent(moment).filter(severity=Severity.HIGH))


@signal("recent_alerts_medium", name=gettext_lazy("recent medium-severity alerts"))
def recent_alerts_medium(moment: Moment) -> dict[int, int]:
    return _per_organization(_recent(moment).filter(severity=Severity.MEDIUM))


@signal("recent_alerts_low", name=gettext_lazy("recent low-severity alerts"))
def recent_alerts_low(moment: Moment) -> dict[int, int]:
    return _per_organization(_recent(moment).filter(severity=Severity.LOW))


@signal("modification_repairs", name=gettext_lazy("recent repairs found to be illegal modifications"))
def modification_repairs(moment: Moment) -> dict[int, int]:
    """Repairs (and fittings) that raised a MOD_* alert about the enterprise that did them. Repair.flags are the
    battery ledger's and the qualification's, not modifications: the rules decide those. One repair can raise
    several (an over-power motor and a removed speed limiter); all of its alerts share the bike and the moment of
    the repair, so they count once."""
    repair = Func(F("vehicle_id"), F("event_at"), function="ROW", output_field=TextField())
    return _per_organization(_recent(moment).filter(rule__in=MODIFICATION_RULES), counted=repair)


@signal("qualification_lapsed", name=gettext_lazy("qualification not filed or expired"))
def qualification_lapsed(moment: Moment) -> dict[int, int]:
    # The condition of Organization.qualification_valid_on, set-based: not filed, or expired before today.
    lapsed = Organization.objects.filter(kind__in=QUALIFICATION_KINDS).filter(
        Q(qualification_no="") | Q(qualification_valid_until__lt=moment.today)
    )
    return dict.fromkeys(lapsed.order_by().values_list("pk", flat=True), 1)


@signal("complaints", name=gettext_lazy("recent consumer complaints"))
def complaints(moment: Moment) -> dict[int, int]:
    return _per_organization(_recent(moment).filter(rule=RuleCode.COMPLAINT))


# ── Grading ──────────────────────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Grading:
    graded_at: dt.datetime
    enterprises: int
    risk_enterprises: int
    regions: int


def _settings() -> dict[str, Decimal]:
    """The settings, locked for the grading: two gradings at once run one after the other."""
    values = dict(
        RiskSetting.objects.select_for_update().filter(code__in=(THRESHOLD, WINDOW_DAYS)).values_list("code", "value")
    )
    missing = {THRESHOLD, WINDOW_DAYS} - set(values)
    if missing:
        raise ImproperlyConfigured(f"Risk settings missing (admin → risk settings): {', '.join(sorted(missing))}")
    return values


def colour_for(risk: int, total: int, thresholds: Iterable[ColourThreshold]) -> str:
    """The colour of the highest threshold the share of risk enterprises meets (compared exactly, not rounded)."""
    for threshold in sorted(thresholds, key=lambda t: t.min_share_pct, reverse=True):
        if Decimal(risk) * 100 >= threshold.min_share_pct * total:
            return threshold.colour
    return RegionColour.GREEN  # only when an administrator removed the 0% row


def share_pct(risk: int, total: int) -> Decimal:
    return (Decimal(risk) * 100 / total).quantize(CENT) if total else Decimal("0.00")


def risk_grade_all(*, now: dt.datetime | None = None) -> Grading:
    """Grade every enterprise, then every region that has enterprises (each county, city, province above them),
    in one transaction. The previous grades stay as history (`current=False`); the new ones are current."""
    now = now or timezone.now()
    with transaction.atomic():
        settings = _settings()
        threshold = settings[THRESHOLD]
        moment = Moment(now=now, since=now - dt.timedelta(days=int(settings[WINDOW_DAYS])))
        active = dict(RiskSignal.objects.filter(active=True).values_list("code", "weight"))
        weights = {code: active[code] for code in SIGNALS if code in active}  # reasons in the registry's order
        counts = {code: SIGNALS[code].count(moment) for code in weights}

        grades = []
        for organization_id, region_code in (
            Organization.objects.filter(kind__in=ENTERPRISE_KINDS).order_by().values_list("pk", "region_id")
        ):
            reasons = [
                {"code": code, "weight": str(weight), "count": n}
                for code, weight in weights.items()
                if (n := counts[code].get(organization_id, 0))
            ]
            score = sum((weights[r["code"]] * r["count"] for r in reasons), Decimal(0)).quantize(CENT)
            grade = EnterpriseGrade.Grade.RISK if score >= threshold else EnterpriseGrade.Grade.NON_RISK
            grades.append(
                EnterpriseGrade(
                    organization_id=organization_id,
                    region_code=region_code,
                    grade=grade,
                    score=score,
                    reasons=reasons,
                    graded_at=now,
                    current=True,
                )
            )
        regions = _region_grades(grades, list(ColourThreshold.objects.all()), now)

        EnterpriseGrade.objects.filter(current=True).update(current=False)
        EnterpriseGrade.objects.bulk_create(grades, batch_size=2000)
        RegionGrade.objects.filter(current=True).update(current=False)
        RegionGrade.objects.bulk_create(regions, batch_size=2000)
    return Grading(
        graded_at=now,
        enterprises=len(grades),
        risk_enterprises=sum(g.grade == EnterpriseGrade.Grade.RISK for g in grades),
        regions=len(regions),
    )


def _region_grades(grades: list[EnterpriseGrade], thresholds: list[ColourThreshold], now) -> list[RegionGrade]:
    """Each enterprise counts in its own region and in every region above it (its subtree's share)."""
    own: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for grade in grades:
        own[grade.region_code][0] += grade.grade == EnterpriseGrade.Grade.RISK
        own[grade.region_code][1] += 1
    parents = _ancestry(own)
    subtree: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for code, (risk, total) in own.items():
        node: str | None = code
        while node is not None:
            subtree[node][0] += risk
            subtree[node][1] += total
            node = parents.get(node)
    return [
        RegionGrade(
            region_code=code,
            colour=colour_for(risk, total, thresholds),
            risk_enterprises=risk,
            enterprises=total,
            risk_share_pct=share_pct(risk, total),
            graded_at=now,
            current=True,
        )
        for code, (risk, total) in sorted(subtree.items())
    ]


def _ancestry(codes: Iterable[str]) -> dict[str, str | None]:
    """code → parent code for the regions given and all above them: one query per level."""
    parents: dict[str, str | None] = {}
    frontier = set(codes)
    while frontier:
        found = dict(Region.objects.filter(code__in=frontier).order_by().values_list("code", "parent_id"))
        parents.update(found)
        frontier = {parent for parent in found.values() if parent is not None and parent not in parents}
    return parents


# ── Reads ────────────────────────────────────────────────────────────────────────────────────────────────────


def jurisdiction_region(user: User, code: str) -> Region:
    """The region named, if it lies in the user's jurisdiction; 404 otherwise, and for an enterprise always (it
    has no jurisdiction), so that no answer tells an outsider which regions exist."""
    region = Region.objects.filter(code=code).first() if code.isdigit() else None
    if region is None or not in_jurisdiction(user, region.code):
        raise NotFound(_("No such region, or not in your jurisdiction."), fields={})
    return region


def enterprise_grades_visible_to(user: User, *, region: Region | None = None) -> QuerySet[EnterpriseGrade]:
    """The current grades the user may see (regulators their subtree, departments their region), riskiest first."""
    grades = scoped(EnterpriseGrade.objects.filter(current=True).select_related("organization"), user)
    if region is not None:
        grades = grades.filter(region_code__startswith=region.prefix)
    return grades.order_by("-score", "organization_id")


def product_categories() -> QuerySet[ProductCategory]:
    """Reference data, the same for everyone logged in: not scoped."""
    return ProductCategory.objects.order_by("code")


def colour_thresholds() -> QuerySet[ColourThreshold]:
    """Reference data, the same for everyone logged in: not scoped. Highest first, as they are applied."""
    return ColourThreshold.objects.order_by("-min_share_pct")


def region_colours(parent_code: str | None) -> dict[str, dict]:
    """The current colour of each region one level below `parent_code` (provinces for None), in code order:
    `{code: {"region_code", "name", "colour", "risk_enterprises", "enterprises", "risk_share_pct", "graded_at"}}`.
    A region without enterprises was not graded: no risk enterprises, the colour of a 0% share. Not scoped: the
    caller has checked that the parent is in the user's jurisdiction (jurisdiction_region)."""
    children = list(Region.objects.filter(parent_id=parent_code).order_by("code").values_list("code", "name"))
    codes = [code for code, _name in children]
    graded = {g.region_code: g for g in RegionGrade.objects.filter(current=True, region_code__in=codes)}
    calm = colour_for(0, 1, ColourThreshold.objects.all())
    colours = {}
    for code, name in children:
        grade = graded.get(code)
        colours[code] = {
            "region_code": code,
            "name": name,
            "colour": grade.colour if grade else calm,
            "risk_enterprises": grade.risk_enterprises if grade else 0,
            "enterprises": grade.enterprises if grade else 0,
            "risk_share_pct": grade.risk_share_pct if grade else Decimal("0.00"),
            "graded_at": grade.graded_at if grade else None,
        }
    return colours


@dataclass(frozen=True)
class Change:
    """What stood at the start of a period and at its end: a grade (enterprise) or a colour (region); `before` is
    None for what was first graded within the period."""

    key: int | str  # organization id or region code
    region_code: str
    before: str | None
    after: str


@dataclass(frozen=True)
class Changes:
    enterprises: list[Change]
    regions: list[Change]

    @property
    def turned_risk(self) -> list[Change]:
        return [c for c in self.enterprises if c.after == EnterpriseGrade.Grade.RISK]

    @property
    def turned_red(self) -> list[Change]:
        return [c for c in self.regions if c.after == RegionColour.RED]


def risk_changes(*, start: dt.datetime, end: dt.datetime, region_code: str | None = None) -> Changes:
    """The enterprises whose grade and the regions whose colour at `end` differ from what stood at `start`, within
    the subtree of `region_code` (everywhere for None): for the monthly report's "3 enterprises turned risk, 1
    district turned red this month". A grade that changed and changed back within the period is no change."""
    prefix = Region.objects.get(code=region_code).prefix if region_code else ""

    def standing(model, key: str, value: str, before: dt.datetime) -> dict:
        rows = (
            model.objects.filter(graded_at__lt=before, region_code__startswith=prefix)
            .order_by(key, "-graded_at", "-id")
            .distinct(key)
            .values_list(key, "region_code", value)
        )
        return {k: (region, v) for k, region, v in rows}

    def compare(model, key: str, value: str) -> list[Change]:
        old, new = standing(model, key, value, start), standing(model, key, value, end)
        return [
            Change(k, region, old[k][1] if k in old else None, v)
            for k, (region, v) in sorted(new.items())
            if k not in old or old[k][1] != v
        ]

    return Changes(
        enterprises=compare(EnterpriseGrade, "organization_id", "grade"),
        regions=compare(RegionGrade, "region_code", "colour"),
    )


def reasons_in_words(reasons: list[dict]) -> list[dict]:
    """A grade's reasons with each signal's name beside its code, for the pages and the report."""
    return [
        {**reason, "label": str(SIGNALS[reason["code"]].name) if reason.get("code") in SIGNALS else reason.get("code")}
        for reason in reasons or []
    ]
