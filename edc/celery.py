"""The Celery application.

With no CELERY_BROKER_URL the broker is kombu's filesystem transport under var/broker:
a real worker and a real beat process talk through it, no server needed.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "edc.settings")

app = Celery("edc")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
