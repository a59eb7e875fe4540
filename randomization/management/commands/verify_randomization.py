"""Regenerate a study's list from the escrowed seed and check it against the commitments."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext

from edc.studies.models import Study
from randomization.verification import read_seed_file, verify


class Command(BaseCommand):
    help = "Check STUDY's commitments, stored list and allocations against the seed file."

    def add_arguments(self, parser):
        parser.add_argument("study")
        parser.add_argument("--seed-file", type=Path, required=True)

    def handle(self, *args, study, seed_file, **options):
        found = Study.objects.filter(code=study).first()
        if found is None:
            raise CommandError(gettext("no study %(study)s") % {"study": study})
        try:
            file_study, seed, salt = read_seed_file(seed_file)
        except (OSError, ValueError, KeyError) as exc:
            raise CommandError(
                gettext("cannot read the seed file %(file)s: %(problem)s")
                % {"file": seed_file, "problem": exc}
            ) from exc
        if file_study and file_study != study:
            raise CommandError(
                gettext("the seed file is for %(other)s, not %(study)s")
                % {"other": file_study, "study": study}
            )
        checks = verify(found, seed, salt)
        for check in checks:
            self.stdout.write(f"{'OK  ' if check.ok else 'FAIL'} {check.name}: {check.detail}")
        failed = [c for c in checks if not c.ok]
        if failed:
            raise CommandError(
                gettext("%(study)s: %(count)s check(s) failed")
                % {"study": study, "count": len(failed)}
            )
        self.stdout.write(
            gettext("%(study)s: VERIFIED — the list matches the commitments") % {"study": study}
        )
