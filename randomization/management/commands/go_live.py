"""Take a study's randomization live: generate the list and record its commitments."""

import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext

from edc.audit.context import ChangeContext
from edc.errors import DomainError
from edc.studies.models import Study
from randomization.services import go_live
from randomization.verification import seed_file_text


class Command(BaseCommand):
    help = "Generate STUDY's randomization list from a fresh 256-bit seed and commit to it."

    def add_arguments(self, parser):
        parser.add_argument("study")
        parser.add_argument("--min-slots", type=int, default=None, help="slots per stratum")
        parser.add_argument(
            "--seed-out",
            type=Path,
            default=None,
            help="write the seed and salt to this file (mode 0600) for escrow",
        )

    def handle(self, *args, study, min_slots, seed_out, **options):
        found = Study.objects.filter(code=study).first()
        if found is None:
            raise CommandError(gettext("no study %(study)s") % {"study": study})
        if min_slots is not None and min_slots < 1:
            raise CommandError(
                gettext("--min-slots must be at least 1, got %(value)s") % {"value": min_slots}
            )
        if seed_out is not None and seed_out.exists():
            raise CommandError(
                gettext("%(file)s exists; refusing to overwrite a seed file") % {"file": seed_out}
            )
        try:
            result = go_live(
                ChangeContext.system(reason="go_live command"),
                found,
                min_slots_per_stratum=min_slots,
            )
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        if seed_out is not None:
            descriptor = os.open(seed_out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(seed_file_text(study, result.seed, result.salt) + "\n")
        commitment = result.commitment
        self.stdout.write(
            gettext("%(study)s: randomization is live (%(method)s)")
            % {"study": study, "method": result.scheme.method}
        )
        self.stdout.write(gettext("slots generated: %(count)s") % {"count": commitment.slot_count})
        self.stdout.write(f"params_sha256: {commitment.params_sha256}")
        self.stdout.write(f"list_sha256:   {commitment.list_sha256}")
        self.stdout.write(f"seed_sha256:   {commitment.seed_sha256}")
        if seed_out is not None:
            self.stdout.write(
                gettext("seed and salt written to %(file)s: keep it in escrow") % {"file": seed_out}
            )
