"""Web pages: the subject panel, confirm-then-randomize, the allocation and the report."""

import re

import pytest
from django.template import Context, Template
from django.test import Client, RequestFactory

from randomization.models import Allocation
from randomization.services import follow_up_allocations
from tests.randomization.helpers import registered_subject


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def panel_html(subject, user) -> str:
    request = RequestFactory().get("/")
    request.user = user
    template = Template("{% load randomization_tags %}{% randomization_panel subject %}")
    return template.render(Context({"request": request, "subject": subject}))


@pytest.fixture
def subject(live, site_a):
    return registered_subject(site_a, "PR")


def test_panel_offers_randomize_to_site_staff_once_eligible(subject, coordinator_a, statistician):
    html = panel_html(subject, coordinator_a)
    assert 'id="randomize-button"' in html
    assert 'id="randomize-button"' not in panel_html(subject, statistician)


def test_panel_explains_why_an_ineligible_subject_cannot_be_randomized(live, site_a, coordinator_a):
    html = panel_html(registered_subject(site_a, eligibility="entered"), coordinator_a)
    assert "randomize-button" not in html
    assert "Eligibility has not been confirmed by an investigator." in html


def test_confirm_shows_strata_then_randomizes_and_mails_site_staff(
    subject, coordinator_a, site_a, smtp, django_capture_on_commit_callbacks
):
    client = signed_in(coordinator_a)
    page = client.get(f"/studies/T-MINI/subjects/{subject.subject_id}/randomize/")
    assert page.status_code == 200
    text = page.content.decode()
    strata = text[text.index('id="strata-values"') :]
    assert "Response" in strata and "(PR)" in strata and "Site" in strata
    key = re.search(r'name="idempotency_key" value="([^"]+)"', text).group(1)
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(
            f"/studies/T-MINI/subjects/{subject.subject_id}/randomize/", {"idempotency_key": key}
        )
    assert done.status_code == 302 and done.url.endswith("/allocation/")
    allocation = Allocation.objects.get(subject=subject)
    assert smtp.messages == []
    assert follow_up_allocations() == (1, 0)
    result = client.get(done.url).content.decode()
    assert f"{allocation.arm} — Arm {allocation.arm}" in result
    assert [to for to, _ in smtp.messages] == [[site_a.staff_email]]
    # A double submit of the same form gives the same allocation, not an error.
    again = client.post(
        f"/studies/T-MINI/subjects/{subject.subject_id}/randomize/", {"idempotency_key": key}
    )
    assert again.status_code == 302 and Allocation.objects.count() == 1
    assert "Arm" in panel_html(subject, coordinator_a) and "Details" in panel_html(
        subject, coordinator_a
    )


def test_monitor_cannot_open_the_randomize_page(subject, study):
    from tests.factories import UserFactory, member

    monitor = UserFactory()
    member(monitor, study, "monitor")
    response = signed_in(monitor).get(f"/studies/T-MINI/subjects/{subject.subject_id}/randomize/")
    assert response.status_code == 403


def test_report_shows_balance_chart_and_list_use_to_the_statistician_only(
    live, site_a, site_b, coordinator_a, statistician
):
    from edc.audit.context import ChangeContext
    from randomization.services import randomize
    from tests.factories import UserFactory, member

    coordinator_b = UserFactory()
    member(coordinator_b, site_b, "site_staff")
    made = []
    for site, user in ((site_a, coordinator_a), (site_b, coordinator_b)):
        for response in ("CR", "CR", "PR"):
            subject = registered_subject(site, response)
            made.append(randomize(ChangeContext(user, "web"), subject).allocation)
    page = signed_in(statistician).get("/studies/T-MINI/randomization/")
    assert page.status_code == 200
    html = page.content.decode()
    table = html[html.index('id="balance-table"') : html.index("</table>")]
    for key, site in (("response=CR", "01"), ("response=PR", "02")):
        counts = [
            sum(1 for a in made if a.stratum.key == key and a.site.code == site and a.arm == arm)
            for arm in ("A", "B")
        ]
        # Each count cell also shows its distance from the ratio's expectation (<small>).
        row = re.search(rf"<td>{re.escape(key)} · site {site}</td>(.*?)</tr>", table, re.S)
        assert [int(n) for n in re.findall(r"<td>(\d+) <small", row.group(1))] == counts
    assert "<svg" in html and 'id="balance-chart"' in html
    use = html[html.index('id="list-use"') :]
    assert re.search(r"<code>response=CR</code></td><td>4</td>", use)
    assert "list.csv" in html
    csv = signed_in(statistician).get("/studies/T-MINI/randomization/list.csv").content.decode()
    assert csv.count("\n") == 1 + live.commitment.slot_count
    assert signed_in(coordinator_a).get("/studies/T-MINI/randomization/").status_code == 403
    assert signed_in(coordinator_a).get("/studies/T-MINI/randomization/list.csv").status_code == 403
