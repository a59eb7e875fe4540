"""A real gunicorn serving the app against a given database, and keep-alive JSON clients.

Used by the concurrency test and by ``python -m randomization.bench``: both drive the API over
HTTP from many threads at once, as sites and other systems do."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    host: str
    port: int
    log_path: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""


def start_gunicorn(
    database_url: str,
    log_path: Path,
    *,
    workers: int = 4,
    threads: int = 1,
    settings_module: str = "edc.settings",
    extra_env: dict[str, str] | None = None,
    wsgi: str = "edc.wsgi",
    timeout: float = 60,
) -> Server:
    """Start gunicorn in its own process group and wait until it answers."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDC_TEST_")}
    env.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE=settings_module,
        PYTHONUNBUFFERED="1",
        LOG_LEVEL=env.get("LOG_LEVEL", "WARNING"),
    )
    env.update(extra_env or {})
    command = [
        os.path.join(os.path.dirname(sys.executable), "gunicorn"),
        wsgi,
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--graceful-timeout",
        "5",
        "--keep-alive",
        "30",
    ]
    if threads > 1:
        command += ["--worker-class", "gthread", "--threads", str(threads)]
    log = log_path.open("w")
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    server = Server(process, "127.0.0.1", port, log_path)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{server.log()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"gunicorn did not start:\n{server.log()}") from None
            time.sleep(0.05)
    return server


class JsonClient:
    """One keep-alive connection; reconnects when the server closed it."""

    def __init__(self, host: str, port: int, token: str):
        self.host, self.port, self.token = host, port, token
        self.connection: http.client.HTTPConnection | None = None

    def request(
        self, method: str, path: str, body: dict | None = None, headers: dict | None = None
    ) -> tuple[int, dict]:
        payload = json.dumps(body or {}).encode() if method != "GET" else None
        all_headers = {
            "Authorization": f"Token {self.token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            **(headers or {}),
        }
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=120)
            try:
                self.connection.request(method, path, body=payload, headers=all_headers)
                response = self.connection.getresponse()
                data = response.read()
                if response.getheader("Connection", "").lower() == "close":
                    self.connection.close()
                    self.connection = None
                return response.status, json.loads(data or b"{}")
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # Only a connection the server closed while idle is retried, before any reply.
                self.connection.close()
                self.connection = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None
