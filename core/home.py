"""What each kind of organization does on the platform: the cards of its home page."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from core.models import DEPARTMENT_KINDS, OrganizationKind


@dataclass(frozen=True)
class Task:
    title: str
    description: str
    url_name: str | None = None  # None: the capability is planned but not yet open
    kinds: frozenset[str] | None = None  # only for these organization kinds (None: every kind of the home)


# The home page template for each kind; makers share one, departments share one.
HOME_TEMPLATE = {
    OrganizationKind.REGULATOR: "regulator",
    OrganizationKind.DEALER: "dealer",
    OrganizationKind.REPAIR_SHOP: "repair_shop",
    OrganizationKind.RECYCLER: "recycler",
    OrganizationKind.MANUFACTURER: "producer",
    OrganizationKind.BATTERY_MAKER: "producer",
    OrganizationKind.CHARGING_OPERATOR: "producer",
    **{kind: "department" for kind in DEPARTMENT_KINDS},
}

# Charging operators share the producers' home but file no models and register no production.
MAKER_KINDS = frozenset({OrganizationKind.MANUFACTURER, OrganizationKind.BATTERY_MAKER})

# SAMR Orders 75/76: manufacturers, battery makers and dealers keep the three records (supervision/duties.py).
DUTY_TEXT = _("Daily check, weekly review, monthly minutes (日管控、周排查、月调度): fill them in, see what is due.")

TASKS: dict[str, list[Task]] = {
    "regulator": [
        Task(
            _("Alert inbox"),
            _("Illegal modifications and complaints in your jurisdiction, live, with SLA countdowns."),
            "alerts-inbox",
        ),
        Task(
            _("Search a bike or battery"),
            _("Frame number, battery code, plate, phone or ID number: the whole chain."),
            "records-search",
        ),
        Task(
            _("Dashboard and risk map"),
            _("Districts coloured red, orange, yellow, green; drill down to the bike."),
            "dashboard",
        ),
        Task(
            _("Monthly report"),
            _("The monthly safety-governance report, as a page and a PDF."),
            "reports-monthly",
        ),
        Task(
            _("Trade-in progress"),
            _("Old bikes traded in by street each week, their subsidies and hand-overs to recyclers."),
            "reports-trade-ins",
        ),
        Task(
            _("Enterprises in your jurisdiction"),
            _("Makers, dealers, repair shops and recyclers, with their status."),
            "organizations",
        ),
        Task(
            _("Supervisory sampling"),
            _("Record sampled batches and the lab's verdict; a failure raises an alert and the risk grades."),
            "sampling-list",
        ),
        Task(_("Recalls"), _("Recalls with units in your jurisdiction, their progress per district."), "recall-list"),
        Task(
            _("Inspection tasks"),
            _("The enterprises drawn for you to inspect (双随机), on your phone: checklist, photos, hazards, actions."),
            "work-inspections",
        ),
        Task(
            _("Work ledger"),
            _("Inspection plans, tasks, results and enforcement actions, exportable (工作台账)."),
            "work-ledger",
        ),
        Task(
            _("Enforcement figures"),
            _("Inspections, hazards, fines, sampling, recalls and duties as reported upward, for any range of days."),
            "work-enforcement",
        ),
    ],
    "department": [
        Task(
            _("Stolen bikes"),
            _("The hot sheet of your region: bikes reported stolen and where each was last seen; report one stolen."),
            "stolen-hot-sheet",
            frozenset({OrganizationKind.POLICE}),
        ),
        Task(
            _("Alerts shared with you"),
            _(
                "Battery and charging alerts for fire; plates for police; disposal for "
                "environment. Acknowledge each one."
            ),
            "alerts-inbox",
        ),
        Task(
            _("Data feed"),
            _("Webhooks signed with HMAC-SHA256 deliver every shared alert to your system."),
            "alerts-subscriptions",
        ),
        Task(
            _("Cockpit"),
            _("Your region's figures and risk map, read-only, for the alert categories you subscribed to."),
            "dashboard",
        ),
        Task(
            _("Swap cabinets"),
            _("The swap cabinets of your region on its map, each with its thermal alarms of the last 30 days."),
            "charging-cabinets",
            frozenset({OrganizationKind.FIRE}),
        ),
    ],
    "dealer": [
        Task(
            _("Receive goods"),
            _("Scan each bike and battery as it arrives: green or red, with the reason."),
            "dealer-receive",
        ),
        Task(
            _("Ship goods"),
            _("Send bikes or batteries from your stock to another dealer; see what you sent and what arrived."),
            "dealer-shipments",
        ),
        Task(
            _("Register a sale"),
            _("The sale is the registration: scan the bike and battery, enter the buyer."),
            "dealer-sale-new",
        ),
        Task(
            _("Trade-in"),
            _("An old bike traded in for a new one: its registration cancelled, the new bike sold to its owner."),
            "dealer-trade-in-new",
        ),
        Task(_("Stock"), _("What is in stock now."), "dealer-stock"),
        Task(
            _("Sales ledger"),
            _("Every sale, exportable for the daily, weekly and monthly duty records."),
            "dealer-sales",
        ),
        Task(
            _("Alerts about you"), _("What the regulator asks you to rectify, and the form to answer."), "alerts-mine"
        ),
        Task(_("Duty records"), DUTY_TEXT, "duty-ledger"),
        Task(_("Recall remedy"), _("Scan a recalled bike or battery and record its remedy."), "recall-remedy"),
        Task(
            _("Credit record"), _("What the regulator reports about you to the public credit platform."), "credit-mine"
        ),
    ],
    "repair_shop": [
        Task(
            _("Upload a repair"),
            _("Scan the bike, choose the repair, scan the removed and fitted batteries."),
            "repair-new",
        ),
        Task(
            _("Batteries to hand over"),
            _("Removed batteries to hand to recycling, with the days left."),
            "repair-batteries",
        ),
        Task(
            _("Alerts about your shop"),
            _("What to rectify, and the form to submit the rectification."),
            "alerts-mine",
        ),
        Task(_("Recall remedy"), _("Scan a recalled bike or battery and record its remedy."), "recall-remedy"),
        Task(
            _("Credit record"), _("What the regulator reports about you to the public credit platform."), "credit-mine"
        ),
    ],
    "recycler": [
        Task(_("Take back"), _("Record the vehicles and batteries you receive."), "recycling-new"),
        Task(
            _("Disposal"),
            _("Dismantling and hazardous-waste transfer, with the manifest number."),
            "recycling-records",
        ),
    ],
    "producer": [
        Task(
            _("Certified models"),
            _("File your models with their CCC certificates and the compatible batteries."),
            "maker-models",
            MAKER_KINDS,
        ),
        Task(
            _("Register production"),
            _("Upload produced frame numbers or battery codes in bulk."),
            "maker-uploads",
            MAKER_KINDS,
        ),
        Task(
            _("Shipments"),
            _("Ship to your customers what you produced or received; receive the batteries shipped to you."),
            "dealer-shipments",
        ),
        Task(
            _("Cabinets and swaps"),
            _("Your swap cabinets, the swaps they reported and their alarms."),
            "charging-operator",
            frozenset({OrganizationKind.CHARGING_OPERATOR}),
        ),
        Task(_("Duty records"), DUTY_TEXT, "duty-ledger", MAKER_KINDS),
        Task(
            _("Recalls"),
            _("Recall a model's units produced in a range, and follow the remedies."),
            "recall-list",
            MAKER_KINDS,
        ),
        Task(
            _("Credit record"), _("What the regulator reports about you to the public credit platform."), "credit-mine"
        ),
    ],
}


def home_for(kind: str | None) -> tuple[str, list[Task]]:
    name = HOME_TEMPLATE.get(kind, "platform") if kind else "platform"
    return name, [task for task in TASKS.get(name, []) if task.kinds is None or kind in task.kinds]
