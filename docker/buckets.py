"""Creates the buckets that LANDING_URL and LAKE_URL name (the compose `buckets` service).

    python docker/buckets.py      (the platform image; the AWS_* variables of the platform)

Idempotent: a bucket that exists is left as it is. A local LANDING_URL/LAKE_URL (empty) needs
no bucket. Retries while the store is still starting; exits non-zero after STORE_WAIT_SECONDS.
Prints the bucket names only (never a key).
"""

from __future__ import annotations

import os
import sys
import time

import pyarrow.fs as pafs

from resources.lib.storage import StoreSettings, s3_filesystem


def buckets(env: dict[str, str] | os._Environ[str] = os.environ) -> list[str]:
    """The distinct buckets of the s3:// URLs among LANDING_URL and LAKE_URL."""
    urls = (env.get(name, "") for name in ("LANDING_URL", "LAKE_URL"))
    names = [u.removeprefix("s3://").split("/", 1)[0] for u in urls if u.startswith("s3://")]
    return sorted(set(names))


def create(settings: StoreSettings, name: str) -> None:
    fs = s3_filesystem(settings)
    if fs.get_file_info(name).type == pafs.FileType.NotFound:
        # allow_bucket_creation is off on the shared filesystem: a client of its own here
        pafs.S3FileSystem(**{**_kwargs(settings), "allow_bucket_creation": True}).create_dir(name)
        print(f"bucket {name}: created", flush=True)
    else:
        print(f"bucket {name}: present", flush=True)


def _kwargs(settings: StoreSettings) -> dict[str, object]:
    endpoint = settings.endpoint_url.split("://", 1)
    scheme, host = (endpoint if len(endpoint) == 2 else (None, None))
    return {"access_key": settings.access_key_id or None,
            "secret_key": settings.secret_access_key or None,
            "session_token": settings.session_token or None,
            "region": settings.region or "us-east-1",
            "endpoint_override": host, "scheme": scheme}


def main() -> None:
    settings = StoreSettings.from_environment()
    deadline = time.monotonic() + float(os.environ.get("STORE_WAIT_SECONDS", "120"))
    for name in buckets():
        while True:
            try:
                create(settings, name)
                break
            except OSError as exc:
                if time.monotonic() > deadline:
                    sys.exit(f"buckets: {name} not created: {exc}")
                time.sleep(2)


if __name__ == "__main__":
    main()
