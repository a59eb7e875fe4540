"""Run what deploy/install-debian.sh installed, as systemd would, on a machine without systemd:
each unit's ExecStart with its EnvironmentFile and WorkingDirectory, and nginx with the
installed site under a main configuration of its own (never the system's)."""

from __future__ import annotations

import os
import shlex
import signal
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def read_unit(path: Path) -> dict[str, str]:
    """The [Service] keys of a unit file (continuation lines joined)."""
    keys: dict[str, str] = {}
    section = ""
    text = path.read_text().replace("\\\n", " ")
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
        elif section == "Service" and "=" in line:
            key, value = line.split("=", 1)
            keys[key] = value if key not in keys else f"{keys[key]}\n{value}"
    return keys


def read_environment_file(path: Path) -> dict[str, str]:
    env = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            env[key.strip()] = value
    return env


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)


@dataclass
class Running:
    processes: list[Process] = field(default_factory=list)

    def add(self, process: Process) -> Process:
        self.processes.append(process)
        return process

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()


def start_unit(unit: Path, log_dir: Path, instance: str = "") -> Process:
    """Start the unit's ExecStart as systemd would, with %i and %H filled in."""
    keys = read_unit(unit)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EDC_", "DATABASE_"))}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    for key in ("EMAIL_HOST", "EMAIL_PORT", "EMAIL_BACKEND", "CELERY_BROKER_URL"):
        env.pop(key, None)
    for line in keys.get("Environment", "").splitlines():
        name, value = line.split("=", 1)
        env[name] = value
    env.update(read_environment_file(Path(keys["EnvironmentFile"])))
    env["PYTHONUNBUFFERED"] = "1"
    command = (
        keys["ExecStart"]
        .replace("%i", instance)
        .replace("%H", socket.gethostname())
        .replace("%%", "%")
    )
    name = unit.name.replace("@", f"@{instance}")
    log_path = log_dir / f"{name}.log"
    log = log_path.open("w")
    popen = subprocess.Popen(
        shlex.split(command),
        cwd=keys["WorkingDirectory"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return Process(name, popen, log_path)


def start_nginx(site: Path, work_dir: Path) -> Process:
    """nginx in the foreground with a main configuration that includes only `site`."""
    work_dir.mkdir(parents=True, exist_ok=True)
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (work_dir / sub).mkdir(exist_ok=True)
    config = work_dir / "nginx.conf"
    config.write_text(
        f"""daemon off;
user root;
worker_processes 2;
pid {work_dir}/nginx.pid;
error_log {work_dir}/error.log warn;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    access_log {work_dir}/access.log;
    client_body_temp_path {work_dir}/body;
    proxy_temp_path {work_dir}/proxy;
    fastcgi_temp_path {work_dir}/fastcgi;
    uwsgi_temp_path {work_dir}/uwsgi;
    scgi_temp_path {work_dir}/scgi;
    include {site};
}}
"""
    )
    log_path = work_dir / "nginx.log"
    checked = subprocess.run(
        ["/usr/sbin/nginx", "-t", "-c", str(config), "-p", str(work_dir)],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stderr
    popen = subprocess.Popen(
        ["/usr/sbin/nginx", "-c", str(config), "-p", str(work_dir)],
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return Process("nginx", popen, log_path)


def wait_for_port(port: int, process: Process, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while True:
        assert process.popen.poll() is None, f"{process.name} exited:\n{process.log()}"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            assert time.monotonic() < deadline, f"{process.name} did not listen:\n{process.log()}"
            time.sleep(0.1)


def wait_for_log(process: Process, text: str, count: int = 1, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while process.log().count(text) < count:
        assert process.popen.poll() is None, f"{process.name} exited:\n{process.log()}"
        assert time.monotonic() < deadline, f"{process.name}: no {text!r}:\n{process.log()}"
        time.sleep(0.1)


def tls_context(cafile: Path) -> ssl.SSLContext:
    """Trusts the installed (self-signed) certificate, and checks the host name against it."""
    return ssl.create_default_context(cafile=str(cafile))
