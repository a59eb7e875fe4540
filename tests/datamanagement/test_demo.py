import pytest

from crf.models import FormInstance
from edc.datamanagement.demo import seed_demo_datamanagement
from edc.datamanagement.models import Lock, Query, Signature, SourceVerification
from edc.demo.services import seed_demo
from tests.datamanagement.conftest import make_form

pytestmark = pytest.mark.django_db


def test_demo_shows_every_feature_once(study):
    demo = seed_demo()
    for subject in demo[0].subjects["01"][:2]:
        make_form(subject)
        make_form(subject, form_code="eligibility", data={"IELIFE": "Y"})
    seed_demo_datamanagement(demo)
    assert sorted(Query.objects.values_list("status", flat=True)) == ["answered", "open"]
    assert SourceVerification.objects.count() == 1
    signature = Signature.objects.get()
    assert signature.signer.username == "investigator" and signature.voided_at is None
    # seed_demo's export step locks a whole demo site; this step adds one form lock.
    locked = Lock.objects.get(level="form")
    assert (
        locked.level == "form" and FormInstance.objects.filter(pk=locked.form_instance_id).exists()
    )
    seed_demo_datamanagement(demo)
    assert Query.objects.count() == 2 and Lock.objects.filter(level="form").count() == 1
