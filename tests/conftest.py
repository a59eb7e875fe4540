import pytest

from tests.factories import SiteFactory, UserFactory, load_study, member


@pytest.fixture
def study(db):
    return load_study()


@pytest.fixture
def site_a(study):
    return SiteFactory(study=study, code="01")


@pytest.fixture
def site_b(study):
    return SiteFactory(study=study, code="02")


@pytest.fixture
def coordinator_a(site_a):
    user = UserFactory(username="coord_a")
    member(user, site_a, "site_staff")
    return user


@pytest.fixture
def smtp():
    """This process sends its e-mail to a real SMTP server on loopback; the inbox has it."""
    from django.test import override_settings

    from tests.smtp import smtp_server

    with (
        smtp_server() as inbox,
        override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=inbox.port,
        ),
    ):
        yield inbox
