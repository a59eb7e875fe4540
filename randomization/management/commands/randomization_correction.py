"""Administrative corrections, each with a mandatory reason and an audit row."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext

from edc.audit.context import ChangeContext
from edc.errors import DomainError
from edc.studies.models import Study
from randomization.models import Allocation
from randomization.services import flag_randomized_in_error, record_stratum_error, withdraw_slot


class Command(BaseCommand):
    help = (
        "withdraw-slot STRATUM SEQUENCE | in-error SUBJECT | stratum-error SUBJECT factor=level... "
        "(all need --reason)"
    )

    def add_arguments(self, parser):
        parser.add_argument("study")
        parser.add_argument("action", choices=["withdraw-slot", "in-error", "stratum-error"])
        parser.add_argument("target", help="stratum key, or subject ID")
        parser.add_argument("values", nargs="*", help="sequence, or factor=level pairs")
        parser.add_argument("--reason", required=True)

    def handle(self, *args, study, action, target, values, reason, **options):
        found = Study.objects.filter(code=study).first()
        if found is None:
            raise CommandError(gettext("no study %(study)s") % {"study": study})
        ctx = ChangeContext.system(reason=reason)
        try:
            if action == "withdraw-slot":
                if len(values) != 1 or not values[0].isdigit():
                    raise CommandError(gettext("withdraw-slot needs STRATUM SEQUENCE"))
                withdraw_slot(ctx, found, target, int(values[0]))
            else:
                allocation = Allocation.objects.filter(
                    study=found, subject__subject_id=target
                ).first()
                if allocation is None:
                    raise CommandError(
                        gettext("%(subject)s is not randomized in %(study)s")
                        % {"subject": target, "study": study}
                    )
                if action == "in-error":
                    flag_randomized_in_error(ctx, allocation)
                else:
                    malformed = [value for value in values if "=" not in value]
                    if malformed or not values:
                        raise CommandError(
                            "stratum-error needs FACTOR=LEVEL values, got "
                            + (", ".join(malformed) or "none")
                        )
                    correct = dict(value.split("=", 1) for value in values)
                    record_stratum_error(ctx, allocation, correct)
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        self.stdout.write(
            gettext("%(study)s: %(action)s recorded for %(subject)s")
            % {"study": study, "action": action, "subject": target}
        )
