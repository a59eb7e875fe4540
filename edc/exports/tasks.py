from celery import shared_task

from edc.exports import services


@shared_task(name="edc.exports.run_export", acks_late=True)
def run_export(job_id: int) -> str:
    """Acknowledged only after it ran: a worker lost mid-export re-delivers it and the job
    starts over in a fresh folder."""
    return services.run_job(job_id).status
