"""Work that follows a committed allocation, done by a Celery worker instead of the HTTP request:
the copy into the randomization form's derived items, the arm's visit calendar and the e-mails.

Nothing is queued per allocation. Celery beat runs ``follow_up_allocations`` every few seconds
(EDC_FOLLOW_UP_SECONDS) and it takes every allocation not yet marked done, so an allocation is
followed up even when the broker or the web process was down at its commit; publishing a task
per allocation also cost the randomization API about 1 ms of server CPU.
"""

from __future__ import annotations

from celery import shared_task

from randomization import services


@shared_task(name="randomization.follow_up_allocations", ignore_result=True)
def follow_up_allocations() -> dict[str, int]:
    """Derived items, calendar, then e-mails to site staff (and the study admin at 80/100 %)
    for every pending allocation; a failed one stays pending for the next run."""
    done, failed = services.follow_up_allocations()
    return {"done": done, "failed": failed}
