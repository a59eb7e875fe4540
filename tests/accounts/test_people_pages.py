"""Issue 16, point 2: study admins manage the people of their study on its People pages (not
/admin/): adding a person e-mails a set-password link, roles are granted and ended, unblinding
roles wait for a second admin; and /admin/ keeps the same rules."""

from __future__ import annotations

import re

from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import translation

from edc.accounts.models import Membership
from edc.accounts.services import grant_membership
from edc.audit.models import AuditEvent
from tests.accounts.conftest import web
from tests.factories import UserFactory, member

User = get_user_model()


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def add_coordinator(client: Client, site_code: str = "01", **overrides):
    data = {
        "username": "lin.mei",
        "full_name": "林梅",
        "email": "lin.mei@example.org",
        "language": "zh-hans",
        "site": site_code,
        "role": "site_staff",
        **overrides,
    }
    return client.post("/studies/T-MINI/people/add/", data)


def link_in(body: str) -> str:
    return re.search(r"http://testserver(/accounts/set-password/\S+/)", body).group(1)


def test_a_study_admin_adds_a_person_who_sets_a_password_from_the_emailed_link(
    study, site_a, admin_a, mailoutbox
):
    admin = client_for(admin_a)
    assert admin.get("/studies/T-MINI/").content.decode().count('id="people-link"') == 1
    response = add_coordinator(admin)
    person = User.objects.get(username="lin.mei")
    assert (
        response.status_code == 302
        and response["Location"] == f"/studies/T-MINI/people/{person.pk}/"
    )
    assert not person.has_usable_password() and person.get_full_name() == "林梅"
    assert person.memberships.get().status == "active"

    (message,) = mailoutbox
    assert message.to == ["lin.mei@example.org"]
    with translation.override("zh-hans"):  # the language chosen for them
        assert message.subject == translation.gettext(
            "[%(study)s] Set your password for NPC EDC"
        ) % {"study": "T-MINI"}
        assert (
            translation.gettext("Your username: %(username)s") % {"username": "lin.mei"}
            in message.body
        )
    assert "UTC" in message.body  # the expiry, in the site's zone, named

    newcomer = Client()
    opened = newcomer.get(link_in(message.body))
    assert opened.status_code == 302  # Django hides the token from the address bar
    form_page = newcomer.get(opened["Location"])
    assert form_page.context["validlink"] is True
    saved = newcomer.post(
        opened["Location"],
        {"new_password1": "A-long-new-pass-2026", "new_password2": "A-long-new-pass-2026"},
    )
    assert saved.status_code == 302 and saved["Location"] == "/accounts/login/"
    signed_in = newcomer.post(
        "/accounts/login/", {"username": "lin.mei", "password": "A-long-new-pass-2026"}
    )
    assert signed_in.status_code == 302
    assert newcomer.get("/studies/T-MINI/sites/01/").status_code == 200
    # The link worked once.
    again = Client().get(link_in(message.body))
    assert again.status_code == 200 and again.context["validlink"] is False

    rows = list(
        AuditEvent.objects.filter(object_type__in=["auth.User", "accounts.Membership"])
        .exclude(action__in=["login"])
        .order_by("id")
        .values_list("action", "item", "new_value", "actor_username")
    )
    assert ("person_added", "email", "lin.mei@example.org", "admin_a") in rows
    assert ("role_granted", "role", "site_staff", "admin_a") in rows
    assert ("set_password_link_sent", "email", "lin.mei@example.org", "admin_a") in rows
    assert ("password_set", "", None, "lin.mei") in rows


def test_a_new_link_can_be_sent_until_the_person_has_set_a_password(
    study, site_a, admin_a, mailoutbox
):
    admin = client_for(admin_a)
    add_coordinator(admin)
    person = User.objects.get(username="lin.mei")
    admin.post(f"/studies/T-MINI/people/{person.pk}/set-password-link/")
    assert len(mailoutbox) == 2 and link_in(mailoutbox[1].body)
    assert AuditEvent.objects.filter(action="set_password_link_sent").count() == 2
    person.set_password("Chosen-by-her-2026")
    person.save()
    refused = admin.post(f"/studies/T-MINI/people/{person.pk}/set-password-link/", follow=True)
    assert "this person has already set a password" in refused.content.decode()
    assert len(mailoutbox) == 2


def test_adding_a_taken_username_says_so_on_the_page_and_writes_nothing(
    study, site_a, admin_a, mailoutbox
):
    UserFactory(username="lin.mei")
    response = add_coordinator(client_for(admin_a))
    assert response.status_code == 200
    assert "this username is already taken" in response.content.decode()
    assert mailoutbox == [] and not AuditEvent.objects.filter(action="person_added").exists()


def test_the_person_page_refuses_a_grant_to_oneself(study, site_a, admin_a):
    response = client_for(admin_a).post(
        f"/studies/T-MINI/people/{admin_a.pk}/", {"site": "01", "role": "site_staff"}
    )
    assert response.status_code == 403
    assert "no one may grant a role to themselves" in response.content.decode()
    assert list(admin_a.memberships.values_list("role", flat=True)) == ["study_admin"]


def test_the_admin_refuses_a_grant_to_oneself_and_is_read_only_for_study_admins(
    study, site_a, admin_a, superuser
):
    add = "/admin/accounts/membership/add/"
    assert client_for(admin_a).get(add).status_code == 403
    refused = client_for(superuser).post(
        add, {"user": superuser.pk, "study": study.pk, "site": site_a.pk, "role": "site_staff"}
    )
    assert refused.status_code == 200 and "themselves" in refused.content.decode()
    assert not superuser.memberships.exists()
    ended = Membership.objects.get(user=admin_a)
    change = client_for(admin_a).post(
        f"/admin/accounts/membership/{ended.pk}/change/", {"role": "statistician"}
    )
    assert change.status_code == 403
    assert Membership.objects.get(pk=ended.pk).role == "study_admin"
    # A superuser's grant of an unblinding role there waits like anyone's.
    stat = UserFactory()
    client_for(superuser).post(
        add, {"user": stat.pk, "study": study.pk, "site": "", "role": "statistician"}
    )
    assert Membership.objects.get(user=stat).status == "pending"


def test_a_statistician_granted_on_the_page_waits_for_a_second_admin(study, admin_a, admin_a2):
    stat = UserFactory(username="stat")
    member(stat, study, "monitor")
    page = client_for(admin_a).post(
        f"/studies/T-MINI/people/{stat.pk}/", {"site": "*", "role": "statistician"}
    )
    assert page.status_code == 302
    pending = Membership.objects.get(user=stat, role="statistician")
    assert pending.status == "pending" and pending.granted_by == admin_a
    # The admin who asked sees it but may not decide; the second admin approves.
    listed = client_for(admin_a).get("/people/approvals/").content.decode()
    assert f'id="pending-{pending.pk}"' in listed and f'id="approve-{pending.pk}"' not in listed
    client_for(admin_a).post(f"/people/approvals/{pending.pk}/", {"decision": "approve"})
    assert Membership.objects.get(pk=pending.pk).status == "pending"
    second = client_for(admin_a2)
    assert f'id="approve-{pending.pk}"' in second.get("/people/approvals/").content.decode()
    second.post(f"/people/approvals/{pending.pk}/", {"decision": "approve"})
    assert Membership.objects.get(pk=pending.pk).status == "active"


def test_in_a_single_admin_study_the_superuser_approves_on_the_page(study, admin_a, superuser):
    stat = UserFactory()
    pending = grant_membership(web(admin_a), user=stat, study=study, site=None, role="statistician")
    assert 'id="pending-grants-link"' in client_for(superuser).get("/").content.decode()
    page = client_for(superuser).get("/people/approvals/").content.decode()
    assert f'id="approve-{pending.pk}"' in page
    client_for(superuser).post(f"/people/approvals/{pending.pk}/", {"decision": "refuse"})
    assert Membership.objects.get(pk=pending.pk).status == "pending"  # a refusal needs a reason
    client_for(superuser).post(
        f"/people/approvals/{pending.pk}/", {"decision": "refuse", "reason": "wrong person"}
    )
    assert Membership.objects.get(pk=pending.pk).status == "refused"


def test_ending_a_role_on_the_page_needs_a_reason_and_keeps_it(study, site_a, admin_a):
    coordinator = UserFactory(username="coord")
    membership = member(coordinator, site_a, "site_staff")
    admin = client_for(admin_a)
    url = f"/studies/T-MINI/people/{coordinator.pk}/memberships/{membership.pk}/end/"
    admin.post(url, {"reason": ""})
    assert Membership.objects.get(pk=membership.pk).status == "active"
    admin.post(url, {"reason": "left the unit"})
    ended = Membership.objects.get(pk=membership.pk)
    assert (ended.status, ended.end_reason, ended.ended_by) == ("ended", "left the unit", admin_a)
    listed = admin.get("/studies/T-MINI/people/").content.decode()
    assert 'id="person-coord"' in listed and "membership-ended" in listed


def test_an_admin_of_study_a_cannot_see_or_manage_the_people_of_study_b(
    study, site_a, admin_a, other_study, mailoutbox
):
    study_b, site_b1, admin_b = other_study
    person_b = UserFactory(username="person_b")
    membership = member(person_b, site_b1, "site_staff")
    admin = client_for(admin_a)
    base = f"/studies/{study_b.code}/people/"
    assert admin.get(base).status_code == 404
    assert admin.get(f"{base}add/").status_code == 404
    assert admin.post(
        f"{base}add/",
        {"username": "x", "full_name": "X", "email": "x@example.org", "language": "en",
         "site": "01", "role": "site_staff"},
    ).status_code == 404  # fmt: skip
    assert admin.get(f"{base}{person_b.pk}/").status_code == 404
    assert admin.post(f"{base}{person_b.pk}/", {"site": "01", "role": "monitor"}).status_code == 404
    assert (
        admin.post(
            f"{base}{person_b.pk}/memberships/{membership.pk}/end/", {"reason": "x"}
        ).status_code
        == 404
    )
    # Nor through their own study's address.
    assert admin.get(f"/studies/T-MINI/people/{person_b.pk}/").status_code == 404
    assert Membership.objects.get(pk=membership.pk).status == "active"
    assert not User.objects.filter(username="x").exists() and mailoutbox == []
    # A coordinator is no admin: the pages are not found.
    coordinator = UserFactory()
    member(coordinator, site_a, "site_staff")
    assert client_for(coordinator).get("/studies/T-MINI/people/").status_code == 404
    assert client_for(coordinator).get("/people/approvals/").status_code == 404


def test_the_people_list_costs_the_same_few_queries_for_many_people(
    study, site_a, admin_a, django_assert_max_num_queries
):
    for n in range(12):
        member(UserFactory(), site_a, "site_staff" if n % 2 else "investigator")
    admin = client_for(admin_a)
    admin.get("/studies/T-MINI/people/")
    with django_assert_max_num_queries(10):
        response = admin.get("/studies/T-MINI/people/")
    assert response.content.decode().count('<tr id="person-') == 13
