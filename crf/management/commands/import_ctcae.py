"""Load the official NCI CTCAE v5.0 term table (.xlsx as published, or a CSV export of it)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext

from crf.ctcae_services import import_terms
from crf.ctcae_table import TableError, read_table
from edc.audit.context import ChangeContext


class Command(BaseCommand):
    help = "Import CTCAE v5.0 terms, grades and grade text from the official NCI spreadsheet."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="CTCAE_v5.0 .xlsx or .csv")

    def handle(self, *args, file: Path, **options):
        if not file.exists():
            raise CommandError(gettext("%(file)s: no such file") % {"file": file})
        try:
            rows = read_table(file)
        except TableError as exc:
            raise CommandError(f"{file}: {exc}") from exc
        summary = import_terms(
            ChangeContext.system(reason=f"import_ctcae {file.name}"), rows, source=file.name
        )
        self.stdout.write(
            gettext(
                "%(count)s terms read from %(file)s: %(added)s added, %(updated)s updated, "
                "%(unchanged)s unchanged"
            )
            % {
                "count": len(rows),
                "file": file.name,
                "added": summary.created,
                "updated": summary.updated,
                "unchanged": summary.unchanged,
            }
        )
