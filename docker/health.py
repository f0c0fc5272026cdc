"""Podman: start the created containers of a compose project in dependency order, each once
the services it depends on are healthy (or started), running the health checks here.

    python health.py PROJECT COMPOSE_CMD...     (called by docker/stack.py with the Python
                                                 of the podman-compose venv: it has PyYAML)

Podman runs health checks on systemd timers; without systemd they never run by themselves,
and podman-compose before Podman 4.6 ignores `condition: service_healthy`. The health check
commands are the compose file's own (`podman healthcheck run`); STACK_TIMEOUT (default
1200 s) bounds the whole start; a container that exits stops it with its log's tail.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import yaml


def podman(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["podman", *args], capture_output=True, text=True)


def containers(project: str) -> dict[str, str]:
    """service -> container name."""
    out = podman("ps", "-a", "--filter", f"label=com.docker.compose.project={project}",
                 "--format", '{{.Names}}\t{{index .Labels "com.docker.compose.service"}}')
    return {svc: name for name, svc in (ln.split("\t") for ln in out.stdout.split("\n") if ln)}


def state(name: str) -> str:
    return podman("inspect", "-f", "{{.State.Status}}", name).stdout.strip()


def restarts(name: str) -> int:
    found = podman("inspect", "-f", "{{.RestartCount}}", name).stdout.strip()
    return int(found) if found.isdigit() else 0


# A service restarted this often while waited for here is crash-looping (a wrong password,
# say): say so at once, with its log, rather than wait out STACK_TIMEOUT. Restarts before
# (a server it needs was down: the chaos step of `make test-deploy`) do not count.
CRASH_LOOP = 5


def start_in_order(compose: list[str], project: str) -> None:
    config = yaml.safe_load(subprocess.run([*compose, "config"], capture_output=True,
                                           text=True, check=True).stdout)
    services = {n: s for n, s in config["services"].items() if not s.get("profiles")}
    names = containers(project)
    missing = set(services) - set(names)
    if missing:
        sys.exit(f"health: no container for {sorted(missing)} (compose up --no-start first)")
    deadline = time.monotonic() + float(os.environ.get("STACK_TIMEOUT", "1200"))
    began = time.monotonic()
    before = {svc: restarts(name) for svc, name in names.items() if svc in services}
    healthy: set[str] = set()   # health check passed, or running without a check
    started: set[str] = set()
    while len(healthy) < len(services):
        for svc, spec in services.items():
            if svc in started:
                continue
            deps = spec.get("depends_on") or {}
            deps = {d: "service_started" for d in deps} if isinstance(deps, list) else {
                d: (c or {}).get("condition", "service_started") for d, c in deps.items()}
            if all(d in healthy if c == "service_healthy" else d in started
                   for d, c in deps.items()):
                if state(names[svc]) != "running":
                    podman("start", names[svc])
                started.add(svc)
        for svc in sorted(started - healthy):
            name = names[svc]
            if "healthcheck" not in services[svc] or services[svc]["healthcheck"].get("disable"):
                healthy.add(svc)  # a client (order-generator): started is all compose promises
            elif state(name) in ("exited", "stopped", "dead"):
                log = podman("logs", "--tail", "30", name)
                sys.exit(f"health: {svc} exited\n{log.stdout}{log.stderr}")
            elif (count := restarts(name) - before[svc]) >= CRASH_LOOP:
                log = podman("logs", "--tail", "30", name)
                sys.exit(f"health: {svc} keeps restarting ({count} restarts); its last "
                         f"lines:\n{log.stdout}{log.stderr}")
            elif podman("healthcheck", "run", name).returncode == 0:
                healthy.add(svc)
                print(f"  {svc}: healthy at {time.monotonic() - began:.0f} s", flush=True)
        if time.monotonic() > deadline:
            sys.exit(f"health: not healthy in time: {sorted(set(services) - healthy)}")
        if len(healthy) < len(services):
            time.sleep(2)


if __name__ == "__main__":
    start_in_order(sys.argv[2:], sys.argv[1])
