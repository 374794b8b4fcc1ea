"""Conda package files into the host's content-addressed cache: fetched once, checked against md5 and sha256.

A channel URL that needs a token holds a ``${VAR}`` reference (the probe never records the
token itself); it is filled from this shell's environment for the download only, so the
token reaches neither a file nor an image layer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import httpx

from envcapsule.atomic import atomic_writer
from envcapsule.conda.channels import expand_url
from envcapsule.errors import CondaFetchError
from envcapsule.image.wheelcache import WheelCache
from envcapsule.progress import NullProgress, Progress


def cache_key(md5: str, sha256: str | None) -> str:
    """The cache address of a package: its sha256, or its md5 for records that carry none."""
    return sha256 or f"md5-{md5}"


def cached_path(cache: WheelCache, md5: str, sha256: str | None, filename: str) -> Path:
    return cache.path(cache_key(md5, sha256), filename)


def ensure_conda_files(
    files: Sequence[Any],
    cache: WheelCache,
    progress: Progress | None = None,
    environ: Mapping[str, str] | None = None,
) -> None:
    """Every file (``url``, ``md5``, ``sha256``, ``filename``) in the cache, downloading the missing ones concurrently."""
    progress = progress or NullProgress()
    missing = [f for f in files if not cached_path(cache, f.md5, f.sha256, f.filename).is_file()]
    if not missing:
        return
    progress.step("Fetching conda packages into the host cache", total=len(missing))
    with httpx.Client(follow_redirects=True, timeout=httpx.Timeout(60.0, connect=15.0)) as client:

        def fetch(file: Any) -> None:
            fetch_conda_file(
                client, file.url, cached_path(cache, file.md5, file.sha256, file.filename), file.md5, file.sha256, environ
            )
            progress.advance(file.filename)

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(fetch, missing))


def fetch_conda_file(
    client: httpx.Client, url: str, dest: Path, md5: str, sha256: str | None, environ: Mapping[str, str] | None = None
) -> Path:
    """Download (or copy a ``file://``) ``url`` to ``dest`` atomically, refusing content that is not what was locked."""
    real = expand_url(url, environ)
    shown = url.rsplit("/", 1)[-1]
    with atomic_writer(dest) as out:
        digests = _copy_local(real, out) if urlsplit(real).scheme == "file" else _download(client, real, shown, out)
        if digests[0] != md5.lower() or (sha256 and digests[1] != sha256.lower()):
            raise CondaFetchError(
                f"The conda package {shown} now has different content than when it was locked (its hash differs); "
                "snapshot the environment again."
            )
    return dest


def _hashing_copy(source: IO[bytes], out: IO[bytes]) -> tuple[str, str]:
    md5, sha256 = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    for block in iter(lambda: source.read(1 << 20), b""):
        md5.update(block)
        sha256.update(block)
        out.write(block)
    return md5.hexdigest(), sha256.hexdigest()


def _copy_local(url: str, out: IO[bytes]) -> tuple[str, str]:
    path = Path(url2pathname(unquote(urlsplit(url).path)))
    try:
        with path.open("rb") as source:
            return _hashing_copy(source, out)
    except OSError as error:
        raise CondaFetchError(
            f"The conda package file {path} cannot be read ({error.strerror}); restore it or snapshot again."
        ) from None


def _download(client: httpx.Client, url: str, shown: str, out: IO[bytes]) -> tuple[str, str]:
    md5, sha256 = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    try:
        with client.stream("GET", url) as response:
            if response.status_code != 200:
                raise CondaFetchError(
                    f"The conda channel answered {response.status_code} for {shown}; check the channel "
                    "(and its token, if it needs one) and build again."
                )
            for block in response.iter_bytes(1 << 20):
                md5.update(block)
                sha256.update(block)
                out.write(block)
    except httpx.HTTPError as error:
        raise CondaFetchError(
            f"Could not download the conda package {shown} ({type(error).__name__}); check the network and build again."
        ) from None
    return md5.hexdigest(), sha256.hexdigest()
