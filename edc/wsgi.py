import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "edc.settings")
application = get_wsgi_application()
# What loading the project created lives as long as the worker: frozen, it is no longer
# re-scanned by every full garbage collection (half the collector's cost per request).
gc.freeze()
