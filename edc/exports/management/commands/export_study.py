"""manage.py export_study STUDY --format csv,xpt,parquet,odm|all --out DIR"""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext

from edc.accounts.scoping import scope_of
from edc.audit.context import ChangeContext
from edc.audit.models import Channel
from edc.errors import DomainError
from edc.exports import services
from edc.studies.models import Study


class Command(BaseCommand):
    help = (
        "Export a study's data (a locked snapshot, or current data marked UNLOCKED) as CSV, "
        "SAS XPT, Parquet and/or CDISC ODM 1.3.2, with a manifest of row counts and SHA-256."
    )

    def add_arguments(self, parser):
        parser.add_argument("study", help="study code, e.g. T-REIRR")
        parser.add_argument(
            "--format",
            action="append",
            required=True,
            dest="formats",
            help="csv, xpt, parquet, odm or all; repeat or separate with commas",
        )
        parser.add_argument("--out", required=True, help="folder to write (created if needed)")
        parser.add_argument("--sites", default="", help="site codes, comma separated (default all)")
        parser.add_argument(
            "--user",
            default="",
            help="export as this user: their role must allow exports and their sites apply",
        )

    def handle(self, *args, study, formats, out, sites, user, **options):
        found = Study.objects.filter(code=study).first()
        if found is None:
            raise CommandError(gettext("no study %(study)s") % {"study": repr(study)})
        out_dir = Path(out)
        if out_dir.exists() and any(out_dir.iterdir()):
            raise CommandError(
                gettext("%(folder)s is not empty; choose a new folder") % {"folder": out_dir}
            )
        scope = None
        ctx = ChangeContext(user=None, channel=Channel.SYSTEM, reason="export_study command")
        if user:
            account = get_user_model().objects.filter(username=user, is_active=True).first()
            if account is None:
                raise CommandError(gettext("no active user %(user)s") % {"user": repr(user)})
            scope = scope_of(account)
            ctx = ChangeContext(user=account, channel=Channel.SYSTEM, reason="export_study command")
        site_codes = [s.strip() for s in sites.split(",") if s.strip()] or None
        try:
            manifest = services.export_for_command(
                found, formats, out_dir, ctx=ctx, scope=scope, site_codes=site_codes
            )
        except (DomainError, PermissionDenied) as exc:
            raise CommandError(str(exc)) from exc
        for entry in manifest["files"]:
            self.stdout.write(f"{entry['path']}\t{entry['rows']}\t{entry['sha256']}")
        self.stdout.write(
            gettext("%(study)s %(status)s snapshot %(snapshot)s: %(count)s files in %(folder)s")
            % {
                "study": manifest["study"],
                "status": manifest["status"],
                "snapshot": manifest["snapshot_id"],
                "count": len(manifest["files"]),
                "folder": out_dir,
            }
        )
