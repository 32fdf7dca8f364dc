"""Object stores behind the model registry: a local directory or any S3-compatible bucket.

Both expose the same few operations on '/'-separated keys; every write replaces one whole object atomically
(local: temp file + rename; S3: a single PUT), which is what alias moves rely on."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlparse

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_REGISTRY_DIR = REPO_ROOT / "var" / "registry"
REGISTRY_URL_ENV = "LEADRANK_REGISTRY_URL"
S3_ENDPOINT_ENV = "LEADRANK_S3_ENDPOINT"


class ObjectStore(Protocol):
    url: str

    def read(self, key: str) -> bytes | None:
        """The object's bytes, or None when it does not exist."""
        ...

    def write(self, key: str, data: bytes) -> None: ...

    def list(self, prefix: str) -> list[str]:
        """Every key under `prefix`, sorted."""
        ...


class LocalStore:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.url = self.root.as_uri()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root):
            raise ValueError(f"key {key!r} escapes the registry root")
        return path

    def read(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def write(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)  # atomic on POSIX: readers see the old or the new file, never a mix
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def list(self, prefix: str) -> list[str]:
        base = self._path(prefix) if prefix else self.root
        if base.is_file():
            return [prefix]
        if not base.is_dir():
            return []
        return sorted(
            p.relative_to(self.root).as_posix()
            for p in base.rglob("*")
            if p.is_file() and not p.name.startswith(".")
        )


class S3Store:
    """Any S3-compatible store (AWS S3, MinIO, Cloudflare R2, ...). Endpoint from LEADRANK_S3_ENDPOINT
    (unset = AWS); credentials and region from the standard AWS environment variables / config chain."""

    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str | None = None) -> None:
        import boto3  # only the S3 backend needs it

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.url = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"
        self.client = boto3.client("s3", endpoint_url=endpoint_url or os.environ.get(S3_ENDPOINT_ENV) or None)

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def read(self, key: str) -> bytes | None:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except self.client.exceptions.NoSuchKey:
            return None

    def write(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def list(self, prefix: str) -> list[str]:
        full = self._key(prefix)
        strip = len(self.prefix) + 1 if self.prefix else 0
        keys: list[str] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=full):
            keys.extend(obj["Key"][strip:] for obj in page.get("Contents", []))
        return sorted(keys)


def open_store(url: str | None = None) -> ObjectStore:
    """`file:///abs/path`, a plain path, or `s3://bucket/prefix`; default $LEADRANK_REGISTRY_URL, else
    <repo>/var/registry."""
    url = url or os.environ.get(REGISTRY_URL_ENV) or str(DEFAULT_REGISTRY_DIR)
    parsed = urlparse(url)
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise ValueError(f"registry URL {url!r} names no bucket")
        return S3Store(parsed.netloc, parsed.path)
    if parsed.scheme == "file":
        return LocalStore(Path(unquote(parsed.path)))
    if parsed.scheme in ("", None) or len(parsed.scheme) == 1:  # a plain path (one letter: a Windows drive)
        return LocalStore(Path(url))
    raise ValueError(f"unsupported registry URL {url!r}: use file:///path or s3://bucket/prefix")


class PrefixedStore:
    """A store seen under a key prefix: the registry keyed by region is `regions/<region>/` of it."""

    def __init__(self, inner: ObjectStore, prefix: str) -> None:
        self.inner = inner
        self.prefix = prefix.strip("/")
        self.url = f"{inner.url.rstrip('/')}/{self.prefix}"

    def read(self, key: str) -> bytes | None:
        return self.inner.read(f"{self.prefix}/{key}")

    def write(self, key: str, data: bytes) -> None:
        self.inner.write(f"{self.prefix}/{key}", data)

    def list(self, prefix: str) -> list[str]:
        strip = len(self.prefix) + 1
        return [k[strip:] for k in self.inner.list(f"{self.prefix}/{prefix}")]
