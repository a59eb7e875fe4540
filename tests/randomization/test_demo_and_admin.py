"""The demo step takes every demo study live; the admin shows allocations read-only."""

import pytest
from django.test import Client

from edc.demo.services import seed_demo
from randomization.demo import seed_demo_randomization
from randomization.models import Commitment, RandomizationScheme


def test_demo_step_takes_every_study_live_once(study):
    demo = seed_demo()
    seed_demo_randomization(demo)
    seed_demo_randomization(demo)
    live = RandomizationScheme.objects.filter(status="live")
    assert {s.study.code for s in live} == {d.study.code for d in demo}
    assert Commitment.objects.count() == len(demo)


@pytest.mark.parametrize("path", ["randomization/allocation/", "randomization/commitment/"])
def test_admin_lists_are_read_only(study, live, path):
    from django.contrib.auth import get_user_model

    from tests.factories import member

    # A superuser: allocations are clinical data, which study admins do not see in the admin.
    admin_user = get_user_model().objects.create_user(
        "radmin", password="x-1234567890", is_staff=True, is_superuser=True
    )
    member(admin_user, study, "study_admin")
    client = Client()
    client.force_login(admin_user)
    assert client.get(f"/admin/{path}").status_code == 200
    assert client.get(f"/admin/{path}add/").status_code == 403
