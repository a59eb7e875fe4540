"""The one scoping layer: every read of clinical data goes through a Scope.

A Scope is built once per request from the user's active memberships. It answers which sites
a user may see in which study, and with what permissions. Out-of-scope objects are reported
as not found (404), never as forbidden, so their existence does not leak.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.utils.translation import gettext

from edc import labels
from edc.accounts.models import Membership
from edc.accounts.roles import Permission, Role, permissions_of

if TYPE_CHECKING:
    from edc.audit.context import ChangeContext


@dataclass
class Scope:
    user_id: int | None
    # (study_id, site_id or None for all sites) -> roles held there
    grants: dict[tuple[int, int | None], set[str]] = field(default_factory=dict)

    @classmethod
    def for_user(cls, user) -> Scope:
        if user is None or not user.is_authenticated:
            return cls(user_id=None)
        cached = getattr(user, "_edc_scope", None)
        if cached is not None:
            return cached
        # Unordered: the rows only fill a dict, and Membership's default ordering (by study and
        # site code) would join both tables on every request just to sort them.
        memberships = (
            Membership.objects.filter(user_id=user.pk, is_active=True)
            .order_by()
            .values_list("study_id", "site_id", "role")
        )
        scope = cls(user_id=user.pk)
        for study_id, site_id, role in memberships:
            scope.grants.setdefault((study_id, site_id), set()).add(role)
        # Kept on the user object: the request asks its scope many times.
        user._edc_scope = scope
        return scope

    # ---- questions ---------------------------------------------------------------------

    def roles(self, study_id: int, site_id: int | None = None) -> set[str]:
        roles = set(self.grants.get((study_id, None), set()))
        if site_id is not None:
            roles |= self.grants.get((study_id, site_id), set())
        return roles

    def all_roles(self, study_id: int) -> set[str]:
        return {r for (s, _), roles in self.grants.items() if s == study_id for r in roles}

    def can(self, permission: Permission, study_id: int, site_id: int | None = None) -> bool:
        return permission in permissions_of(self.roles(study_id, site_id))

    def can_anywhere(self, permission: Permission, study_id: int) -> bool:
        return permission in permissions_of(self.all_roles(study_id))

    def require(self, permission: Permission, study_id: int, site_id: int | None = None) -> None:
        if not self.can(permission, study_id, site_id):
            raise PermissionDenied(
                gettext("your role does not allow %(action)s here")
                % {"action": labels.label(labels.PERMISSION, permission.value)}
            )

    def study_ids(self, permission: Permission = Permission.VIEW_DATA) -> set[int]:
        return {s for (s, _), roles in self.grants.items() if permission in permissions_of(roles)}

    def is_site_limited(self, study_id: int, permission: Permission = Permission.VIEW_DATA) -> bool:
        return permission not in permissions_of(self.grants.get((study_id, None), set()))

    # ---- filters -----------------------------------------------------------------------

    def _granted(self, permission: Permission) -> tuple[list[int], list[int]]:
        """(studies granted at all their sites, single sites granted) for a permission."""
        granted = [key for key, roles in self.grants.items() if permission in permissions_of(roles)]
        return (
            [study for study, site in granted if site is None],
            [site for _, site in granted if site is not None],
        )

    def site_filter(self, prefix: str = "", permission: Permission = Permission.VIEW_DATA) -> Q:
        """Q restricting rows whose `<prefix>study_id` / `<prefix>site_id` are in scope."""
        whole_studies, sites = self._granted(permission)
        q = Q(pk__in=[])
        if whole_studies:
            q |= Q(**{f"{prefix}study_id__in": whole_studies})
        if sites:
            q |= Q(**{f"{prefix}site_id__in": sites})
        return q

    def filter(
        self, queryset: QuerySet, prefix: str = "", permission: Permission = Permission.VIEW_DATA
    ) -> QuerySet:
        return queryset.filter(self.site_filter(prefix, permission))

    def sites(self, permission: Permission = Permission.VIEW_DATA) -> QuerySet:
        from edc.studies.models import Site

        whole, sites = self._granted(permission)
        return Site.objects.filter(Q(study_id__in=whole) | Q(pk__in=sites))

    def studies(self) -> QuerySet:
        from edc.studies.models import Study

        return Study.objects.filter(pk__in={s for (s, _) in self.grants})


def scope_of(user) -> Scope:
    return Scope.for_user(user)


def authorize(
    ctx: ChangeContext, permission: Permission, study_id: int, site_id: int | None = None
) -> None:
    """A write service's check of its caller (403 when refused). System work (no user: tasks,
    the demo, imports) is not scoped; the views that start it were."""
    if ctx.user is not None:
        scope_of(ctx.user).require(permission, study_id, site_id)


def administered_study_ids(user) -> set[int]:
    return scope_of(user).study_ids(Permission.ADMINISTER)


__all__ = ["Scope", "scope_of", "authorize", "Role", "Permission", "administered_study_ids"]
