"""`make up` / `make down`: the compose stack on the engine found here, Docker or Podman.

    python3 docker/stack.py up | down | wait | compose ARGS...

- Engine: $ENGINE (docker|podman), else Docker when its engine answers, else Podman.
- Images: $IMAGES=official (docker-compose.yml alone) | local (+ docker/compose.local.yml:
  third-party servers built here, docker/local/) | auto (default: local when Docker Hub
  does not answer).
- Podman: podman-compose (from PyPI, into a venv in the cache), and, on a machine without
  systemd, docker/local/containers.conf. Podman has no health-check timers without systemd
  and podman-compose ignores `service_healthy` before Podman 4.6, so `up` creates the
  containers and starts them here in dependency order, running each health check itself.
- $COMPOSE_ENV_FILE (default docker/.env), $COMPOSE_PROJECT (default commerce-platform).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCKER = ROOT / "docker"
CACHE = Path(os.environ.get("COMMERCE_PLATFORM_CACHE", Path.home() / ".cache/commerce-platform"))
TOOLS = CACHE / "podman-compose-venv"
ENV_FILE = Path(os.environ.get("COMPOSE_ENV_FILE", DOCKER / ".env")).resolve()
PROJECT = os.environ.get("COMPOSE_PROJECT", "commerce-platform")
PLATFORM_IMAGE = "commerce-platform:local"
LOCAL_BASE = os.environ.get("LOCAL_BASE_IMAGE", "localhost/debian-base:bookworm")


def run(*cmd: str | Path, check: bool = True, quiet: bool = False) -> int:
    out = subprocess.DEVNULL if quiet else None
    return subprocess.run([str(c) for c in cmd], check=check, stdout=out, stderr=out).returncode


def ok(*cmd: str) -> bool:
    try:
        return run(*cmd, check=False, quiet=True) == 0
    except FileNotFoundError:
        return False


def engine() -> str:
    chosen = os.environ.get("ENGINE") or (
        "docker" if ok("docker", "info") and ok("docker", "compose", "version")
        else "podman" if shutil.which("podman") else ""
    )
    if not chosen:
        sys.exit("stack: neither a Docker engine nor podman found (docs/docker.md)")
    if chosen == "podman" and "CONTAINERS_CONF" not in os.environ and not Path(
        "/run/systemd/system"
    ).is_dir():
        os.environ["CONTAINERS_CONF"] = str(DOCKER / "local" / "containers.conf")
    return chosen


def local_images() -> bool:
    mode = os.environ.get("IMAGES", "auto")
    if mode in ("official", "local"):
        return mode == "local"
    try:  # Docker Hub answers 401 (auth needed) when it is reachable at all
        urllib.request.urlopen("https://registry-1.docker.io/v2/", timeout=5)
        return False
    except urllib.error.HTTPError:
        return False
    except OSError:
        return True


def env_file_values() -> dict[str, str]:
    if not ENV_FILE.exists():
        sys.exit(f"stack: {ENV_FILE} missing: cp docker/.env.example docker/.env and set "
                 "the passwords")
    values = {}
    for line in ENV_FILE.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values


def compose_cmd(eng: str, local: bool) -> list[str]:
    files = ["-f", str(DOCKER / "docker-compose.yml")]
    if local:
        files += ["-f", str(DOCKER / "compose.local.yml")]
    common = [*files, "--env-file", str(ENV_FILE), "-p", PROJECT]
    if eng == "docker":
        return ["docker", "compose", *common]
    tool = TOOLS / "bin" / "podman-compose"
    if not tool.exists():
        run(sys.executable if sys.version_info >= (3, 10) else "python3", "-m", "venv", TOOLS)
        run(TOOLS / "bin" / "pip", "install", "-q", "podman-compose==1.6.0")
    return [str(tool), *common]


def build_images(eng: str, local: bool) -> None:
    start = time.monotonic()
    if local:
        run(DOCKER / "local" / "build.sh", eng)
    base = ["--build-arg", f"BASE_IMAGE={LOCAL_BASE}"] if local else []
    # Built here rather than by compose: Podman's builder needs the ignore file named
    # (the repository's .venv alone is gigabytes).
    run(eng, "build", "-q", "--ignorefile", DOCKER / "Dockerfile.dockerignore", *base,
        "-t", PLATFORM_IMAGE, "-f", DOCKER / "Dockerfile", ROOT, quiet=True)
    print(f"images ready in {time.monotonic() - start:.0f} s")


def landing_dir() -> Path:
    path = Path(env_file_values().get("LANDING_DIR", "../data/landing"))
    path = path if path.is_absolute() else (DOCKER / path).resolve()
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:  # the containers write there as uid 1000 (docker/Dockerfile)
        os.chown(path, 1000, 1000)
    return path


def podman_wait(compose: list[str]) -> None:
    """The health-gated start (docker/health.py), with the podman-compose venv's Python."""
    run(TOOLS / "bin" / "python", DOCKER / "health.py", PROJECT, *compose)


def up() -> None:
    eng, local = engine(), local_images()
    images = "local (docker/compose.local.yml)" if local else "official"
    print(f"engine: {eng}; third-party images: {images}")
    landing_dir()
    compose = compose_cmd(eng, local)
    build_images(eng, local)
    start = time.monotonic()
    if eng == "docker":
        run(*compose, "up", "-d", "--wait")
    else:
        run(*compose, "up", "-d", "--no-start", quiet=True)
        podman_wait(compose)
    print(f"stack healthy in {time.monotonic() - start:.0f} s")
    env = env_file_values()
    print(f"Dagster UI     http://127.0.0.1:{env.get('DAGSTER_PORT', '3000')}\n"
          f"Page           http://127.0.0.1:{env.get('API_PORT', '8000')}/app\n"
          f"API docs       http://127.0.0.1:{env.get('API_PORT', '8000')}/docs\n"
          f"Spark master   http://127.0.0.1:{env.get('SPARK_UI_PORT', '8080')}\n"
          f"TRINO_URL=http://127.0.0.1:{env.get('TRINO_PORT', '8089')}  (catalog commerce)\n"
          f"Kafka (host)   localhost:29092\n"
          f"landing folder {landing_dir()}")


def main(argv: list[str]) -> None:
    command = argv[0] if argv else "up"
    if command == "up":
        up()
    elif command == "down":
        eng = engine()
        run(*compose_cmd(eng, local_images()), "down")
    elif command == "wait":
        eng = engine()
        compose = compose_cmd(eng, local_images())
        if eng == "docker":
            run(*compose, "up", "-d", "--wait")
        else:
            podman_wait(compose)
    elif command == "compose":
        eng = engine()
        sys.exit(run(*compose_cmd(eng, local_images()), *argv[1:], check=False))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
