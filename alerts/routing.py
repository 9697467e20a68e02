"""Routing (属地): the regulator of an alert is the one whose region code is the longest prefix of the event's
region; departments subscribed to its category in that region get a copy, and the departments a rule notifies
(the fire brigade of a thermal alarm, the police of a stolen bike seen) get one whether subscribed or not. Every
delivery is recorded."""

from __future__ import annotations

from functools import cache

from core.models import DEPARTMENT_KINDS, Organization, OrganizationKind, Region


@cache
def _parents() -> dict[str, str | None]:
    # The GB/T 2260 tree is small (a few thousand rows) and changes only with a data migration.
    return dict(Region.objects.values_list("code", "parent_id"))


def ancestors(region_code: str) -> list[str]:
    """The region and every region above it, nearest first."""
    parents, chain, code = _parents(), [], region_code
    while code:
        chain.append(code)
        code = parents.get(code)
    if not chain or chain[0] != region_code:
        chain.insert(0, region_code)
    return chain


class Router:
    """Resolves regulators and subscriptions for many alerts with two queries, not two per alert."""

    def __init__(self) -> None:
        self._regulators = {
            org.region_id: org
            for org in Organization.objects.filter(kind=OrganizationKind.REGULATOR, status="active").order_by("pk")
        }
        from alerts.models import DepartmentSubscription

        self._departments: dict[tuple[str, str], Organization] = {}
        for org in Organization.objects.filter(kind__in=DEPARTMENT_KINDS, status="active").order_by("-pk"):
            self._departments[(org.kind, org.region_id)] = org  # the oldest of a kind and region wins
        self._subscriptions = list(
            DepartmentSubscription.objects.filter(active=True, organization__status="active").select_related(
                "organization__region"
            )
        )

    def regulator_for(self, region_code: str) -> Organization | None:
        for code in ancestors(region_code):
            if code in self._regulators:
                return self._regulators[code]
        return None

    def parent_regulator_of(self, regulator: Organization) -> Organization | None:
        for code in ancestors(regulator.region_id)[1:]:
            if code in self._regulators:
                return self._regulators[code]
        return None

    def departments_for(self, region_code: str, kinds) -> list[Organization]:
        """For each department kind, the department of that kind whose region is the longest prefix of the
        alert's region (the fire brigade of the district, else of the city)."""
        found = []
        for kind in kinds:
            for code in ancestors(region_code):
                if (kind, code) in self._departments:
                    found.append(self._departments[(kind, code)])
                    break
        return found

    def subscriptions_for(self, region_code: str, category: str):
        return [
            s
            for s in self._subscriptions
            if category in s.categories and region_code.startswith(s.organization.region.prefix)
        ]
