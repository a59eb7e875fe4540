import pytest
from django.db import connection

from tests.factories import SiteFactory, UserFactory, load_study, member


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test database commits without waiting for its WAL to reach the disk: every
    transactional test ends by emptying ~100 tables, and the served app and workers commit each
    step. A crash could lose the last commits, which a throwaway test database does not mind;
    no test is about durability after a crash. Set on the database, so the processes the tests
    start (gunicorn, workers, manage.py) get it too."""
    if connection.vendor == "postgresql":
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            name = connection.ops.quote_name(connection.settings_dict["NAME"])
            cursor.execute(f"ALTER DATABASE {name} SET synchronous_commit = off")
            cursor.execute("SET synchronous_commit = off")


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
