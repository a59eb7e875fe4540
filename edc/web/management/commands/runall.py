"""Run the web server, a Celery worker and Celery beat together until interrupted."""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.translation import gettext


class Command(BaseCommand):
    help = "Start gunicorn, a Celery worker and Celery beat; stop all three on Ctrl-C."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default=os.environ.get("EDC_BIND", "127.0.0.1:8000"))
        parser.add_argument(
            "--web-workers", type=int, default=int(os.environ.get("EDC_WEB_WORKERS", 2))
        )

    def handle(self, *args, bind, web_workers, **options):
        bin_dir = os.path.dirname(sys.executable)
        beat_schedule = settings.CELERY_BEAT_SCHEDULE_FILENAME
        commands = {
            "web": [
                os.path.join(bin_dir, "gunicorn"),
                "edc.wsgi",
                "--bind",
                bind,
                "--workers",
                str(web_workers),
                "--access-logfile",
                "-",
                "--graceful-timeout",
                "5",
            ],
            "worker": [
                os.path.join(bin_dir, "celery"),
                "-A",
                "edc",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                "2",
                "--without-gossip",
                "--without-mingle",
            ],
            "beat": [
                os.path.join(bin_dir, "celery"),
                "-A",
                "edc",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                beat_schedule,
            ],
        }
        processes = {
            name: subprocess.Popen(cmd, start_new_session=True) for name, cmd in commands.items()
        }
        self.stdout.write(
            gettext("Serving on %(url)s (web, worker and beat running; Ctrl-C stops them)")
            % {"url": f"http://{bind}/"}
        )
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping:
                for name, process in processes.items():
                    if process.poll() is not None:
                        self.stderr.write(
                            gettext("%(name)s exited with %(code)s; stopping the others")
                            % {"name": name, "code": process.returncode}
                        )
                        stopping = True
                time.sleep(0.5)
        finally:
            # The parent of each group shuts its own children down (warm shutdown for Celery).
            for process in processes.values():
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            deadline = time.time() + 10
            for process in processes.values():
                try:
                    process.wait(timeout=max(0.1, deadline - time.time()))
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
