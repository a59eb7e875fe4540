"""WSGI entry point (gunicorn edc.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "edc.settings")
application = get_wsgi_application()
