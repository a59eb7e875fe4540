"""Reading settings from the environment. Pure Python: no Django import."""

import json
import os
import secrets
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

TRUE = {"1", "true", "yes", "on"}


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in TRUE


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [part.strip() for part in value.split(",") if part.strip()]


def database_from_url(url: str) -> dict:
    """Turn postgres://user:pass@host:port/name or sqlite:///path into a Django DATABASES entry."""
    parsed = urlparse(url)
    if parsed.scheme in {"postgres", "postgresql", "pgsql"}:
        options = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        # Server-side binding lets PostgreSQL prepare the statements a connection repeats
        # (psycopg's prepare_threshold): a third less database CPU per randomization in
        # make bench-randomize. Both can be switched off in the URL (e.g. behind a
        # transaction-pooling PgBouncer): ?server_side_binding=false&prepare_threshold=none.
        options["server_side_binding"] = options.get("server_side_binding", "true").lower() in TRUE
        threshold = options.get("prepare_threshold", "5").lower()
        options["prepare_threshold"] = None if threshold in {"", "none"} else int(threshold)
        entry = {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parsed.path.lstrip("/")),
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "",
            "PORT": str(parsed.port or ""),
            "CONN_MAX_AGE": int(options.pop("conn_max_age", "0")),
            "OPTIONS": options,
        }
        test_name = os.environ.get("EDC_TEST_DATABASE_NAME")
        if test_name:
            entry["TEST"] = {"NAME": test_name}
        return entry
    if parsed.scheme == "sqlite":
        path = unquote(parsed.path)
        # sqlite:///relative.db -> "/relative.db"; sqlite:////abs/path -> "//abs/path"
        name = path[1:] if path.startswith("//") else path.lstrip("/") or ":memory:"
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": name,
            # Writers wait for each other instead of failing with "database is locked".
            "OPTIONS": {"timeout": 30, "transaction_mode": "IMMEDIATE"},
        }
    raise ValueError(
        f"DATABASE_URL: unsupported scheme {parsed.scheme!r} (use postgres:// or sqlite://)"
    )


def secret_key(var_dir: Path) -> str:
    """SECRET_KEY from the environment, else a random key kept in var/ (never committed)."""
    from_env = os.environ.get("SECRET_KEY")
    if from_env:
        return from_env
    key_file = var_dir / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


FILE_SYSTEM_STORAGE = "django.core.files.storage.FileSystemStorage"


def storage_from_env(prefix: str, folder: Path) -> dict:
    """A STORAGES entry: a local folder by default, or any Django storage backend named in
    <prefix>_BACKEND with its options as JSON in <prefix>_OPTIONS, e.g. S3 through
    django-storages: storages.backends.s3.S3Storage, {"bucket_name": "edc-exports"}."""
    backend = os.environ.get(f"{prefix}_BACKEND") or FILE_SYSTEM_STORAGE
    raw = os.environ.get(f"{prefix}_OPTIONS")
    try:
        options = json.loads(raw) if raw else {}
    except json.JSONDecodeError as error:
        raise ValueError(f"{prefix}_OPTIONS: not valid JSON ({error})") from None
    if not isinstance(options, dict):
        raise ValueError(f"{prefix}_OPTIONS: must be a JSON object")
    if backend == FILE_SYSTEM_STORAGE:
        options.setdefault("location", str(folder))
    return {"BACKEND": backend, "OPTIONS": options}
