import pytest

from edc.config import database_from_url, env_bool


def test_postgres_url_is_parsed_into_django_settings():
    entry = database_from_url("postgres://alice:s%40cret@db.example:6543/edc?sslmode=require")
    assert entry["ENGINE"] == "django.db.backends.postgresql"
    assert (entry["NAME"], entry["USER"], entry["PASSWORD"], entry["HOST"], entry["PORT"]) == (
        "edc",
        "alice",
        "s@cret",
        "db.example",
        "6543",
    )
    assert entry["OPTIONS"] == {
        "sslmode": "require",
        "server_side_binding": True,
        "prepare_threshold": 5,
    }


def test_postgres_statement_preparation_can_be_switched_off_in_the_url():
    options = database_from_url(
        "postgres://db/edc?server_side_binding=false&prepare_threshold=none"
    )["OPTIONS"]
    assert options == {"server_side_binding": False, "prepare_threshold": None}
    assert (
        database_from_url("postgres://db/edc?prepare_threshold=2")["OPTIONS"]["prepare_threshold"]
        == 2
    )


def test_sqlite_urls_relative_and_absolute():
    assert database_from_url("sqlite:////var/lib/edc.db")["NAME"] == "/var/lib/edc.db"
    assert database_from_url("sqlite:///edc.db")["NAME"] == "edc.db"


def test_unknown_scheme_names_the_variable():
    with pytest.raises(ValueError, match="DATABASE_URL"):
        database_from_url("mysql://x/y")


def test_env_bool(monkeypatch):
    monkeypatch.delenv("X_FLAG", raising=False)
    assert env_bool("X_FLAG") is False
    monkeypatch.setenv("X_FLAG", "yes")
    assert env_bool("X_FLAG") is True
    monkeypatch.setenv("X_FLAG", "0")
    assert env_bool("X_FLAG") is False
