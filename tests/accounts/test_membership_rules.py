"""Issue 16, point 2: the rules of granting, approving and ending memberships, held by the
services and (where a database can say it) by constraints."""

from __future__ import annotations

import itertools

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from rest_framework.test import APIClient

from edc.accounts.models import Membership
from edc.accounts.roles import GRANTS, UNBLINDING, Role, needs_second_approval
from edc.accounts.scoping import Scope
from edc.accounts.selectors import pending_grants, reader_settings
from edc.accounts.services import decide_membership, end_membership, grant_membership
from edc.audit.context import ChangeContext
from edc.audit.models import AuditEvent
from edc.errors import DomainError
from randomization.services import go_live
from tests.accounts.conftest import web
from tests.factories import UserFactory, api_token

SEED_URL = "/api/v1/studies/T-MINI/randomization/seed/"
_numbers = itertools.count()


def seed_status(user) -> int:
    client = APIClient()
    # Each call its own token: names are unique per person among live tokens.
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(user, name=f'seed {next(_numbers)}')}")
    return client.get(SEED_URL).status_code


def test_the_roles_needing_a_second_approval_read_unblinded_data_or_approve_grants():
    derived = {r for r in Role if GRANTS[r] & UNBLINDING}
    assert derived == {Role.STATISTICIAN}
    assert {r for r in Role if needs_second_approval(r)} == derived | {Role.STUDY_ADMIN}
    # A superuser's grant of administration needs no second admin; of unblinding it still does.
    assert {r for r in Role if needs_second_approval(r, granted_by_superuser=True)} == derived


def test_an_admin_cannot_make_a_second_admin_alone(study, admin_a, admin_a2, superuser):
    deputy = UserFactory(username="deputy")
    grant = grant_membership(web(admin_a), user=deputy, study=study, site=None, role="study_admin")
    assert (grant.status, grant.is_active) == ("pending", False)
    decide_membership(web(admin_a2, "deputy agreed at the steering meeting"), grant, approve=True)
    grant.refresh_from_db()
    assert (grant.status, grant.is_active) == ("active", True)
    direct = grant_membership(
        web(superuser),
        user=UserFactory(username="third"),
        study=study,
        site=None,
        role="study_admin",
    )
    assert direct.status == "active"


def test_no_one_grants_a_role_to_themselves(study, site_a, admin_a):
    with pytest.raises(DomainError) as refused:
        grant_membership(web(admin_a), user=admin_a, study=study, site=site_a, role="site_staff")
    assert (refused.value.code, refused.value.field, refused.value.status) == (
        "self_grant",
        "user",
        403,
    )
    assert admin_a.memberships.count() == 1


def test_the_database_refuses_a_self_granted_membership(study, site_a, admin_a):
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(
            user=admin_a, study=study, site=site_a, role="site_staff", granted_by=admin_a
        )


@pytest.mark.parametrize(
    "fields",
    [
        {"status": "bogus", "is_active": False},
        {"status": "pending", "is_active": True},
        {"status": "ended", "is_active": True},
        {"status": "active", "is_active": False},
    ],
)
def test_the_database_keeps_status_valid_and_access_only_for_active(study, site_a, fields):
    user = UserFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(user=user, study=study, site=site_a, role="site_staff", **fields)


def test_a_statistician_grant_waits_for_a_second_admin_and_gives_no_seed_until_approved(
    study, site_a, site_b, admin_a, admin_a2
):
    go_live(ChangeContext.system(), study)
    # A person with only the pending grant has nothing in the study: it is not even found.
    newcomer = UserFactory(username="newcomer")
    grant_membership(web(admin_a), user=newcomer, study=study, site=None, role="statistician")
    assert Scope.for_user(newcomer).grants == {}
    assert seed_status(newcomer) == 404
    assert reader_settings(newcomer).may_choose_zone is False  # a pending role spans nothing
    # A monitor of the study asked to become its statistician: the study is theirs, the seed not.
    stat = UserFactory(username="stat")
    grant_membership(web(admin_a), user=stat, study=study, site=None, role="monitor")
    membership = grant_membership(
        web(admin_a), user=stat, study=study, site=None, role="statistician"
    )
    assert (membership.status, membership.is_active) == ("pending", False)
    assert Scope.for_user(stat).roles(study.pk) == {"monitor"}
    assert seed_status(stat) == 403

    # The admin who asked cannot approve it, nor can the person it is for.
    with pytest.raises(DomainError) as same:
        decide_membership(web(admin_a), membership, approve=True)
    assert same.value.code == "second_admin_required"
    assert membership in pending_grants(admin_a2)

    decide_membership(web(admin_a2), membership, approve=True)
    membership.refresh_from_db()
    assert (membership.status, membership.is_active) == ("active", True)
    assert (membership.granted_by, membership.approved_by) == (admin_a, admin_a2)
    stat = type(stat).objects.get(pk=stat.pk)  # a new request: a fresh scope
    assert seed_status(stat) == 200
    actions = list(
        AuditEvent.objects.filter(object_type="accounts.Membership", object_id=str(membership.pk))
        .order_by("id")
        .values_list("action", "item", "old_value", "new_value", "actor_username")
    )
    assert actions[-1] == ("role_approved", "status", "pending", "active", "admin_a2")
    assert ("role_granted", "status", None, "pending", "admin_a") in actions


def test_the_database_refuses_an_approval_by_the_one_who_asked(study, admin_a):
    stat = UserFactory()
    membership = grant_membership(
        web(admin_a), user=stat, study=study, site=None, role="statistician"
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.filter(pk=membership.pk).update(
            approved_by=admin_a, status="active", is_active=True
        )


def test_in_a_single_admin_study_a_superuser_approves(study, admin_a, superuser):
    stat = UserFactory()
    membership = grant_membership(
        web(admin_a), user=stat, study=study, site=None, role="statistician"
    )
    assert membership in pending_grants(superuser)
    decide_membership(web(superuser), membership, approve=True)
    membership.refresh_from_db()
    assert membership.status == "active" and membership.approved_by == superuser


def test_a_refusal_needs_a_reason_and_grants_nothing(study, admin_a, admin_a2):
    stat = UserFactory()
    membership = grant_membership(
        web(admin_a), user=stat, study=study, site=None, role="statistician"
    )
    with pytest.raises(DomainError) as no_reason:
        decide_membership(web(admin_a2), membership, approve=False)
    assert no_reason.value.code == "reason_required"
    decide_membership(
        web(admin_a2).with_reason("not on the delegation log"), membership, approve=False
    )
    membership.refresh_from_db()
    assert (membership.status, membership.is_active, membership.end_reason) == (
        "refused",
        False,
        "not on the delegation log",
    )
    row = AuditEvent.objects.filter(action="role_refused").get()
    assert (row.actor_username, row.reason, row.old_value, row.new_value) == (
        "admin_a2",
        "not on the delegation log",
        "pending",
        "refused",
    )
    with pytest.raises(DomainError):
        decide_membership(web(admin_a2), membership, approve=True)


def test_ending_keeps_the_membership_with_who_when_and_why(study, site_a, admin_a):
    coordinator = UserFactory()
    membership = grant_membership(
        web(admin_a), user=coordinator, study=study, site=site_a, role="site_staff"
    )
    assert membership.status == "active" and Scope.for_user(coordinator).grants
    with pytest.raises(DomainError):
        end_membership(web(admin_a), membership)  # no reason
    end_membership(web(admin_a).with_reason("left the hospital"), membership)
    membership.refresh_from_db()
    assert (membership.status, membership.is_active, membership.ended_by) == (
        "ended",
        False,
        admin_a,
    )
    assert membership.ended_at is not None
    coordinator = type(coordinator).objects.get(pk=coordinator.pk)
    assert Scope.for_user(coordinator).grants == {}
    row = AuditEvent.objects.get(action="role_ended")
    assert (row.old_value, row.new_value, row.reason, row.actor_username) == (
        "active",
        "ended",
        "left the hospital",
        "admin_a",
    )
    # Granted again later: a new membership beside the ended one.
    again = grant_membership(
        web(admin_a), user=coordinator, study=study, site=site_a, role="site_staff"
    )
    assert again.pk != membership.pk and Membership.objects.filter(user=coordinator).count() == 2
    with pytest.raises(DomainError) as twice:
        grant_membership(
            web(admin_a), user=coordinator, study=study, site=site_a, role="site_staff"
        )
    assert twice.value.code == "already_member"


def test_an_admin_of_study_a_manages_no_one_in_study_b(study, site_a, admin_a, other_study):
    study_b, site_b1, admin_b = other_study
    person = UserFactory()
    with pytest.raises(PermissionDenied):
        grant_membership(web(admin_a), user=person, study=study_b, site=site_b1, role="site_staff")
    theirs = grant_membership(
        web(admin_b), user=person, study=study_b, site=site_b1, role="site_staff"
    )
    with pytest.raises(PermissionDenied):
        end_membership(web(admin_a).with_reason("x"), theirs)
    stat = grant_membership(
        web(admin_b), user=UserFactory(), study=study_b, site=None, role="statistician"
    )
    assert stat not in pending_grants(admin_a)
    with pytest.raises(PermissionDenied):
        decide_membership(web(admin_a), stat, approve=True)
    assert Membership.objects.get(pk=stat.pk).status == "pending"


def test_a_site_admin_grants_only_at_their_site(study, site_a, site_b):
    from tests.factories import member

    site_admin = UserFactory()
    member(site_admin, site_a, "study_admin")
    person = UserFactory()
    grant_membership(web(site_admin), user=person, study=study, site=site_a, role="site_staff")
    for site in (site_b, None):
        with pytest.raises(PermissionDenied):
            grant_membership(web(site_admin), user=person, study=study, site=site, role="monitor")
