from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext

from edc.studies.protocol import check_file, translation_problems


class Command(BaseCommand):
    help = (
        "Validate study definition files without loading them; print every problem with its path, "
        "including every text missing in a language the study declares."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", type=Path)

    def handle(self, *args, files, **options):
        failed = 0
        for path in files:
            data, problems = check_file(path)
            if not problems:
                problems = translation_problems(data)
            if problems:
                failed += 1
                self.stdout.write(
                    gettext("%(file)s: %(count)s problem(s)")
                    % {"file": path, "count": len(problems)}
                )
                for problem in problems:
                    self.stdout.write(f"  {problem}")
            else:
                self.stdout.write(gettext("%(file)s: OK") % {"file": path})
        if failed:
            raise CommandError(
                gettext("%(failed)s of %(count)s file(s) have problems; nothing was loaded")
                % {"failed": failed, "count": len(files)}
            )
