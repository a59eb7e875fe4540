"""The proxies keep their connections to gunicorn open (nginx `keepalive`, Caddy by default),
which only threaded workers honour, and gunicorn must keep an idle connection longer than the
proxy does: otherwise the proxy can send a request on a connection gunicorn has just closed,
and a POST (a randomization) fails with 502, since proxies do not retry non-idempotent
requests. Read from the shipped files, as the installer and compose use them."""

import re
from pathlib import Path

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
# Caddy's reverse_proxy keeps idle upstream connections for 2 minutes unless told otherwise.
CADDY_IDLE_SECONDS = 120


def _gunicorn_options(command: str) -> dict[str, str]:
    words = command.replace('"', " ").replace(",", " ").split()
    return {word: words[i + 1] for i, word in enumerate(words[:-1]) if word.startswith("--")}


def test_gunicorn_under_nginx_is_threaded_and_outlasts_nginx_idle_connections():
    unit = (DEPLOY / "systemd" / "edc-web@.service").read_text()
    (exec_start,) = [line for line in unit.splitlines() if line.startswith("ExecStart=")]
    options = _gunicorn_options(exec_start)
    assert options["--threads"] == "@WEB_THREADS@"
    installer = (DEPLOY / "install-debian.sh").read_text()
    threads = int(re.search(r"EDC_WEB_THREADS:-(\d+)", installer).group(1))
    assert threads > 1, "sync workers close every connection nginx keeps alive"
    nginx = (DEPLOY / "nginx" / "edc.conf").read_text()
    upstream = nginx[nginx.index("upstream edc_web") : nginx.index("}")]
    assert re.search(r"^\s*keepalive \d+;", upstream, re.M)
    nginx_idle = int(re.search(r"keepalive_timeout (\d+)s;", upstream).group(1))
    assert int(options["--keep-alive"]) > nginx_idle


def test_gunicorn_under_caddy_is_threaded_and_outlasts_caddy_idle_connections():
    compose = (DEPLOY / "docker" / "compose.yaml").read_text()
    web = compose[compose.index("\n  web:") :]
    command = web[web.index("command:") : web.index("]")]
    options = _gunicorn_options(command)
    assert int(options["--threads"]) > 1
    assert int(options["--keep-alive"]) > CADDY_IDLE_SECONDS
    dockerfile = (DEPLOY / "docker" / "Dockerfile").read_text()
    cmd = _gunicorn_options(dockerfile[dockerfile.index("CMD") :])
    assert int(cmd["--threads"]) > 1
    assert int(cmd["--keep-alive"]) > CADDY_IDLE_SECONDS
