import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

from edc.web.checks import log_superuser_warning

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "edc.settings")
application = get_wsgi_application()
# gunicorn runs no management command, so the deploy warning (superuser) goes to its log here.
log_superuser_warning()
# Every view module is imported now, not by a worker's first request (which took seconds and
# held up the requests behind it); then what loading created, which lives as long as the
# worker, is frozen so full garbage collections stop re-scanning it.
get_resolver().url_patterns  # noqa: B018
gc.freeze()
