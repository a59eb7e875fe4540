from django.db import models


class Heartbeat(models.Model):
    """Last time a background process proved it is alive (beat schedules, the worker runs)."""

    name = models.CharField(max_length=40, unique=True)
    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.at:%Y-%m-%d %H:%M:%S}"
