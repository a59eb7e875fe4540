"""A lock and a save running at the same time: the lock waits for the save that already holds
its row, so the snapshot contains that change, and no save passes the check afterwards."""

import threading
import time

import pytest
from django.db import connection, transaction

from crf.models import FormInstance
from edc.datamanagement import services
from edc.datamanagement.selectors import dataset_snapshot, study_lock
from edc.errors import DomainError
from tests.datamanagement.conftest import ctx_for, edit_form

pytestmark = pytest.mark.django_db(transaction=True)


def test_study_lock_waits_for_a_save_in_progress(study, form_a, data_manager, coordinator_a):
    outcome = {}

    def lock_study():
        try:
            outcome["lock"] = services.lock(ctx_for(data_manager), "study", study, reason="final")
        except Exception as exc:  # reported to the main thread below
            outcome["error"] = exc
        finally:
            connection.close()

    locker = threading.Thread(target=lock_study)
    with transaction.atomic():
        form = FormInstance.objects.select_for_update().get(pk=form_a.pk)
        services.assert_form_writable(form)
        locker.start()
        time.sleep(0.5)
        assert locker.is_alive(), "the lock must wait for the save holding the form row"
        form.data = {**form.data, "WEIGHT": "70"}
        form.save()
        services.after_form_change(ctx_for(coordinator_a, "reweighed"), form, ["WEIGHT"])
    locker.join(timeout=10)
    assert "error" not in outcome, outcome.get("error")
    lock = study_lock(study)
    assert lock.pk == outcome["lock"].pk
    assert lock.snapshot_sha256 == dataset_snapshot(study)[0]
    with pytest.raises(DomainError) as caught:
        edit_form(ctx_for(coordinator_a, "after the lock"), form_a, WEIGHT="71")
    assert caught.value.status == 423
    assert FormInstance.objects.get(pk=form_a.pk).data["WEIGHT"] == "70"
