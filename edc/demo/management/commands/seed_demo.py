from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext

from edc.demo.services import DEMO_PASSWORD, DEMO_USERS, seed_demo


class Command(BaseCommand):
    help = "Create demo sites, one user per role and demo subjects for every loaded study (run path only)."

    def handle(self, *args, **options):
        if not settings.EDC_DEMO:
            raise CommandError(
                gettext(
                    "seed_demo runs only with EDC_DEMO=1 (the make run path), never in "
                    "production settings"
                )
            )
        seeded = seed_demo()
        for demo in seeded:
            count = sum(len(s) for s in demo.subjects.values())
            self.stdout.write(
                gettext("%(study)s: %(sites)s sites, %(subjects)s subjects")
                % {"study": demo.study.code, "sites": len(demo.sites), "subjects": count}
            )
        self.stdout.write(
            gettext("Demo users (password %(password)s): %(users)s")
            % {"password": repr(DEMO_PASSWORD), "users": ", ".join(DEMO_USERS)}
        )
