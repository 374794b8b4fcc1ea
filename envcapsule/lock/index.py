"""Index look-ups: which files do the configured indexes and find-links offer for a project?

Speaks the Simple Repository API (PEP 691 JSON where served, PEP 503 HTML otherwise) over
http(s) and ``file://``, reads find-links directories and pages, caches parsed pages on disk
and runs look-ups for many projects concurrently over one shared ``httpx.Client``.

Credentials in index URLs (or ``~/.netrc``) are sent to their host but never stored: every URL
in an ``IndexFile``, in an error and in the disk cache is redacted (``envcapsule.lock.redact``:
no userinfo, no query, token-like path segments made ``${VAR}``); the real URLs stay in memory.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import netrc
import os
import ssl
import threading
import time
from collections.abc import Callable, Generator, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from types import TracebackType
from typing import IO, Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

import httpx
from packaging.utils import canonicalize_name

from envcapsule._version import __version__
from envcapsule.atomic import atomic_writer
from envcapsule.errors import IndexLookupError
from envcapsule.lock.redact import fill_variables, redact_text, redact_url
from envcapsule.lock.simple_api import (
    ACCEPT,
    IndexFile,
    distribution_name,
    parse_html_page,
    parse_page,
    split_credentials,
)

__all__ = ["IndexClient", "IndexFile", "IndexLookupError", "default_cache_dir"]

_CACHE_VERSION = "v1"
_RETRY_BACKOFF = (0.25, 0.75)  # seconds before the 1st and 2nd retry


def default_cache_dir() -> Path:
    """``$ENVCAPSULE_CACHE_DIR/index``, else ``$XDG_CACHE_HOME/envcapsule/index`` or
    ``~/.cache/envcapsule/index``."""
    if os.environ.get("ENVCAPSULE_CACHE_DIR"):
        return Path(os.environ["ENVCAPSULE_CACHE_DIR"]) / "index"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "envcapsule" / "index"


@dataclasses.dataclass(frozen=True)
class _CachedPage:
    fetched: float
    etag: str | None
    last_modified: str | None
    files: list[IndexFile]


class _DiskCache:
    """Parsed pages, file sizes and local-file hashes, one JSON file each, written atomically.

    Keys are sha256 digests of redacted URLs; no value ever holds a credential.
    """

    def __init__(self, root: Path) -> None:
        self.root = root / _CACHE_VERSION

    def _path(self, kind: str, *key: str) -> Path:
        digest = hashlib.sha256("\0".join(key).encode()).hexdigest()
        return self.root / kind / f"{digest}.json"

    def _read(self, path: Path) -> Any:
        try:
            return json.loads(path.read_bytes())
        except (OSError, ValueError):  # missing or damaged: a miss, not an error
            return None

    def _write(self, path: Path, value: object) -> None:
        try:
            with atomic_writer(path, "w", encoding="utf-8") as stream:
                json.dump(value, stream, separators=(",", ":"))
        except OSError:  # a read-only or full cache only costs speed
            pass

    def read_page(self, page_url: str, index: str) -> _CachedPage | None:
        entry = self._read(self._path("pages", page_url))
        if not isinstance(entry, dict) or entry.get("url") != page_url:
            return None
        try:
            files = [IndexFile(f[0], f[1], f[2], f[3], index, f[4], f[5], f[6]) for f in entry["files"]]
            return _CachedPage(float(entry["fetched"]), entry.get("etag"), entry.get("last_modified"), files)
        except (KeyError, IndexError, TypeError, ValueError):
            return None

    def write_page(self, page_url: str, page: _CachedPage) -> None:
        files = [[f.filename, f.url, f.sha256, f.size, f.requires_python, f.yanked, f.upload_time] for f in page.files]
        entry = {
            "url": page_url,
            "fetched": page.fetched,
            "etag": page.etag,
            "last_modified": page.last_modified,
            "files": files,
        }
        self._write(self._path("pages", page_url), entry)

    def read_size(self, url: str) -> int | None:
        entry = self._read(self._path("sizes", url))
        size = entry.get("size") if isinstance(entry, dict) and entry.get("url") == url else None
        return size if isinstance(size, int) else None

    def write_size(self, url: str, size: int) -> None:
        self._write(self._path("sizes", url), {"url": url, "size": size})

    def file_sha256(self, path: Path, stat: os.stat_result) -> str:
        """The sha256 of a local file, hashed once per (path, size, mtime)."""
        key = (str(path), str(stat.st_size), str(stat.st_mtime_ns))
        cache_path = self._path("hashes", *key)
        entry = self._read(cache_path)
        if isinstance(entry, dict) and entry.get("key") == list(key):
            return str(entry["sha256"])
        digest = _hash_file(path)
        self._write(cache_path, {"key": list(key), "sha256": digest})
        return digest


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class _HostAuth(httpx.Auth):
    """Basic auth by host: credentials from index URLs first, then ``~/.netrc`` (or ``$NETRC``)."""

    def __init__(self) -> None:
        self._by_host: dict[str, tuple[str, str]] = {}
        self._netrc: netrc.netrc | None = None
        self._netrc_loaded = False
        self._lock = threading.Lock()

    def add(self, url: str, credentials: tuple[str, str]) -> None:
        with self._lock:
            self._by_host.setdefault(_host_key(url), credentials)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        credentials = self._lookup(str(request.url))
        if credentials and "Authorization" not in request.headers:
            token = base64.b64encode(":".join(credentials).encode()).decode("ascii")
            request.headers["Authorization"] = f"Basic {token}"
        yield request

    def _lookup(self, url: str) -> tuple[str, str] | None:
        with self._lock:
            found = self._by_host.get(_host_key(url))
            if found:
                return found
            if not self._netrc_loaded:
                self._netrc_loaded = True
                try:
                    self._netrc = netrc.netrc(os.environ.get("NETRC"))
                except (OSError, netrc.NetrcParseError):
                    self._netrc = None
        if self._netrc is None:
            return None
        entry = self._netrc.authenticators(urlsplit(url).hostname or "")
        return (entry[0], entry[2] or "") if entry else None


def _host_key(url: str) -> str:
    return urlsplit(url).netloc.rpartition("@")[2].lower()


def _local_path(location: str) -> Path | None:
    """The filesystem path of a ``file://`` URL or plain path; None for a remote URL."""
    if location.startswith("file:"):
        return Path(url2pathname(urlsplit(location).path))
    if "://" in location:
        return None
    return Path(location).expanduser().absolute()


def _failure_reason(error: httpx.HTTPError, timeout: float) -> str:
    if isinstance(error, httpx.TimeoutException):
        return f"timed out after {timeout:g} s"
    text = redact_text(str(error)) or type(error).__name__
    if text.startswith("[Errno"):  # "[Errno 111] Connection refused" -> "connection refused"
        text = text.partition("] ")[2] or text
    return text[:1].lower() + text[1:]


class IndexClient:
    """Looks up the files of projects on Simple API indexes and find-links locations.

    ``unavailable`` collects the projects (as passed in) that some remote location could not
    answer in offline mode because nothing was cached for them; their file lists are partial.
    """

    def __init__(
        self,
        index_urls: Sequence[str],
        find_links: Sequence[str] = (),
        *,
        cache_dir: Path | None = None,
        cert: str | None = None,
        trusted_hosts: Sequence[str] = (),
        transport: httpx.BaseTransport | None = None,
        max_workers: int = 16,
        timeout: float = 30.0,
        page_ttl: float = 600.0,
        offline: bool = False,
        retries: int = 2,
    ) -> None:
        """Index URLs and find-links locations may carry ``user:password@``, a query or token path
        segments; they are used only to reach that host and kept in memory, never written. ``cert`` is a CA bundle (pip's ``cert``);
        ``trusted_hosts`` (``host`` or ``host:port``, pip's ``trusted-host``) skip certificate
        checks through a second client. Remote pages are fresh for ``page_ttl`` seconds, then
        revalidated (ETag / Last-Modified); ``offline`` never touches the network.
        """
        self._auth = _HostAuth()
        self._lock = threading.Lock()
        self._hidden: dict[str, str] = {}  # ${VAR} -> the token it stands for, from the configured URLs
        self._real: dict[str, str] = {}  # redacted URL -> the URL to request
        # Locations are kept as configured, redacted: ``IndexFile.index`` is one of them.
        self.index_urls = [self._remember(url) for url in index_urls]
        self.find_links = [self._remember(location) for location in find_links]
        self.offline = offline
        self.page_ttl = page_ttl
        self.unavailable: set[str] = set()
        self._cache = _DiskCache(cache_dir if cache_dir is not None else default_cache_dir())
        self._cert = cert
        self._trusted_hosts = {host.lower() for host in trusted_hosts}
        self._transport = transport
        self._max_workers = max(1, max_workers)
        self._timeout = timeout
        self._retries = retries
        self._clients: dict[bool, httpx.Client] = {}
        self._find_links_lock = threading.Lock()  # one reader per location, not one per thread
        self._find_links_files: dict[str, dict[str, list[IndexFile]] | None] = {}

    # -- public API ------------------------------------------------------------------------

    def project_files(self, project: str) -> list[IndexFile]:
        """Every file of ``project`` on every index, then every find-links location."""
        name = canonicalize_name(project)
        files: list[IndexFile] = []
        complete = True
        for index in self.index_urls:
            found = self._index_files(index, name)
            complete = complete and found is not None
            files.extend(found or ())
        for location in self.find_links:
            by_project = self._location_files(location)
            complete = complete and by_project is not None
            listed = by_project.get(name, []) if by_project is not None else []
            files.extend(self._with_local_facts(file) for file in listed)
        if not complete:
            with self._lock:
                self.unavailable.add(project)
        return files

    def many_project_files(
        self, projects: Iterable[str], progress: Callable[[str], None] | None = None
    ) -> dict[str, list[IndexFile]]:
        """``project_files`` for many projects at once; ``progress(project)`` after each.

        The first ``IndexLookupError`` cancels the look-ups not yet started and is raised.
        """
        names = list(dict.fromkeys(projects))
        results: dict[str, list[IndexFile]] = {}
        executor = ThreadPoolExecutor(max_workers=min(self._max_workers, max(1, len(names))))
        try:
            futures = {executor.submit(self.project_files, name): name for name in names}
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                if progress is not None:
                    progress(futures[future])
        finally:
            executor.shutdown(wait=True, cancel_futures=True)
        return {name: results[name] for name in names}

    def file_size(self, url: str) -> int | None:
        """The size of a released file: stat for a local file, else HEAD, cached for good."""
        bare = self._remember(url)
        local = _local_path(bare)
        if local is not None:
            try:
                return local.stat().st_size
            except OSError:
                return None
        cached = self._cache.read_size(bare)
        if cached is not None or self.offline:
            return cached
        real = self._real_url(bare)
        response = self._request("HEAD", real, {}, source=f"the server of {bare}")
        if response.status_code in (405, 501):  # no HEAD here: read only the headers of a GET
            try:
                with self._client_for(real).stream("GET", real, follow_redirects=True) as streamed:
                    response = streamed
            except httpx.HTTPError as error:
                reason = _failure_reason(error, self._timeout)
                raise IndexLookupError(f"Could not reach {bare} ({reason}); check your network or pip configuration.") from error
        length = response.headers.get("Content-Length", "")
        if not response.is_success or not length.isdigit():
            return None
        self._cache.write_size(bare, int(length))
        return int(length)

    def fetch(self, url: str, dest: Path, sha256: str) -> Path:
        """Download (or copy) ``url`` to ``dest`` atomically, checking its sha256."""
        bare = self._remember(url)
        local = _local_path(bare)
        if local is None and self.offline:
            raise IndexLookupError(
                f"Cannot download {bare} while offline; run again without --offline or put the file in a find-links folder."
            )
        with atomic_writer(dest) as out:
            actual = self._copy_local(local, out) if local is not None else self._download(self._real_url(bare), bare, out)
            if actual != sha256.lower():
                raise IndexLookupError(
                    f"The file from {bare} has sha256 {actual}, not the expected {sha256}; "
                    "the index now serves different content, so lock the environment again."
                )
        return dest

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()

    def __enter__(self) -> IndexClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- indexes and find-links -------------------------------------------------------------

    def _remember(self, url: str) -> str:
        """Keep what ``url`` hides in memory (credentials for its host, the real URL); return it redacted."""
        bare, credentials = split_credentials(url)
        if credentials:
            self._auth.add(bare, credentials)
        with self._lock:
            shown = redact_url(bare, environ=os.environ, hidden=self._hidden)
            if shown != bare:
                self._real.setdefault(shown, bare)
        return shown

    def _shown(self, files: Iterable[IndexFile]) -> list[IndexFile]:
        """Files with redacted URLs, the real ones remembered for the download."""
        return [dataclasses.replace(file, url=self._remember(file.url)) for file in files]

    def _real_url(self, shown: str) -> str:
        """The URL to request for a redacted one: remembered (a configured location below it), else its
        ``${VAR}`` references filled from the configured URLs and the environment."""
        with self._lock:
            real = self._real.get(shown)
            if real is None:
                prefixes = [known for known in self._real if shown.startswith(known.rstrip("/") + "/")]
                if prefixes:
                    known = max(prefixes, key=len)
                    base, mark, query = self._real[known].partition("?")
                    path, hash_mark, fragment = shown[len(known) :].partition("#")
                    real = base + path + mark + query + hash_mark + fragment
            hidden = dict(self._hidden)
        filled, missing = fill_variables(real or shown, hidden, os.environ)
        if missing:
            raise IndexLookupError(
                f"{shown} needs the credential in ${missing[0]}; set {missing[0]} in this shell (the index token) and run again."
            )
        return filled

    def _index_files(self, index: str, name: str) -> list[IndexFile] | None:
        page_url = f"{index.rstrip('/')}/{name}/"
        local = _local_path(page_url)
        if local is None:
            return self._remote_page(page_url, index, f"the package index {index}")
        page = local / "index.html" if local.is_dir() else local
        return [self._with_local_facts(f) for f in self._shown(_read_local_page(page, page_url, index))]

    def _location_files(self, location: str) -> dict[str, list[IndexFile]] | None:
        """The distributions a find-links location lists, by project; read once per client."""
        with self._find_links_lock:
            if location in self._find_links_files:
                return self._find_links_files[location]
            local = _local_path(location)
            files: list[IndexFile] | None
            if local is None:
                source = f"the find-links location {location}"
                files = self._remote_page(location, location, source)
            elif local.is_dir():
                files = [
                    IndexFile(entry.name, entry.as_uri(), None, None, location, None, False, None)
                    for entry in _list_folder(local)
                ]
            else:
                files = self._shown(_read_local_page(local, local.as_uri(), location))
            by_project: dict[str, list[IndexFile]] | None = None
            if files is not None:
                by_project = {}
                for file in files:
                    name = distribution_name(file.filename)
                    if name is not None:  # not a wheel or sdist, or an unparseable name
                        by_project.setdefault(name, []).append(file)
            self._find_links_files[location] = by_project
            return by_project

    def _remote_page(self, page_url: str, index: str, source: str) -> list[IndexFile] | None:
        """The files on a remote page, from the cache while fresh; None if offline and uncached."""
        cached = self._cache.read_page(page_url, index)
        if cached is not None and (self.offline or time.time() - cached.fetched < self.page_ttl):
            return cached.files
        if self.offline:
            return None
        headers = {"Accept": ACCEPT}
        if cached is not None and cached.etag:
            headers["If-None-Match"] = cached.etag
        if cached is not None and cached.last_modified:
            headers["If-Modified-Since"] = cached.last_modified
        response = self._request("GET", self._real_url(page_url), headers, source=source)
        etag = response.headers.get("ETag")
        last_modified = response.headers.get("Last-Modified")
        if response.status_code == 304 and cached is not None:
            files = cached.files
            etag, last_modified = etag or cached.etag, last_modified or cached.last_modified
        elif response.status_code in (404, 410):  # not on this index: nothing, not an error
            files = []
        elif response.is_success:
            content_type = response.headers.get("Content-Type", "")
            try:
                files = self._shown(parse_page(response.content, content_type, str(response.url), index))
            except ValueError as error:
                raise IndexLookupError(
                    f"{_sentence_start(source)} sent an unreadable page for {page_url} "
                    f"({error}); check that the URL points at a Simple Repository API index."
                ) from error
        else:
            raise IndexLookupError(
                f"{_sentence_start(source)} answered HTTP {response.status_code} "
                f"{response.reason_phrase} for {page_url}; check its URL in your pip configuration."
            )
        self._cache.write_page(page_url, _CachedPage(time.time(), etag, last_modified, files))
        return files

    def _with_local_facts(self, file: IndexFile) -> IndexFile:
        """Fill in the size (and a missing sha256) of a file that lies on this machine."""
        path = _local_path(file.url) if file.url.startswith("file:") else None
        try:
            stat = path.stat() if path is not None else None
        except OSError:
            stat = None
        if path is None or stat is None:
            return file
        sha256 = file.sha256 or self._cache.file_sha256(path, stat)
        return dataclasses.replace(file, sha256=sha256, size=stat.st_size)

    # -- transfer ---------------------------------------------------------------------------

    def _client_for(self, url: str) -> httpx.Client:
        """One shared client, plus one without certificate checks for pip's trusted hosts."""
        parts = urlsplit(url)
        host_port = parts.netloc.rpartition("@")[2].lower()
        trusted = (parts.hostname or "") in self._trusted_hosts or host_port in self._trusted_hosts
        with self._lock:
            client = self._clients.get(trusted)
            if client is None:
                verify = False if trusted else self._verify_context()
                client = httpx.Client(
                    auth=self._auth,
                    verify=verify,
                    trust_env=True,
                    timeout=self._timeout,
                    limits=httpx.Limits(
                        max_connections=self._max_workers * 2,
                        max_keepalive_connections=self._max_workers,
                    ),
                    transport=self._transport,
                    headers={"User-Agent": f"envcapsule/{__version__}"},
                )
                self._clients[trusted] = client
        return client

    def _verify_context(self) -> ssl.SSLContext | bool:
        if not self._cert:
            return True  # httpx's default, which honours SSL_CERT_FILE / SSL_CERT_DIR
        try:
            if os.path.isdir(self._cert):
                return ssl.create_default_context(capath=self._cert)
            return ssl.create_default_context(cafile=self._cert)
        except (OSError, ssl.SSLError) as error:
            raise IndexLookupError(
                f"Could not load the certificate bundle {self._cert} ({error}); fix pip's cert setting or remove it."
            ) from error

    def _request(self, method: str, url: str, headers: dict[str, str], *, source: str) -> httpx.Response:
        """Send, retrying network errors and 5xx; raise IndexLookupError when it still fails."""
        client = self._client_for(url)
        reason = ""
        for attempt in range(self._retries + 1):
            if attempt:
                time.sleep(_RETRY_BACKOFF[min(attempt, len(_RETRY_BACKOFF)) - 1])
            try:
                response = client.request(method, url, headers=headers, follow_redirects=True)
            except httpx.HTTPError as error:
                reason = _failure_reason(error, self._timeout)
                continue
            if response.status_code in (401, 403):
                raise IndexLookupError(
                    f"{_sentence_start(source)} refused access (HTTP {response.status_code}); "
                    "check the credentials for it in your pip configuration or ~/.netrc."
                )
            if response.status_code < 500:
                return response
            reason = f"HTTP {response.status_code} {response.reason_phrase}".strip()
        advice = "check your network or pip configuration, or use --offline"
        if "certificate" in reason.lower() or "ssl" in reason.lower():
            advice = "check pip's cert setting or SSL_CERT_FILE, or mark the host as trusted"
        raise IndexLookupError(f"Could not reach {source} ({reason}); {advice}.")

    def _download(self, url: str, shown: str, out: IO[bytes]) -> str:
        try:
            with self._client_for(url).stream("GET", url, follow_redirects=True) as response:
                if not response.is_success:
                    raise IndexLookupError(
                        f"Could not download {shown} (HTTP {response.status_code}); check that the index still serves it."
                    )
                return _write_chunks(response.iter_bytes(1 << 20), out)
        except httpx.HTTPError as error:
            raise IndexLookupError(
                f"Could not download {shown} ({_failure_reason(error, self._timeout)}); check your network or pip configuration."
            ) from error

    @staticmethod
    def _copy_local(path: Path, out: IO[bytes]) -> str:
        try:
            with path.open("rb") as source:
                return _write_chunks(iter(lambda: source.read(1 << 20), b""), out)
        except OSError as error:
            raise IndexLookupError(f"Could not read {path} ({error.strerror}); check that the file still exists.") from error


def _write_chunks(chunks: Iterable[bytes], out: IO[bytes]) -> str:
    """Write ``chunks`` to ``out``; return their sha256."""
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
        out.write(chunk)
    return digest.hexdigest()


def _read_local_page(page: Path, page_url: str, index: str) -> list[IndexFile]:
    """Parse a local HTML page; a missing page is an empty one (the project is not there)."""
    try:
        content = page.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as error:
        raise IndexLookupError(
            f"Could not read the index page {page} ({error.strerror}); check the index URL and the file permissions."
        ) from error
    return parse_html_page(content.decode("utf-8", errors="replace"), page_url, index)


def _list_folder(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir())
    except OSError as error:
        raise IndexLookupError(
            f"Could not list the find-links folder {folder} ({error.strerror}); "
            "check the find-links setting in your pip configuration and the folder's permissions."
        ) from error


def _sentence_start(text: str) -> str:
    return text[:1].upper() + text[1:]
