from django.core.management.base import BaseCommand
from django.utils.translation import gettext

from edc.audit.context import ChangeContext
from edc.errors import DomainError
from edc.reminders.services import sync_subject_from_records
from edc.subjects.models import Subject


class Command(BaseCommand):
    help = (
        "Rebuild the visit schedules of subjects from their lifecycle and saved forms (after "
        "deploying the reminders on existing data, or after an import). Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--study", help="only this study code")

    def handle(self, *args, study=None, **options):
        ctx = ChangeContext.system(reason="sync_schedules command")
        subjects = Subject.objects.select_related("study", "site").order_by(
            "study__code", "subject_id"
        )
        if study:
            subjects = subjects.filter(study__code=study)
        synced = skipped = 0
        for subject in subjects:
            try:
                done = sync_subject_from_records(ctx, subject)
            except DomainError as exc:
                self.stderr.write(f"{subject.subject_id}: {exc.message}")
                done = None
            synced += done is not None
            skipped += done is None
        self.stdout.write(
            gettext("%(synced)s subject schedule(s) synced, %(skipped)s skipped")
            % {"synced": synced, "skipped": skipped}
        )
