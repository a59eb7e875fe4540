"""WSGI entry point (gunicorn edc.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

from edc.web.checks import log_superuser_warning

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "edc.settings")
application = get_wsgi_application()
# gunicorn runs no management command, so the deploy warning (superuser) goes to its log here.
log_superuser_warning()
