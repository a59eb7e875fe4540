"""The six roles and what each may do. Pure Python: no Django import."""

from enum import StrEnum


class Role(StrEnum):
    SITE_STAFF = "site_staff"
    INVESTIGATOR = "investigator"
    MONITOR = "monitor"
    DATA_MANAGER = "data_manager"
    STATISTICIAN = "statistician"
    STUDY_ADMIN = "study_admin"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class Permission(StrEnum):
    VIEW_DATA = "view_data"
    ENTER_DATA = "enter_data"
    SCREEN = "screen"
    RANDOMIZE = "randomize"
    SIGN = "sign"
    CONFIRM_ELIGIBILITY = "confirm_eligibility"
    RAISE_QUERY = "raise_query"
    ANSWER_QUERY = "answer_query"
    VERIFY_SOURCE = "verify_source"
    LOCK = "lock"
    EXPORT = "export"
    VIEW_ALLOCATION_LIST = "view_allocation_list"
    ADMINISTER = "administer"
    # A site laboratory's normal ranges (they fill the LLN/ULN items of lab forms).
    MANAGE_LAB_RANGES = "manage_lab_ranges"


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.SITE_STAFF: frozenset(
        {
            Permission.VIEW_DATA,
            Permission.ENTER_DATA,
            Permission.SCREEN,
            Permission.RANDOMIZE,
            Permission.ANSWER_QUERY,
            Permission.MANAGE_LAB_RANGES,
        }
    ),
    Role.INVESTIGATOR: frozenset(
        {
            Permission.VIEW_DATA,
            Permission.ENTER_DATA,
            Permission.SCREEN,
            Permission.RANDOMIZE,
            Permission.ANSWER_QUERY,
            Permission.SIGN,
            Permission.CONFIRM_ELIGIBILITY,
            Permission.MANAGE_LAB_RANGES,
        }
    ),
    Role.MONITOR: frozenset(
        {Permission.VIEW_DATA, Permission.RAISE_QUERY, Permission.VERIFY_SOURCE}
    ),
    Role.DATA_MANAGER: frozenset(
        {
            Permission.VIEW_DATA,
            Permission.RAISE_QUERY,
            Permission.LOCK,
            Permission.EXPORT,
            Permission.MANAGE_LAB_RANGES,
        }
    ),
    Role.STATISTICIAN: frozenset(
        {Permission.VIEW_DATA, Permission.EXPORT, Permission.VIEW_ALLOCATION_LIST}
    ),
    Role.STUDY_ADMIN: frozenset({Permission.ADMINISTER}),
}


# What reads the randomization seed, the allocation list or other unblinded data. A role holding
# any of these is granted only when a second admin approves (edc.accounts.services).
UNBLINDING: frozenset[Permission] = frozenset({Permission.VIEW_ALLOCATION_LIST})


# Admins approve each other's grants: one admin who could make a second admin alone could then
# have that admin approve anything. So a grant of administration needs a second admin too,
# unless a superuser (who stands above every study admin already) grants it.
APPROVING: frozenset[Permission] = frozenset({Permission.ADMINISTER})


def needs_second_approval(role: str, *, granted_by_superuser: bool = False) -> bool:
    """Derived from GRANTS, so a role given an unblinding permission later needs it too."""
    permissions = GRANTS[Role(role)]
    if permissions & UNBLINDING:
        return True
    return bool(permissions & APPROVING) and not granted_by_superuser


class MembershipStatus(StrEnum):
    """PENDING waits for a second admin; only ACTIVE grants anything; ENDED and REFUSED are
    kept as history (memberships are never deleted)."""

    PENDING = "pending"
    ACTIVE = "active"
    ENDED = "ended"
    REFUSED = "refused"


LIVE_STATUSES = frozenset({MembershipStatus.PENDING, MembershipStatus.ACTIVE})


def permissions_of(roles: set[str] | frozenset[str]) -> frozenset[Permission]:
    granted: set[Permission] = set()
    for role in roles:
        granted |= GRANTS[Role(role)]
    return frozenset(granted)
