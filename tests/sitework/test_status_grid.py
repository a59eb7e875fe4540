"""The site status grid: subjects × visits, each form's state, filters, pages, and a query
count that does not grow with the number of subjects."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from edc.accounts.scoping import scope_of
from edc.datamanagement import selectors, services
from edc.datamanagement.form_states import FormState
from tests.factories import UserFactory, member, screen
from tests.sitework.conftest import ctx, logged_in, save_dm

pytestmark = pytest.mark.django_db


def dm_state(grid, subject) -> str:
    row = next(r for r in grid.rows if r.subject.pk == subject.pk)
    cell = next(c for c in row.cells if c.event_code == "SCREENING")
    return next(f.state for f in cell.forms if f.form_code == "dm")


def test_each_cell_shows_the_state_of_each_form(
    site, coordinator, investigator, monitor, data_manager
):
    states = {}
    for name in ["empty", "draft", "complete", "queried", "verified", "signed", "locked"]:
        states[name] = screen(site)
    save_dm(coordinator, states["draft"], complete=False)
    for name in ["complete", "queried", "verified", "signed", "locked"]:
        save_dm(coordinator, states[name])
    form = lambda name: states[name].forms.get(form_code="dm")  # noqa: E731
    services.raise_query(ctx(monitor), form("queried"), item_code="WEIGHT", text="Chart?")
    services.verify_source(ctx(monitor), form("verified"))
    services.sign(
        ctx(investigator),
        level="form",
        target=form("signed"),
        password="correct-horse-battery-9",
        meaning="I attest",
    )
    services.lock(ctx(data_manager), "subject", states["locked"], "clean")

    grid = selectors.site_status_grid(scope_of(coordinator), site)

    assert {name: dm_state(grid, s) for name, s in states.items()} == {
        "empty": FormState.NOT_STARTED,
        "draft": FormState.IN_PROGRESS,
        "complete": FormState.COMPLETE,
        "queried": FormState.OPEN_QUERY,
        "verified": FormState.VERIFIED,
        "signed": FormState.SIGNED,
        "locked": FormState.LOCKED,
    }
    assert [code for code, _ in grid.events][:2] == ["SCREENING", "INDUCTION"]


def test_filter_by_state_and_pages(site, coordinator, monitor):
    subjects = [screen(site) for _ in range(5)]
    for subject in subjects[:3]:
        save_dm(coordinator, subject)
    services.raise_query(
        ctx(monitor), subjects[1].forms.get(form_code="dm"), item_code="SEX", text="?"
    )
    scope = scope_of(coordinator)

    queried = selectors.site_status_grid(scope, site, state="open_query")
    assert [r.subject.pk for r in queried.rows] == [subjects[1].pk]
    complete = selectors.site_status_grid(scope, site, state="complete")
    assert [r.subject.pk for r in complete.rows] == [subjects[0].pk, subjects[2].pk]
    assert selectors.site_status_grid(scope, site, state="locked").rows == ()

    first = selectors.site_status_grid(scope, site, per_page=2)
    third = selectors.site_status_grid(scope, site, per_page=2, page=3)
    assert first.page.paginator.num_pages == 3
    assert [r.subject.pk for r in third.rows] == [subjects[4].pk]
    # A state the grid does not filter by shows every subject rather than failing.
    assert len(selectors.site_status_grid(scope, site, state="bogus").rows) == 5


def _grid_queries(scope, site) -> int:
    with CaptureQueriesContext(connection) as captured:
        grid = selectors.site_status_grid(scope, site)
        assert grid.rows
    return len(captured)


def test_the_grid_costs_the_same_queries_for_few_and_many_subjects(site, coordinator, monitor):
    scope = scope_of(coordinator)
    few = [screen(site) for _ in range(2)]
    for subject in few:
        save_dm(coordinator, subject)
    selectors.site_status_grid(scope, site)  # the protocol definition is read once per process
    with_few = _grid_queries(scope, site)
    for _ in range(15):
        subject = screen(site)
        form = save_dm(coordinator, subject)
        services.raise_query(ctx(monitor), form, item_code="WEIGHT", text="?")
        services.verify_source(ctx(monitor), form, ["SEX"])
    with_many = _grid_queries(scope, site)
    assert with_few == with_many == 3


def test_the_grid_page_has_a_legend_labels_links_and_same_queries(
    site, coordinator, monitor, django_assert_max_num_queries
):
    subject = screen(site)
    form = save_dm(coordinator, subject)
    services.raise_query(ctx(monitor), form, item_code="WEIGHT", text="?")
    client = logged_in(coordinator)
    address = f"/studies/T-CRF/dm/sites/{site.code}/grid/"
    page = client.get(address).content.decode()
    assert 'class="legend"' in page and "Open query" in page and "Source-verified" in page
    form_url = f"/studies/T-CRF/subjects/{subject.subject_id}/forms/SCREENING/1/dm/1/"
    assert f'href="{form_url}"' in page
    assert 'aria-label="Demographics, Screening: Open query"' in page

    def page_queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(address).status_code == 200
        return len(captured)

    few = page_queries()
    for _ in range(8):
        save_dm(coordinator, screen(site))
    assert page_queries() == few


def test_other_sites_subjects_are_not_in_the_grid(site, other_site, coordinator):
    mine, theirs = screen(site), screen(other_site)
    grid = selectors.site_status_grid(scope_of(coordinator), site)
    assert [r.subject.pk for r in grid.rows] == [mine.pk]
    assert (
        logged_in(coordinator).get(f"/studies/T-CRF/dm/sites/{other_site.code}/grid/").status_code
        == 404
    )
    outsider = UserFactory(username="outsider")
    member(outsider, other_site, "site_staff")
    assert selectors.site_status_grid(scope_of(outsider), site).rows == ()
    assert [
        r.subject.pk for r in selectors.site_status_grid(scope_of(outsider), other_site).rows
    ] == [theirs.pk]


def test_the_data_management_page_links_each_sites_grid(site, other_site, data_manager):
    page = logged_in(data_manager).get("/studies/T-CRF/dm/").content.decode()
    links = page[page.index('id="grid-links"') :]
    assert f'href="/studies/T-CRF/dm/sites/{site.code}/grid/"' in links
    assert f'href="/studies/T-CRF/dm/sites/{other_site.code}/grid/"' in links
