"""Jurisdiction scoping in one place: what each user may see of any model.

Every user-facing queryset goes through `scoped(queryset, user)`. A model says how it is scoped with a
`scope = ScopeRule(...)` class attribute; a model without one is refused, so the safe path is the only path.

- platform administrator (superuser): everything;
- regulator (市场监管): records whose region code starts with its region's prefix (its subtree);
- enterprise: records that name it;
- department (police, fire, …): records shared with it, plus, where the model allows, its region subtree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet

if TYPE_CHECKING:
    from core.models import Organization


@dataclass(frozen=True)
class ScopeRule:
    """How a model's rows map onto jurisdictions and enterprises.

    region: lookup(s) to the region code (e.g. "region__code"); a tuple when a record lies in several
        jurisdictions at once (a bike's owner region and its selling dealer's).
    organizations: lookups to organization ids an enterprise must match (any of them).
    shared: lookup to the organization ids a record was shared with (deliveries to departments).
    department_sees_region: departments see the region subtree too: True for directory data, or the set of
        department kinds that work with the records (police register bikes: 合体登记).
    """

    region: str | tuple[str, ...] | None = None
    organizations: tuple[str, ...] = ()
    shared: str | None = None
    department_sees_region: bool | frozenset[str] = False


class ScopeNotDeclared(TypeError):
    pass


@dataclass(frozen=True)
class Viewer:
    """Who is looking: the platform, an organization of some kind, or nobody."""

    is_platform: bool
    organization: Organization | None

    @property
    def region_prefix(self) -> str | None:
        org = self.organization
        return org.region.prefix if org is not None else None


def viewer_of(user) -> Viewer:
    if user is None or not user.is_authenticated:
        return Viewer(is_platform=False, organization=None)
    if user.is_superuser:
        return Viewer(is_platform=True, organization=user.organization)
    return Viewer(is_platform=False, organization=user.organization)


def _rule_for(model) -> ScopeRule:
    rule = getattr(model, "scope", None)
    if not isinstance(rule, ScopeRule):
        raise ScopeNotDeclared(f"{model.__name__} declares no ScopeRule; it cannot be shown to users")
    return rule


def scope_filter(model, user) -> Q | None:
    """The filter that limits `model` to what `user` may see; None means everything."""
    rule = _rule_for(model)
    viewer = viewer_of(user)
    if viewer.is_platform:
        return None
    org = viewer.organization
    if org is None or not org.is_active:
        return Q(pk__in=[])

    allowed = Q(pk__in=[])
    department_rule = rule.department_sees_region
    department_sees = department_rule is True or (
        isinstance(department_rule, frozenset) and org.kind in department_rule
    )
    sees_region = org.is_regulator or (org.is_department and department_sees)
    if sees_region and rule.region:
        for lookup in (rule.region,) if isinstance(rule.region, str) else rule.region:
            allowed |= Q(**{f"{lookup}__startswith": viewer.region_prefix})
    if org.is_department and rule.shared:
        allowed |= _names(model, rule.shared, org.pk)
    # Every organization sees the records that name it, whatever its kind.
    for lookup in rule.organizations:
        allowed |= _names(model, lookup, org.pk)
    return allowed


def _names(model, lookup: str, organization_id: int) -> Q:
    """Rows whose `lookup` is this organization. Through a to-many relation (a bike's repairs, an alert's
    deliveries) it is a semi-join (pk IN subquery): no repeated rows, no DISTINCT, and the planner keeps its
    indexes."""
    name = lookup.split("__", 1)[0]
    first = model._meta.pk if name == "pk" else model._meta.get_field(name)
    if first.one_to_many or first.many_to_many:
        return Q(pk__in=model._base_manager.filter(**{lookup: organization_id}).values("pk"))
    return Q(**{lookup: organization_id})


def scoped(queryset: QuerySet, user) -> QuerySet:
    """`queryset` cut down to what `user` may see."""
    condition = scope_filter(queryset.model, user)
    return queryset if condition is None else queryset.filter(condition)


def in_jurisdiction(user, region_code: str) -> bool:
    """Whether a region code lies inside the user's jurisdiction (platform: everywhere)."""
    viewer = viewer_of(user)
    if viewer.is_platform:
        return True
    org = viewer.organization
    if org is None or not (org.is_regulator or org.is_department):
        return False
    return region_code.startswith(viewer.region_prefix)
