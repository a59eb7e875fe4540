"""A study admin sets the study's two-step sign-in policy in the admin; each change is audited
and a study admin of another study cannot see or set it."""

import pytest
from django.test import Client

from edc.audit.models import AuditEvent
from edc.mfa.models import StudyMfaPolicy
from tests.factories import UserFactory, load_study, member

pytestmark = pytest.mark.django_db

ADD = "/admin/mfa/studymfapolicy/add/"
ROLES = ["site_staff", "investigator", "monitor", "data_manager", "statistician", "study_admin"]


def admin_of(study, username="studyadmin_mfa") -> Client:
    user = UserFactory(username=username, is_staff=True)
    member(user, study, "study_admin")
    client = Client()
    client.force_login(user)
    return client


def test_a_study_admin_sets_the_policy_and_it_is_audited():
    study = load_study()
    client = admin_of(study)
    form = {"study": study.pk, "investigator": "on", "site_staff": "on"}
    response = client.post(ADD, form)
    assert response.status_code == 302, response.content.decode()[:500]
    policy = StudyMfaPolicy.objects.get(study=study)
    assert policy.required_roles == {"investigator", "site_staff"}
    changed = AuditEvent.objects.filter(action="second_factor_policy_changed", channel="admin")
    assert sorted(changed.values_list("item", flat=True)) == sorted(ROLES)
    edit = client.post(
        f"/admin/mfa/studymfapolicy/{study.pk}/change/", {"investigator": "on", "monitor": "on"}
    )
    assert edit.status_code == 302
    policy.refresh_from_db()
    assert policy.required_roles == {"investigator", "monitor"}
    assert changed.count() == len(ROLES) + 2  # site_staff off, monitor on


def test_an_admin_of_another_study_cannot_see_the_policy():
    study = load_study()
    other = load_study("t-refr.yaml")
    StudyMfaPolicy.objects.create(study=study)
    client = admin_of(other, "other_admin")
    assert client.get(f"/admin/mfa/studymfapolicy/{study.pk}/change/").status_code == 404
    assert client.post(ADD, {"study": study.pk, "investigator": "on"}).status_code == 200
    assert StudyMfaPolicy.objects.count() == 1


def test_only_a_superuser_resets_an_authenticator_and_never_sees_its_secret():
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp.plugins.otp_totp.models import TOTPDevice

    study = load_study()
    person = UserFactory(username="lost_phone")
    device = TOTPDevice.objects.create(user=person, name="authenticator", confirmed=True)
    StaticDevice.objects.create(user=person, name="recovery codes").token_set.create(token="x1")
    page = f"/admin/otp_totp/totpdevice/{device.pk}/"
    assert admin_of(study).get(f"{page}change/").status_code == 403
    superuser = UserFactory(username="root_mfa", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(superuser)
    shown = client.get(f"{page}change/").content.decode()
    assert "lost_phone" in shown and device.key not in shown
    assert client.get("/admin/otp_totp/totpdevice/999/change/").status_code == 404
    assert client.post(f"{page}delete/", {"post": "yes"}).status_code == 302
    assert not TOTPDevice.objects.filter(user=person).exists()
    assert not StaticDevice.objects.filter(user=person).exists()
    assert AuditEvent.objects.filter(action="second_factor_reset", channel="admin").count() == 1
