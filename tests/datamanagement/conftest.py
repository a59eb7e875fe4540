"""Fixtures for data management: one user per role and filled forms written directly, standing
in for the CRF save path (crf.services.save_form) where only the data change itself matters."""

from __future__ import annotations

import pytest
from django.db import transaction

from crf.models import FormInstance
from edc.audit.context import ChangeContext
from edc.audit.models import Channel
from edc.datamanagement import services
from tests.factories import PASSWORD, UserFactory, member, screen


def make_form(subject, event_code="SCREEN", form_code="demographics", data=None, **fields):
    fields.setdefault("status", "complete")
    return FormInstance.objects.create(
        subject=subject,
        study_id=subject.study_id,
        site_id=subject.site_id,
        protocol_version_id=subject.protocol_version_id,
        event_code=event_code,
        form_code=form_code,
        data=data if data is not None else {"BRTHDAT": "1970-01-02", "SEX": "F", "WEIGHT": "61.5"},
        **fields,
    )


def edit_form(ctx: ChangeContext, form: FormInstance, status: str | None = None, **values):
    """What the save path does around a change: lock the row, check locks, write, then tell
    data management which items changed."""
    with transaction.atomic():
        form = FormInstance.objects.select_for_update().get(pk=form.pk)
        services.assert_form_writable(form)
        changed = [k for k, v in values.items() if form.data.get(k) != v]
        form.data = {**form.data, **values}
        if status:
            form.status = status
        form.row_version += 1
        form.save()
        services.after_form_change(ctx, form, changed)
    return form


def ctx_for(user, reason: str = "", channel: str = Channel.WEB) -> ChangeContext:
    return ChangeContext(user=user, channel=channel, reason=reason)


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def subject_a(site_a):
    return screen(site_a)


@pytest.fixture
def subject_b(site_b):
    return screen(site_b)


@pytest.fixture
def form_a(subject_a):
    return make_form(subject_a)


@pytest.fixture
def monitor(study):
    user = UserFactory(username="monitor", first_name="Mona", last_name="Monitor")
    member(user, study, "monitor")
    return user


@pytest.fixture
def data_manager(study):
    user = UserFactory(username="dm", first_name="Dana", last_name="Manager")
    member(user, study, "data_manager")
    return user


@pytest.fixture
def investigator_a(site_a):
    user = UserFactory(username="pi_a", first_name="Ivan", last_name="Investigator")
    member(user, site_a, "investigator")
    return user
