"""Django settings. Everything comes from environment variables with safe defaults.

With no environment at all the system runs embedded: SQLite in var/ and a Celery broker on
the filesystem. DATABASE_URL and CELERY_BROKER_URL switch to PostgreSQL and Redis.
"""

import os
from pathlib import Path

from celery.schedules import crontab
from csp.constants import NONE, SELF, UNSAFE_INLINE

from edc.config import database_from_url, env_bool, env_list, secret_key, storage_from_env
from edc.mfa.policy import default_roles as mfa_default_roles

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("EDC_VAR_DIR", BASE_DIR / "var"))
STUDIES_DIR = BASE_DIR / "edc" / "studies"

SECRET_KEY = secret_key(VAR_DIR)
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# Wraps stored randomization seeds; defaults to SECRET_KEY. Set it separately in production so
# rotating SECRET_KEY does not make committed seeds unreadable (go_live --seed-out keeps an escrow copy).
RANDOMIZATION_SEED_KEY = os.environ.get("RANDOMIZATION_SEED_KEY", "")

# Demo data (seed_demo) is refused unless this is set: the run path sets it, production never does.
EDC_DEMO = env_bool("EDC_DEMO", False)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "csp",
    "drf_spectacular_sidecar",
    # Two-step sign-in: TOTP authenticators and recovery codes (edc.mfa).
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "edc.audit",
    "edc.accounts",
    "edc.studies",
    "edc.subjects",
    "edc.web",
    "edc.demo",
    "edc.datamanagement",
    "edc.exports",
    "edc.reminders",
    "edc.mfa",
    "crf",
    "randomization",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "edc.web.cache_headers.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After sessions, before CommonMiddleware (Django's documented order): the browser's
    # Accept-Language, else LANGUAGE_CODE.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # django-otp: request.user.is_verified() once the second factor was given in this session.
    "django_otp.middleware.OTPMiddleware",
    # A signed-in reader's saved language (over the browser's) and time zone.
    "edc.accounts.middleware.ReaderPreferencesMiddleware",
    # Until the second factor is given, every page leads to the code (or enrolment) page.
    "edc.mfa.middleware.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "edc.urls"
WSGI_APPLICATION = "edc.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "edc" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "edc.datamanagement.context_processors.query_inbox",
                "edc.accounts.context_processors.header_role_text",
            ],
            # On every page: `{{ moment|stamp }}` (reader's zone, zone named), code labels, study texts.
            "builtins": [
                "edc.web.templatetags.edc_time",
                "edc.web.templatetags.edc_labels",
                # `{{ text|study_text:study }}`: study texts in the reader's language.
                "edc.studies.templatetags.study_texts",
            ],
        },
    },
]

DATABASES = {
    "default": database_from_url(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'edc.sqlite3'}")
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# 21 CFR 11 idle timeout: a session ends after 30 minutes without a request.
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", 30 * 60))
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_HTTPONLY = True
HTTPS = env_bool("EDC_HTTPS", False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
# Behind the TLS proxy (deploy/nginx, deploy/docker/Caddyfile), which always sets this header,
# so Django knows the request came in over HTTPS.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
# Over HTTPS: plain HTTP is redirected, and browsers are told to use HTTPS only (HSTS, a year).
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = int(os.environ.get("EDC_HSTS_SECONDS", 31_536_000)) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = env_bool("EDC_HSTS_PRELOAD", HTTPS)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): scripts only from this site, never inline (the API docs
# use drf-spectacular's split Swagger view for that reason); style attributes are allowed, as the
# charts and calendars set widths inline. Nothing may frame the app.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "worker-src": [SELF, "blob:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
# Two-step sign-in (edc.mfa): the roles that must give a TOTP code after the password, unless a
# study's own policy (admin: two-step sign-in policies) says otherwise. Production requires it of
# investigators, data managers, statisticians and study admins (and Django staff); a demo site
# (EDC_DEMO, make run and the tests) of nobody, so demo users sign in with the password alone.
# EDC_MFA_ROLES=none requires it of nobody.
EDC_MFA_ROLES = [
    role
    for role in env_list("EDC_MFA_ROLES", list(mfa_default_roles(demo=EDC_DEMO)))
    if role != "none"
]
# The name authenticator apps show for the account.
OTP_TOTP_ISSUER = os.environ.get("EDC_MFA_ISSUER", "NPC EDC")

# Failed sign-ins before an account is locked for LOGIN_LOCKOUT_MINUTES.
LOGIN_MAX_FAILURES = int(os.environ.get("LOGIN_MAX_FAILURES", 5))
LOGIN_LOCKOUT_MINUTES = int(os.environ.get("LOGIN_LOCKOUT_MINUTES", 15))
# An API token lives this many days; whoever asks for one may ask for fewer, never more.
API_TOKEN_DAYS = int(os.environ.get("API_TOKEN_DAYS", 90))

# The language when neither a saved preference nor the browser names one we have.
LANGUAGE_CODE = os.environ.get("EDC_LANGUAGE_CODE", "en")
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
# Catalogues live with the code: edc/locale/ for the project; an app may keep its own locale/.
LOCALE_PATHS = [BASE_DIR / "edc" / "locale"]
# Timestamps are stored in UTC; pages and e-mails show them in the reader's zone
# (edc.accounts.middleware), always with the zone named (edc.localtime).
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Serve app static files straight from their folders too, so a missed collectstatic never breaks pages.
WHITENOISE_USE_FINDERS = True
STATICFILES_DIRS = [BASE_DIR / "edc" / "static"]
MEDIA_ROOT = VAR_DIR / "media"
# Where an export is built (each worker's local disk); the finished archive goes to the
# "exports" storage, which every web instance reads: a shared folder or an object store.
EXPORT_ROOT = VAR_DIR / "exports"
STORAGES = {
    # Uploads: FILE_STORAGE_BACKEND / FILE_STORAGE_OPTIONS (JSON), else MEDIA_ROOT.
    "default": storage_from_env("FILE_STORAGE", MEDIA_ROOT),
    # Export archives: EXPORT_STORAGE_BACKEND / EXPORT_STORAGE_OPTIONS (JSON), else EXPORT_ROOT.
    "exports": storage_from_env("EXPORT_STORAGE", EXPORT_ROOT),
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "edc.accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "edc.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON bodies are limited in size and nesting (edc/api/parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "edc.api.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "NPC EDC and randomization API",
    "DESCRIPTION": "Case report forms, randomization, data management and exports.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI and Redoc from the app's own static files, not a CDN: the docs work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"QueryStatusEnum": "edc.datamanagement.models.QUERY_STATUS_CHOICES"},
}

# E-mail goes through Django's SMTP backend when EMAIL_HOST is set; otherwise to files in var/mail.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", 25))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.filebased.EmailBackend",
)
EMAIL_FILE_PATH = VAR_DIR / "mail"
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "edc@localhost")
# Where people reach the EDC, for links in e-mails (e.g. https://edc.example.org); empty gives
# paths only.
EDC_BASE_URL = os.environ.get("EDC_BASE_URL", "")

# Celery. The embedded broker is a folder, so worker and beat run with no server.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
elif os.environ.get("EDC_BROKER_KEY_PREFIX"):
    # Several deployments (or test runs) sharing one Redis keep their queues apart.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"global_keyprefix": os.environ["EDC_BROKER_KEY_PREFIX"]}
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or None
CELERY_TASK_IGNORE_RESULT = CELERY_RESULT_BACKEND is None
CELERY_TASK_ALWAYS_EAGER = False
# A task is acknowledged only after it ran, so a worker crash re-delivers it.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict = {
    "heartbeat": {
        "task": "edc.heartbeat",
        "schedule": float(os.environ.get("EDC_HEARTBEAT_SECONDS", 30)),
    },
    # Allocations' derived items, calendars and e-mails (randomization.tasks). A late run only
    # finds more to do, so a queued run older than the interval is dropped.
    "randomization-follow-up": {
        "task": "randomization.follow_up_allocations",
        "schedule": float(os.environ.get("EDC_FOLLOW_UP_SECONDS", 5)),
        "options": {"expires": float(os.environ.get("EDC_FOLLOW_UP_SECONDS", 5))},
    },
    # The scan is idempotent and catches up on missed days; hourly only shortens the delay.
    # Daily at 00:05 Asia/Shanghai (CELERY_TIMEZONE is UTC); the scan works per site time zone.
    "reminders-scan": {
        "task": "edc.reminders.scan",
        "schedule": crontab(minute=5)
        if env_bool("EDC_REMINDER_SCAN_HOURLY", False)
        else crontab(minute=5, hour=16),
    },
    # E-mails telling sites of new queries: per query within seconds, and the daily digest of
    # yesterday's (UTC) queries for sites that chose one, 08:40 Asia/Shanghai.
    "query-notices": {
        "task": "edc.datamanagement.send_query_notices",
        "schedule": float(os.environ.get("EDC_QUERY_NOTICE_SECONDS", 30)),
        "options": {"expires": float(os.environ.get("EDC_QUERY_NOTICE_SECONDS", 30))},
    },
    "query-digest": {
        "task": "edc.datamanagement.send_query_digests",
        "schedule": crontab(minute=40, hour=0),
    },
    # The overdue digest per site, 08:30 Asia/Shanghai.
    "reminders-digest": {
        "task": "edc.reminders.send_digest",
        "schedule": crontab(minute=30, hour=0),
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
