"""Long query lists are paged (50 a page) with their filters kept, on the study's query list and
on the personal inbox; a page costs the same number of queries whatever the list's length."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from edc.datamanagement import services
from tests.sitework.conftest import ctx, logged_in, save_dm

pytestmark = pytest.mark.django_db

LIST = "/studies/T-CRF/dm/queries/"


def raise_many(data_manager, form, count: int) -> list[int]:
    return [
        services.raise_query(ctx(data_manager), form, item_code="WEIGHT", text=f"Check {n}").pk
        for n in range(count)
    ]


def shown(page: str) -> list[str]:
    return re.findall(r">Q(\d+)</a>", page)


def test_the_query_list_pages_by_fifty_and_keeps_its_filters(subject, coordinator, data_manager):
    pks = raise_many(data_manager, save_dm(coordinator, subject), 120)
    client = logged_in(data_manager)

    first = client.get(LIST, {"status": "open", "site": "01"}).content.decode()
    assert len(shown(first)) == 50 and "Page 1 of 3" in first and "120 match" in first
    assert 'href="?status=open&amp;site=01&amp;page=2" rel="next"' in first
    # Newest first, so the last page holds the 20 oldest.
    last = client.get(LIST, {"status": "open", "site": "01", "page": 3}).content.decode()
    assert sorted(int(pk) for pk in shown(last)) == sorted(pks)[:20]
    assert 'rel="next"' not in last and "Page 3 of 3" in last
    # Forms are named as the protocol names them, not by code.
    assert "Demographics · Screening" in first


def test_a_query_list_page_costs_the_same_for_ten_or_a_hundred(subject, coordinator, data_manager):
    form = save_dm(coordinator, subject)
    client = logged_in(data_manager)
    client.get(LIST)  # the protocol definitions are read once per process

    def cost() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(LIST).status_code == 200
        return len(captured)

    raise_many(data_manager, form, 10)
    ten = cost()
    raise_many(data_manager, form, 90)
    assert cost() == ten


def test_the_inbox_is_paged_and_counts_every_waiting_query(subject, coordinator, data_manager):
    raise_many(data_manager, save_dm(coordinator, subject), 60)
    client = logged_in(coordinator)
    first = client.get("/queries/").content.decode()
    assert "60 waiting" in first and len(shown(first)) == 50 and "Page 1 of 2" in first
    second = client.get("/queries/", {"page": 2}).content.decode()
    assert len(shown(second)) == 10 and 'rel="prev"' in second
