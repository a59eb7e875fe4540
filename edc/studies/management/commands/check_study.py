from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

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
                self.stdout.write(f"{path}: {len(problems)} problem(s)")
                for problem in problems:
                    self.stdout.write(f"  {problem}")
            else:
                self.stdout.write(f"{path}: OK")
        if failed:
            raise CommandError(
                f"{failed} of {len(files)} file(s) have problems; nothing was loaded"
            )
