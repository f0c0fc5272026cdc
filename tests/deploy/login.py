"""The deployment's login checks (issue 21, item 4), run by tests/deploy/run.py.

Through the `ui` proxy on the host's DAGSTER_PORT: the UI answers 401 without credentials
and with wrong ones, 200 with the admin's; the viewer reaches only `/viewer/`, where the
read-only webserver refuses a launch; the `ctr-api` container holds no URL or password
(but the lake's bucket and the object store's read-only key).
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request

LAUNCH = """mutation { launchRun(executionParams: {selector: {repositoryLocationName:
"commerce", repositoryName: "__repository__", jobName: "customers_insights_job"}}) {
__typename ... on PythonError { message } ... on UnauthorizedError { message } } }"""
SECRET_NAMES = ("_URL", "PASSWORD", "URI", "SECRET", "TOKEN", "KEY")


def status(url: str, user: str | None = None, password: str | None = None,
           body: dict | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body else None,
                                     headers={"Content-Type": "application/json"})
    if user is not None:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""


def check_login(env: dict[str, str]) -> None:
    base = f"http://127.0.0.1:{env['DAGSTER_PORT']}"
    admin = (env["DAGSTER_UI_USER"], env["DAGSTER_UI_PASSWORD"])
    viewer = (env["DAGSTER_VIEWER_USER"], env["DAGSTER_VIEWER_PASSWORD"])
    assert status(f"{base}/server_info")[0] == 401
    assert status(f"{base}/server_info", admin[0], "wrong-password-123")[0] == 401
    assert status(f"{base}/server_info", *viewer)[0] == 401  # a viewer cannot write
    assert status(f"{base}/server_info", *admin)[0] == 200
    assert status(f"{base}/viewer/server_info")[0] == 401
    assert status(f"{base}/viewer/server_info", *viewer)[0] == 200
    code, text = status(f"{base}/viewer/graphql", *viewer, body={"query": LAUNCH})
    assert code == 200 and "UnauthorizedError" in text, (code, text[:300])


def check_api_env(env_lines: str, values: dict[str, str]) -> None:
    """`env_lines`: `env` as the ctr-api container sees it. No URL or password but the lake's
    bucket and the object store's read-only key (`values`: the stack's env file)."""
    env = dict(line.split("=", 1) for line in env_lines.splitlines() if "=" in line)
    leaked = [n for n in env if any(s in n for s in SECRET_NAMES) and n not in STORE_READ]
    assert not leaked, f"ctr-api holds {leaked}"
    if "AWS_ACCESS_KEY_ID" in env:
        assert env["AWS_ACCESS_KEY_ID"] == values["S3_API_ACCESS_KEY"], "not the read-only key"
        assert env["AWS_SECRET_ACCESS_KEY"] != values["S3_SECRET_KEY"]


# The lake's bucket and the object store's read-only identity (docker-compose.yml, ctr-api).
STORE_READ = {"LAKE_URL", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
