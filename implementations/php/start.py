"""Start PHP 8.2's php-fpm behind nginx (both Debian packages) for the checklist, in the
foreground, as the current user, in a temporary folder; stop both on SIGTERM or SIGINT.

Environment: PORT (nginx on 127.0.0.1:PORT), CONFIG (defaults | recommended), TIMEOUTS=short
(1 s idle, 2 s absolute), REDIS_URL (recommended: the session handler and the login throttle).
Writes nginx.conf and php-fpm.conf into the temporary folder (deleted at exit); nginx reaches
php-fpm over a Unix socket in that folder. Only the standard library: ``python3 start.py``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
PHP_FPM = shutil.which("php-fpm8.2") or "/usr/sbin/php-fpm8.2"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
CONFIGS = ("defaults", "recommended")

NGINX_CONF = """\
{user}worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    server_tokens off;
    client_body_temp_path {tmp}/body;
    fastcgi_temp_path {tmp}/fastcgi;
    proxy_temp_path {tmp}/proxy;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    # Bounds: a silent or half-sent request is dropped (408) after 10 s; headers above 8 KB a
    # line or 4 x 8 KB in all get a 400/414/494; bodies above 64 KB a 413.
    client_header_timeout 10s;
    client_body_timeout 10s;
    send_timeout 10s;
    keepalive_timeout 20s;
    client_header_buffer_size 1k;
    large_client_header_buffers 4 8k;
    client_max_body_size 64k;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME {app}/index.php;
            fastcgi_param SCRIPT_NAME /index.php;
            fastcgi_pass unix:{tmp}/php-fpm.sock;
            fastcgi_read_timeout 15s;
        }}
    }}
}}
"""

FPM_CONF = """\
[global]
pid = {tmp}/php-fpm.pid
error_log = {tmp}/php-fpm.log
daemonize = no

[app]
listen = {tmp}/php-fpm.sock
listen.mode = 0600
pm = static
pm.max_children = 4
request_terminate_timeout = 15s
catch_workers_output = yes
clear_env = yes
{env}{ini}"""


def php_ini(config: str, tmp: Path, redis: urllib.parse.SplitResult | None) -> dict[str, str]:
    """Per-pool php.ini values. defaults: Debian's php.ini for php-fpm as installed, only the
    session files put in this run's folder. recommended: see README.md."""
    ini = {"session.save_path": f"{tmp}/sessions"}
    if config == "recommended":
        ini = {
            "session.save_handler": "redis",
            "session.save_path": f"tcp://{redis.hostname}:{redis.port}?prefix=PHPSESS:{tmp.name}:",
            "session.use_strict_mode": "1",
            "session.use_only_cookies": "1",
            "session.use_trans_sid": "0",
            "session.cookie_httponly": "1",
            "session.cookie_secure": "1",
            "session.cookie_samesite": "Lax",
            "session.cookie_lifetime": "0",
            "session.name": "__Host-sid",
            # The Redis handler keeps each session for gc_maxlifetime after its last request.
            "session.gc_maxlifetime": "1" if os.environ.get("TIMEOUTS") == "short" else "1800",
        }
    elif os.environ.get("TIMEOUTS") == "short":
        # The nearest thing php.ini has to an idle timeout (enforced only by garbage collection).
        ini["session.gc_maxlifetime"] = "1"
    return ini


def main() -> int:
    config = os.environ.get("CONFIG", "defaults")
    if config not in CONFIGS:
        print(f"CONFIG must be one of {CONFIGS}, not {config!r}", file=sys.stderr)
        return 2
    port = int(os.environ["PORT"])
    redis = urllib.parse.urlsplit(os.environ["REDIS_URL"]) if os.environ.get("REDIS_URL") else None
    if config == "recommended" and redis is None:
        print("CONFIG=recommended needs REDIS_URL", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="php-fpm-nginx-"))
    children: list[subprocess.Popen] = []
    stopping = []

    def stop(*_):
        stopping.append(True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        for sub in ("data", "sessions", "body", "fastcgi", "proxy", "uwsgi", "scgi"):
            (tmp / sub).mkdir()
        ini = php_ini(config, tmp, redis)
        env = {"CONFIG": config, "TIMEOUTS": os.environ.get("TIMEOUTS") or "normal"}
        env["DATA_DIR"] = f"{tmp}/data"
        if redis is not None:
            env.update(REDIS_HOST=redis.hostname, REDIS_PORT=redis.port)
        root = os.geteuid() == 0
        (tmp / "php-fpm.conf").write_text(
            FPM_CONF.format(
                tmp=tmp,
                env="".join(f'env[{k}] = "{v}"\n' for k, v in env.items()),
                ini="".join(f'php_admin_value[{k}] = "{v}"\n' for k, v in ini.items()),
            )
        )
        user = f"user {os.environ.get('USER', 'root')};\n" if root else ""
        (tmp / "nginx.conf").write_text(NGINX_CONF.format(user=user, tmp=tmp, app=HERE, port=port))
        fpm = [PHP_FPM, "--nodaemonize", "--fpm-config", str(tmp / "php-fpm.conf")]
        children.append(subprocess.Popen(fpm + (["--allow-to-run-as-root"] if root else [])))
        deadline = time.monotonic() + 10
        while not (tmp / "php-fpm.sock").exists():  # nginx starts once php-fpm listens
            if children[0].poll() is not None or time.monotonic() > deadline:
                return 1  # php-fpm's log is printed below
            time.sleep(0.02)
        nginx = [NGINX, "-e", "stderr", "-p", str(tmp), "-c", str(tmp / "nginx.conf")]
        children.append(subprocess.Popen(nginx))
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.1)
        return 0 if stopping else 1
    finally:
        for child in reversed(children):  # nginx first, then php-fpm
            if child.poll() is None:
                child.terminate()  # SIGTERM: nginx's and php-fpm's fast shutdown
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        log = tmp / "php-fpm.log"
        if log.exists() and (text := log.read_text(errors="replace").strip()):
            print(text, file=sys.stderr)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
