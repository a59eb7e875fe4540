"""Add strata for new sites or lengthen every list, from the committed seed, with a reason."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext

from edc.audit.context import ChangeContext
from edc.errors import DomainError
from edc.studies.models import Study
from randomization.services import extend_list


class Command(BaseCommand):
    help = "Extend STUDY's randomization list (new sites, longer lists); needs --reason."

    def add_arguments(self, parser):
        parser.add_argument("study")
        parser.add_argument("--min-slots", type=int, default=None)
        parser.add_argument("--reason", required=True)

    def handle(self, *args, study, min_slots, reason, **options):
        found = Study.objects.filter(code=study).first()
        if found is None:
            raise CommandError(gettext("no study %(study)s") % {"study": study})
        if min_slots is not None and min_slots < 1:
            raise CommandError(
                gettext("--min-slots must be at least 1, got %(value)s") % {"value": min_slots}
            )
        try:
            commitment = extend_list(
                ChangeContext.system(reason=reason), found, min_slots_per_stratum=min_slots
            )
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        self.stdout.write(
            gettext("%(study)s: list extended; list_sha256 %(sha)s")
            % {"study": study, "sha": commitment.list_sha256}
        )
