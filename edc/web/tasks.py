from celery import shared_task
from django.utils import timezone

from edc.web.models import Heartbeat


@shared_task(name="edc.heartbeat")
def heartbeat() -> None:
    """Beat schedules this and the worker runs it, so its timestamp shows both are alive."""
    Heartbeat.objects.update_or_create(name="worker", defaults={"at": timezone.now()})
