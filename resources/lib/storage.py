"""Where the platform's files live: a `Location` is a local folder or `s3://bucket/prefix` on
any S3-compatible store, and every read, write, listing and move of landing and lake files
goes through it (pyarrow.fs underneath; docs/storage.md says why that library).

- a local location is today's folder: `path()` is a path on this disk, writes are atomic by
  a hidden temporary name and a rename (`resources.lib.files.atomic_write`);
- on a bucket, an object exists only once its upload completed, so a write builds the whole
  content first (in memory, or in a local temporary file when large) and uploads it: a
  reader sees the old object or the new one, never a part;
- `StoreSettings` are the standard `AWS_*` variables' values; the secret key is never shown
  (`repr` hides it, `describe()` names the endpoint and bucket only).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs

from resources.lib.files import atomic_write

DEFAULT_DATA_DIR = "data/local"  # PLATFORM_DATA_DIR unset
SPOOL_BYTES = 64 << 20  # a write larger than this goes through a local temporary file
CHUNK = 8 << 20


class StoreUnavailable(OSError):
    """The store of a location could not be reached or refused the request: the message
    names the location (never a credential) and what the client said."""


@dataclass(frozen=True)
class StoreSettings:
    """How to reach an S3-compatible store: the `AWS_*` variables' values (empty: the SDK's
    own defaults, as for AWS S3 itself)."""

    endpoint_url: str = ""
    access_key_id: str = ""
    secret_access_key: str = field(default="", repr=False)
    region: str = ""
    session_token: str = field(default="", repr=False)

    @classmethod
    def from_environment(cls, env: os._Environ[str] | dict[str, str] = os.environ,
                         ) -> StoreSettings:
        """The standard variables of this process (code outside Dagster: the API)."""
        return cls(*(env.get(f"AWS_{name}", "") for name in (
            "ENDPOINT_URL", "ACCESS_KEY_ID", "SECRET_ACCESS_KEY", "REGION", "SESSION_TOKEN")))

    def storage_options(self) -> dict[str, str]:
        """The same settings for delta-rs and Polars (object_store's keys). Holds the secret:
        never logged, never put in metadata."""
        options = {"AWS_REGION": self.region or "us-east-1"}
        for key, value in (("AWS_ENDPOINT_URL", self.endpoint_url),
                           ("AWS_ACCESS_KEY_ID", self.access_key_id),
                           ("AWS_SECRET_ACCESS_KEY", self.secret_access_key),
                           ("AWS_SESSION_TOKEN", self.session_token)):
            if value:
                options[key] = value
        if self.endpoint_url.startswith("http://"):
            options["AWS_ALLOW_HTTP"] = "true"
        return options


_filesystems: dict[StoreSettings, pafs.S3FileSystem] = {}
_lock = threading.Lock()


def s3_filesystem(settings: StoreSettings) -> pafs.S3FileSystem:
    """One pyarrow S3 filesystem per settings and process (its client pool is reused)."""
    with _lock:
        if settings not in _filesystems:
            endpoint = urlsplit(settings.endpoint_url) if settings.endpoint_url else None
            _filesystems[settings] = pafs.S3FileSystem(
                access_key=settings.access_key_id or None,
                secret_key=settings.secret_access_key or None,
                session_token=settings.session_token or None,
                region=settings.region or "us-east-1",
                endpoint_override=endpoint.netloc if endpoint else None,
                scheme=endpoint.scheme if endpoint else None,
                connect_timeout=5, request_timeout=30,
            )
        return _filesystems[settings]


@dataclass(frozen=True)
class Entry:
    """One file of a listing: its path relative to the location, size and mtime (on a
    bucket, the object's Last-Modified, whole seconds)."""

    rel: str
    size: int
    mtime_ns: int


class Location:
    """A folder on this disk or a prefix of a bucket (see the module docstring)."""

    def __init__(self, url: str | os.PathLike[str],
                 settings: StoreSettings | None = None) -> None:
        text = os.fspath(url)
        self.is_local = not text.startswith("s3://")
        if self.is_local:
            self.root, self.fs = str(Path(text).resolve()), pafs.LocalFileSystem()
        else:
            self.root = text.removeprefix("s3://").strip("/")
            self.fs = s3_filesystem(settings or StoreSettings())
        self.settings = settings or StoreSettings()

    def __repr__(self) -> str:
        return f"Location({self.url!r})"

    @property
    def url(self) -> str:
        return self.root if self.is_local else f"s3://{self.root}"

    def child(self, *parts: str) -> Location:
        """The location `parts` below this one."""
        rel = "/".join(p.strip("/") for p in parts if p)
        return Location(f"{self.url}/{rel}" if rel else self.url, self.settings)

    @property
    def name(self) -> str:
        """The last part of the location (a file's name when it names a file)."""
        return self.root.rsplit("/", 1)[-1]

    @property
    def parent(self) -> Location:
        return Location(self.url.rsplit("/", 1)[0], self.settings)

    def path(self, rel: str = "") -> str:
        """The filesystem path of `rel` (for `self.fs`)."""
        return f"{self.root}/{rel}" if rel else self.root

    def uri(self, rel: str = "") -> str:
        """`rel` as a URL engines take (delta-rs, Polars): a local path or `s3://...`."""
        return self.path(rel) if self.is_local else f"s3://{self.path(rel)}"

    def spark_uri(self, rel: str = "") -> str:
        """`rel` as Spark (Hadoop) reads it: a local path or `s3a://...`."""
        return self.path(rel) if self.is_local else f"s3a://{self.path(rel)}"

    def storage_options(self) -> dict[str, str] | None:
        """delta-rs/Polars storage options for this location (None on this disk). Holds the
        secret: pass it to the engine, never log it."""
        return None if self.is_local else self.settings.storage_options()

    def dataset(self, rel: str = "", **kwargs: Any) -> ds.Dataset:
        """A pyarrow dataset of the Parquet files under `rel` (DuckDB and Polars scan it)."""
        return ds.dataset(self.path(rel), filesystem=self.fs, format="parquet", **kwargs)

    def local(self, rel: str = "") -> Path:
        """`rel` as a path on this disk; only for a local location."""
        if not self.is_local:
            raise ValueError(f"{self.url} is not on this disk")
        return Path(self.path(rel))

    def describe(self, rel: str = "") -> str:
        """For logs and metadata: the URL and, on a bucket, the endpoint (no credential)."""
        where = self.uri(rel)
        if self.is_local or not self.settings.endpoint_url:
            return where
        endpoint = urlsplit(self.settings.endpoint_url)
        return f"{where} (at {endpoint.scheme}://{endpoint.hostname}:{endpoint.port or ''})"

    # -- listing -------------------------------------------------------------------------

    def list(self, recursive: bool = True) -> list[Entry]:
        """Every file under the location, sorted by rel (none when it does not exist). On a
        bucket, one flat listing of the prefix (a LIST call per 1,000 objects), no GET."""
        selector = pafs.FileSelector(self.root, recursive=recursive, allow_not_found=True)
        cut = len(self.root) + 1
        try:
            infos = self.fs.get_file_info(selector)
        except OSError as exc:
            if self.is_local:
                raise
            raise StoreUnavailable(f"listing {self.describe()} failed: {exc}") from exc
        return sorted((Entry(i.path[cut:], i.size, i.mtime_ns or 0) for i in infos
                       if i.type == pafs.FileType.File), key=lambda e: e.rel)

    def info(self, rel: str = "") -> Entry | None:
        i = self.fs.get_file_info(self.path(rel))
        return Entry(rel, i.size, i.mtime_ns or 0) if i.type == pafs.FileType.File else None

    def exists(self, rel: str = "") -> bool:
        return self.info(rel) is not None

    # -- reading -------------------------------------------------------------------------

    def open(self, rel: str = "") -> pa.NativeFile:
        """A random-access reader of `rel` (Parquet, Polars, DuckDB take it as a file)."""
        return self.fs.open_input_file(self.path(rel))

    def read_bytes(self, rel: str = "") -> bytes:
        """The whole file in one read (on a bucket one ranged GET of the object's size: an
        input stream's unbounded read goes in 256 kB GETs, 40 for 10 MB)."""
        with self.fs.open_input_file(self.path(rel)) as file:
            return file.read()

    def sha256(self, rel: str = "") -> str:
        """Hex SHA-256 of the file's bytes, read once in chunks."""
        digest = hashlib.sha256()
        with self.fs.open_input_stream(self.path(rel)) as stream:
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
        return digest.hexdigest()

    # -- writing -------------------------------------------------------------------------

    def write(self, rel: str, write: Callable[[Path], Any], durable: bool = False) -> str:
        """Replace `rel` with what `write(tmp)` leaves in a local file: atomically (a rename
        here, one completed upload on a bucket). `durable`: here, fsynced before and after
        the rename (an upload is durable once it completed). Returns the URI written."""
        if self.is_local:
            atomic_write(self.local(rel), write, durable=durable)
            return self.uri(rel)
        with tempfile.TemporaryDirectory(prefix="upload-") as folder:
            tmp = Path(folder) / Path(self.path(rel)).name
            write(tmp)
            self._upload(tmp, rel)
        return self.uri(rel)

    def write_bytes(self, rel: str, data: bytes) -> str:
        if self.is_local:
            return self.write(rel, lambda tmp: tmp.write_bytes(data))
        with self.fs.open_output_stream(self.path(rel)) as out:
            out.write(data)  # built whole first: the upload completes with all of it
        return self.uri(rel)

    def _upload(self, source: Path, rel: str) -> None:
        if source.stat().st_size <= SPOOL_BYTES:
            self.write_bytes(rel, source.read_bytes())
            return
        pafs.copy_files(str(source), self.path(rel), source_filesystem=pafs.LocalFileSystem(),
                        destination_filesystem=self.fs)

    def spark_input(self, path: Path, rel: str) -> str:
        """A file on this disk as a URI the Spark cluster reads: the path itself when this
        location is on this disk too (the cluster shares it), else uploaded to `rel` here
        (`s3a://`; the caller deletes it when the cluster is done)."""
        if self.is_local:
            return str(path.resolve())
        self._upload(path, rel)
        return self.spark_uri(rel)

    def delete(self, rel: str) -> None:
        """Delete `rel`; already gone is fine."""
        try:
            self.fs.delete_file(self.path(rel))
        except FileNotFoundError:
            pass

    def delete_tree(self, rel: str = "") -> None:
        """Delete every file under `rel` (a folder or prefix); already gone is fine."""
        try:
            self.fs.delete_dir(self.path(rel))
        except FileNotFoundError:
            pass

    def move(self, rel: str, to: str) -> None:
        """Move `rel` to `to` (both relative to this location): a rename here, a copy then a
        delete on a bucket (the copy is complete before the original goes)."""
        if self.is_local:
            self.local(to).parent.mkdir(parents=True, exist_ok=True)
            self.fs.move(self.path(rel), self.path(to))
            return
        self.fs.copy_file(self.path(rel), self.path(to))
        self.delete(rel)
