"""Regenerate a study's list from the escrowed seed and check it against the commitments."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

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
            raise CommandError(f"no study {study}")
        try:
            file_study, seed, salt = read_seed_file(seed_file)
        except (OSError, ValueError, KeyError) as exc:
            raise CommandError(f"cannot read the seed file {seed_file}: {exc}") from exc
        if file_study and file_study != study:
            raise CommandError(f"the seed file is for {file_study}, not {study}")
        checks = verify(found, seed, salt)
        for check in checks:
            self.stdout.write(f"{'OK  ' if check.ok else 'FAIL'} {check.name}: {check.detail}")
        failed = [c for c in checks if not c.ok]
        if failed:
            raise CommandError(f"{study}: {len(failed)} check(s) failed")
        self.stdout.write(f"{study}: VERIFIED — the list matches the commitments")
