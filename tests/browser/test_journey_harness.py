"""The journey harness itself: the served app answers a signed-in person, the 390 px layout
check catches a page that scrolls sideways, and page loads are counted."""

import pytest

from tests.browser.journey import sign_in, step
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_the_served_app_signs_a_person_in_and_step_catches_a_page_wider_than_a_phone(
    served, browser
):
    UserFactory(username="harness", first_name="Ada", last_name="Park")
    page = sign_in(browser, served.url, "harness")
    step(page, "signed in")
    assert (browser.folder / "01-signed-in.png").exists()
    assert (browser.folder / "01-signed-in-390.png").exists()
    assert browser.page_loads == 2  # the sign-in page, then the page after it
    assert page.viewport_size["width"] == 1280  # restored after the 390 px shot

    page.evaluate(
        "() => { const d = document.createElement('div'); d.id = 'too-wide';"
        " d.style.width = '900px'; d.style.height = '10px'; document.body.append(d); }"
    )
    with pytest.raises(AssertionError, match=r"at 390 px the page is \d+ px wide.*too-wide"):
        step(page, "too wide")
    page.context.close()
