"""Electronic signatures (21 CFR 11.50/11.70): password re-entry, meaning, content hash, and
voiding when signed data changes."""

import datetime as dt
import hashlib
import json

import pytest
from django.core.exceptions import PermissionDenied

from edc.audit.models import AuditEvent
from edc.datamanagement import selectors, services
from edc.datamanagement.models import Signature, SourceVerification
from edc.datamanagement.services import VisitRef
from edc.errors import DomainError
from tests.datamanagement.conftest import ctx_for, edit_form, make_form

pytestmark = pytest.mark.django_db

MEANING = "I attest that I reviewed this form and it is accurate."


def _expected_hash(level, target, forms, subject_id):
    records = sorted(
        (
            {
                "subject": subject_id,
                "event": f.event_code,
                "event_repeat": f.event_repeat,
                "form": f.form_code,
                "form_repeat": f.form_repeat,
                "status": f.status,
                "data": f.data,
            }
            for f in forms
        ),
        key=lambda r: (r["event"], r["event_repeat"], r["form"], r["form_repeat"]),
    )
    text = json.dumps(
        {"level": level, "target": target, "forms": records},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@pytest.fixture
def casebook(subject_a):
    """Two forms at screening, one at randomization."""
    return {
        "demographics": make_form(subject_a),
        "eligibility": make_form(subject_a, form_code="eligibility", data={"IELIFE": "Y"}),
        "randomization": make_form(
            subject_a, event_code="RAND", form_code="randomization", data={"STRESP": "CR"}
        ),
    }


def test_form_signature_stores_signer_time_meaning_and_content_hash(
    form_a, investigator_a, password
):
    before = dt.datetime.now(dt.UTC)
    signature = services.sign(
        ctx_for(investigator_a), level="form", target=form_a, password=password, meaning=MEANING
    )
    signature.refresh_from_db()
    sid = form_a.subject.subject_id
    assert signature.signer == investigator_a
    assert signature.signer_name == "Ivan Investigator (pi_a)"
    assert signature.meaning == MEANING
    assert signature.signed_at.utcoffset() == dt.timedelta(0) and signature.signed_at >= before
    assert signature.content_sha256 == _expected_hash(
        "form", f"{sid}/SCREEN#1/demographics#1", [form_a], sid
    )
    assert selectors.signature_matches_content(signature)
    audited = {
        r.item: r.new_value
        for r in AuditEvent.objects.filter(action="sign", object_id=str(signature.pk))
    }
    assert audited["meaning"] == MEANING
    assert audited["content_sha256"] == signature.content_sha256
    assert audited["signer"] == "Ivan Investigator (pi_a)"


def test_visit_and_casebook_hashes_cover_all_their_forms(casebook, investigator_a, password):
    subject = casebook["demographics"].subject
    sid = subject.subject_id
    ctx = ctx_for(investigator_a)
    visit = services.sign(
        ctx,
        level="visit",
        target=VisitRef(subject, "SCREEN", 1),
        password=password,
        meaning=MEANING,
    )
    whole = services.sign(ctx, level="casebook", target=subject, password=password, meaning=MEANING)
    screening = [casebook["demographics"], casebook["eligibility"]]
    assert visit.content_sha256 == _expected_hash("visit", f"{sid}/SCREEN#1", screening, sid)
    assert whole.content_sha256 == _expected_hash("casebook", sid, list(casebook.values()), sid)


def test_wrong_password_is_refused_and_audited(form_a, investigator_a):
    with pytest.raises(DomainError) as caught:
        services.sign(
            ctx_for(investigator_a), level="form", target=form_a, password="nope", meaning=MEANING
        )
    assert (caught.value.status, caught.value.code) == (403, "bad_credentials")
    assert not Signature.objects.exists()
    failed = AuditEvent.objects.get(action="signature_failed")
    assert failed.actor == investigator_a and failed.subject_id == form_a.subject_id
    assert failed.new_value.endswith("/SCREEN#1/demographics#1")


@pytest.mark.parametrize("role", ["site_staff", "monitor", "data_manager"])
def test_only_investigators_sign(role, form_a, password, site_a):
    from tests.factories import UserFactory, member

    user = UserFactory(username=f"u_{role}")
    member(user, site_a, role)
    with pytest.raises(PermissionDenied):
        services.sign(
            ctx_for(user), level="form", target=form_a, password=password, meaning=MEANING
        )


def test_investigator_of_another_site_cannot_sign(subject_b, investigator_a, password):
    other = make_form(subject_b)
    with pytest.raises(PermissionDenied):
        services.sign(
            ctx_for(investigator_a), level="form", target=other, password=password, meaning=MEANING
        )


def test_meaning_is_required_and_incomplete_forms_are_not_signed(
    subject_a, investigator_a, password
):
    draft = make_form(subject_a, status="in_progress")
    ctx = ctx_for(investigator_a)
    with pytest.raises(DomainError) as caught:
        services.sign(ctx, level="form", target=draft, password=password, meaning="  ")
    assert caught.value.field == "meaning"
    with pytest.raises(DomainError) as caught:
        services.sign(ctx, level="form", target=draft, password=password, meaning=MEANING)
    assert (caught.value.code, caught.value.status) == ("not_complete", 409)
    with pytest.raises(DomainError) as caught:
        services.sign(ctx, level="casebook", target=subject_a, password=password, meaning=MEANING)
    assert caught.value.code == "not_complete"


def test_a_signed_target_is_not_signed_twice(form_a, investigator_a, password):
    ctx = ctx_for(investigator_a)
    services.sign(ctx, level="form", target=form_a, password=password, meaning=MEANING)
    with pytest.raises(DomainError) as caught:
        services.sign(ctx, level="form", target=form_a, password=password, meaning=MEANING)
    assert (caught.value.code, caught.value.status) == ("already_signed", 409)


def test_editing_signed_data_voids_every_signature_covering_it(
    casebook, investigator_a, password, monitor
):
    subject = casebook["demographics"].subject
    ctx = ctx_for(investigator_a)
    on_form = services.sign(
        ctx, level="form", target=casebook["demographics"], password=password, meaning=MEANING
    )
    other_form = services.sign(
        ctx, level="form", target=casebook["eligibility"], password=password, meaning=MEANING
    )
    on_visit = services.sign(
        ctx,
        level="visit",
        target=VisitRef(subject, "SCREEN", 1),
        password=password,
        meaning=MEANING,
    )
    other_visit = services.sign(
        ctx, level="visit", target=VisitRef(subject, "RAND", 1), password=password, meaning=MEANING
    )
    on_casebook = services.sign(
        ctx, level="casebook", target=subject, password=password, meaning=MEANING
    )
    edit_form(ctx_for(investigator_a, "weighed again"), casebook["demographics"], WEIGHT="62.0")

    voided = {on_form.pk, on_visit.pk, on_casebook.pk}
    for signature in Signature.objects.all():
        if signature.pk in voided:
            assert signature.voided_at is not None and signature.resign_required
            assert signature.void_reason == "demographics at SCREEN#1 changed: weighed again"
            assert not selectors.signature_matches_content(signature)
        else:
            assert signature.voided_at is None and not signature.resign_required
            assert selectors.signature_matches_content(signature)
    assert {other_form.pk, other_visit.pk} == set(
        Signature.objects.filter(voided_at__isnull=True).values_list("pk", flat=True)
    )
    rows = AuditEvent.objects.filter(action="signature_voided")
    assert {int(r.object_id) for r in rows} == voided
    assert {r.reason for r in rows} == {"weighed again"}
    assert Signature.objects.count() == 5  # voiding keeps every row

    flags = selectors.form_flags(subject)
    changed = flags[casebook["demographics"].pk]
    assert (changed.signed, changed.resign_required) == (False, True)
    # Eligibility keeps its own form signature, so it stays signed.
    assert flags[casebook["eligibility"].pk].signed
    # Randomization lost its casebook signature but keeps its visit signature.
    assert flags[casebook["randomization"].pk].signed

    services.sign(
        ctx, level="form", target=casebook["demographics"], password=password, meaning=MEANING
    )
    assert not Signature.objects.get(pk=on_form.pk).resign_required
    assert Signature.objects.get(pk=on_casebook.pk).resign_required
    assert selectors.form_flags(subject)[casebook["demographics"].pk].signed


def test_after_form_change_query_budget(
    form_a, investigator_a, monitor, password, django_assert_num_queries
):
    ctx = ctx_for(investigator_a, "fix")
    with django_assert_num_queries(1):
        assert services.after_form_change(ctx, form_a, ["WEIGHT"]) == []
    services.sign(ctx, level="form", target=form_a, password=password, meaning=MEANING)
    services.sign(ctx, level="casebook", target=form_a.subject, password=password, meaning=MEANING)
    services.verify_source(ctx_for(monitor), form_a)
    services.verify_source(ctx_for(monitor), form_a, ["WEIGHT", "SEX"])
    with django_assert_num_queries(4):
        rows = services.after_form_change(ctx, form_a, ["WEIGHT"])
    assert sorted((r.action, r.item) for r in rows) == [
        ("sdv_cleared", "WEIGHT"),
        ("sdv_cleared", "form"),
        ("signature_voided", "casebook signature"),
        ("signature_voided", "form signature"),
    ]
    still = SourceVerification.objects.filter(cleared_at__isnull=True)
    assert list(still.values_list("item_code", flat=True)) == ["SEX"]


def test_a_status_change_alone_voids_the_signature(form_a, investigator_a, password):
    services.sign(
        ctx_for(investigator_a), level="form", target=form_a, password=password, meaning=MEANING
    )
    edit_form(ctx_for(investigator_a, "entered for the wrong subject"), form_a, status="removed")
    assert Signature.objects.get().voided_at is not None


def test_signing_locked_data_is_refused(form_a, investigator_a, data_manager, password):
    services.lock(ctx_for(data_manager), "subject", form_a.subject, reason="done")
    with pytest.raises(DomainError) as caught:
        services.sign(
            ctx_for(investigator_a), level="form", target=form_a, password=password, meaning=MEANING
        )
    assert caught.value.status == 423
