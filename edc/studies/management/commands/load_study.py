from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext

from edc.audit.context import ChangeContext
from edc.studies.protocol import DefinitionError, study_files
from edc.studies.services import load_study_file


class Command(BaseCommand):
    help = "Load or update studies from definition files (a changed file becomes a new protocol version)."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="*", type=Path)
        parser.add_argument("--all", action="store_true", help="load every file in edc/studies/")

    def handle(self, *args, files, all, **options):
        paths = list(files) + (study_files(settings.STUDIES_DIR) if all else [])
        if not paths:
            raise CommandError(gettext("name a study file or use --all"))
        ctx = ChangeContext.system(reason="load_study command")
        for path in paths:
            try:
                result = load_study_file(ctx, path)
            except DefinitionError as exc:
                for problem in exc.problems:
                    self.stderr.write(f"  {problem}")
                raise CommandError(
                    gettext("%(file)s: %(count)s problem(s); nothing was loaded")
                    % {"file": path, "count": len(exc.problems)}
                ) from exc
            state = "new version" if result.created_version else "unchanged"
            self.stdout.write(
                gettext("%(study)s: protocol v%(number)s (%(state)s) from %(file)s")
                % {
                    "study": result.study.code,
                    "number": result.version.number,
                    "state": state,
                    "file": path.name,
                }
            )
