"""The Dagster UI's login: nginx (Debian's package) with HTTP basic authentication.

Open-source Dagster has no login, and anyone who reaches the webserver can launch any job
(issue 21). In compose only this proxy publishes a port: `/` goes to the writable webserver
for DAGSTER_UI_USER, `/viewer/` to a read-only webserver (`--read-only`) for
DAGSTER_VIEWER_USER (and the admin). The password files are written at start from the
environment as salted SHA-1 (`{SSHA}`, which nginx reads), in the container's /tmp, never in
the image, and never printed. docs/docker.md, "Login".
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import shutil
import sys
from pathlib import Path

WORKER = "www-data"
CONF = """{user}worker_processes 1;
pid {run}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {run}/body;
  proxy_temp_path {run}/proxy;
  fastcgi_temp_path {run}/fastcgi;
  uwsgi_temp_path {run}/uwsgi;
  scgi_temp_path {run}/scgi;
  map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
  server {{
    listen {port};
    client_max_body_size 16m;
    proxy_http_version 1.1;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection $connection_upgrade;
    proxy_set_header Host $host;
    proxy_read_timeout 300s;
    location = /health {{ auth_basic off; return 200 "ok\\n"; }}
    location /viewer/ {{
      auth_basic "Dagster (read-only)";
      auth_basic_user_file {run}/viewers;
      proxy_pass http://{viewer};
    }}
    location / {{
      auth_basic "Dagster";
      auth_basic_user_file {run}/admins;
      proxy_pass http://{admin};
    }}
  }}
}}
"""


def ssha(password: str) -> str:
    """nginx's `{SSHA}` scheme: base64(sha1(password + salt) + salt)."""
    salt = secrets.token_bytes(8)
    digest = hashlib.sha1(password.encode() + salt).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def credentials(prefix: str) -> tuple[str, str]:
    user, password = os.environ.get(f"{prefix}_USER", ""), os.environ.get(f"{prefix}_PASSWORD", "")
    if not user or len(password) < 12 or ":" in user:
        sys.exit(f"ui-proxy: set {prefix}_USER (no ':') and {prefix}_PASSWORD (12+ characters)")
    return user, password


def main() -> None:
    run = Path(os.environ.get("UI_PROXY_RUN_DIR", "/tmp/ui-proxy"))
    run.mkdir(parents=True, exist_ok=True, mode=0o700)
    if os.geteuid() == 0:
        shutil.chown(run, WORKER)
    admin, viewer = credentials("DAGSTER_UI"), credentials("DAGSTER_VIEWER")
    for name, entries in (("admins", [admin]), ("viewers", [admin, viewer])):
        path = run / name
        path.write_text("".join(f"{user}:{ssha(password)}\n" for user, password in entries))
        path.chmod(0o600)
        if os.geteuid() == 0:  # started as root (not in compose): workers run as www-data
            shutil.chown(path, WORKER)
    (run / "nginx.conf").write_text(CONF.format(
        user=f"user {WORKER};\n" if os.geteuid() == 0 else "", run=run,
        port=os.environ.get("UI_PROXY_PORT", "8080"),
        admin=os.environ.get("UI_ADMIN_UPSTREAM", "dagster-webserver:3000"),
        viewer=os.environ.get("UI_VIEWER_UPSTREAM", "dagster-viewer:3001")))
    os.execvp("nginx", ["nginx", "-c", str(run / "nginx.conf"), "-g", "daemon off;"])


if __name__ == "__main__":
    main()
