"""A package index on the loopback interface, for tests that must not touch the network.

It serves projects as PEP 691 JSON or PEP 503 HTML (chosen from the Accept header, or forced
with ``mode``), a find-links page at ``/links/``, and the files themselves at ``/files/<name>``
(GET and HEAD). Every request is recorded, so tests can assert what went over the wire::

    with FakeIndex() as index:
        wheel = index.add_file("demo", "demo-1.0-py3-none-any.whl", content=b"wheel")
        ...  # point the code under test at index.url
        assert index.requests == [("GET", "/simple/demo/")]

Secrets in URLs, as private indexes use them: ``path_token="…"`` serves everything under
``/t/<token>/`` (anaconda.org's form) and ``query_token="…"`` wants ``?token=…`` on every request
(its pages link files with it, like signed URLs); anything else gets 403.

Faults on demand: ``auth=("user", "password")`` answers 401 without them, ``fail(500, times=2)``
answers an error status, ``drop_connections = True`` hangs up without answering, ``delay``
slows every answer down.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Literal
from urllib.parse import quote, unquote, urlsplit

__all__ = ["FakeFile", "FakeIndex", "RecordedRequest"]

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_TYPE = "application/vnd.pypi.simple.v1+html"


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class FakeFile:
    """A file the fake index serves."""

    project: str
    filename: str
    content: bytes
    url: str
    requires_python: str | None = None
    yanked: bool | str = False
    upload_time: str | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def size(self) -> int:
        return len(self.content)


@dataclass
class RecordedRequest:
    """One request as the fake index saw it, and what it answered (0: nothing, it hung up)."""

    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 0


class FakeIndex:
    """A threaded HTTP server on 127.0.0.1 that behaves like a Simple Repository API index."""

    def __init__(
        self,
        *,
        mode: Literal["auto", "html", "json"] = "auto",
        auth: tuple[str, str] | None = None,
        etag: bool = True,
        path_token: str | None = None,
        query_token: str | None = None,
    ) -> None:
        self.mode = mode
        self.auth = auth
        self.path_token = path_token
        self.query_token = query_token
        self.etag = etag
        self.delay = 0.0
        self.drop_connections = False
        self.log: list[RecordedRequest] = []
        self.max_in_flight = 0
        self._projects: dict[str, list[FakeFile]] = {}
        self._files: dict[str, FakeFile] = {}
        self._failures: list[int] = []
        self._failure_forever: int | None = None
        self._in_flight = 0
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _handler_for(self))
        self._thread: threading.Thread | None = None

    # -- content ---------------------------------------------------------------------------

    def add_project(self, project: str) -> None:
        """Make ``project`` exist (with whatever files it has; none yet is fine)."""
        with self._lock:
            self._projects.setdefault(_canonical(project), [])

    def add_file(
        self,
        project: str,
        filename: str,
        content: bytes = b"",
        *,
        requires_python: str | None = None,
        yanked: bool | str = False,
        upload_time: str | None = None,
    ) -> FakeFile:
        """Publish a file of ``project``; returns what a client should find for it."""
        file = FakeFile(
            project=_canonical(project),
            filename=filename,
            content=content or f"content of {filename}".encode(),
            url=self.file_url(filename),
            requires_python=requires_python,
            yanked=yanked,
            upload_time=upload_time,
        )
        with self._lock:
            self._projects.setdefault(file.project, []).append(file)
            self._files[filename] = file
        return file

    # -- addresses -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def root(self) -> str:
        """Where the index's paths start: the base URL, plus ``/t/<token>`` with a path token."""
        return f"{self.base_url}/t/{self.path_token}" if self.path_token else self.base_url

    @property
    def query(self) -> str:
        return f"?token={quote(self.query_token, safe='')}" if self.query_token else ""

    @property
    def url(self) -> str:
        """The index URL, as pip's ``index-url`` would hold it."""
        return f"{self.root}/simple{self.query}"

    @property
    def find_links_url(self) -> str:
        """A find-links page listing the files of every project."""
        return f"{self.root}/links/{self.query}"

    def url_with_auth(self, user: str | None = None, password: str | None = None) -> str:
        """The index URL with ``user:password@`` in it (the configured ``auth`` by default)."""
        default_user, default_password = self.auth or ("user", "password")
        userinfo = f"{quote(user or default_user, safe='')}:{quote(password or default_password, safe='')}"
        return self.url.replace("http://", f"http://{userinfo}@", 1)

    def file_url(self, filename: str) -> str:
        return f"{self.root}/files/{quote(filename)}{self.query}"

    # -- faults and the request log --------------------------------------------------------

    def fail(self, status: int, times: int | None = None) -> None:
        """Answer the next ``times`` requests (all, if None) with ``status``."""
        with self._lock:
            if times is None:
                self._failure_forever = status
            else:
                self._failures.extend([status] * times)

    def heal(self) -> None:
        with self._lock:
            self._failures.clear()
            self._failure_forever = None
        self.drop_connections = False

    @property
    def requests(self) -> list[tuple[str, str]]:
        """``(method, path)`` of every request so far, in order."""
        with self._lock:
            return [(r.method, r.path) for r in self.log]

    @property
    def statuses(self) -> list[int]:
        """The status of every answer so far, in order (0: hung up without answering)."""
        with self._lock:
            return [r.status for r in self.log]

    def reset_requests(self) -> None:
        with self._lock:
            self.log.clear()
            self.max_in_flight = 0

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeIndex:
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> FakeIndex:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- answering (called from the handler threads) ---------------------------------------

    def _next_failure(self) -> int | None:
        with self._lock:
            if self._failures:
                return self._failures.pop(0)
            return self._failure_forever

    def _authorised(self, header: str | None) -> bool:
        if self.auth is None:
            return True
        expected = base64.b64encode(":".join(self.auth).encode()).decode()
        return header == f"Basic {expected}"

    def _project_page(self, name: str, as_json: bool) -> bytes:
        with self._lock:
            files = list(self._projects[name])
        if as_json:
            document = {
                "meta": {"api-version": "1.1"},
                "name": name,
                "files": [_json_entry(file, self.query) for file in files],
            }
            return json.dumps(document).encode()
        anchors = "".join(_html_anchor(file, f"../../files/{quote(file.filename)}{self.query}") for file in files)
        return _html_document(f"Links for {name}", anchors)

    def _links_page(self) -> bytes:
        with self._lock:
            files = list(self._files.values())
        return _html_document("Find links", "".join(_html_anchor(f, f.url) for f in files))

    def _root_page(self) -> bytes:
        with self._lock:
            names = sorted(self._projects)
        anchors = "".join(f'<a href="{name}/">{name}</a>\n' for name in names)
        return _html_document("Simple index", anchors)

    def _enter(self, request: RecordedRequest) -> None:
        # Logged on arrival: a client never sees an answer before its request is in the log.
        with self._lock:
            self.log.append(request)
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 drops bursts of connects: 1 s SYN retries


def _json_entry(file: FakeFile, query: str) -> dict[str, object]:
    entry: dict[str, object] = {
        "filename": file.filename,
        "url": f"../../files/{quote(file.filename)}{query}",
        "hashes": {"sha256": file.sha256},
        "size": file.size,
        "yanked": file.yanked,
    }
    if file.requires_python is not None:
        entry["requires-python"] = file.requires_python
    if file.upload_time is not None:
        entry["upload-time"] = file.upload_time
    return entry


def _html_anchor(file: FakeFile, href: str) -> str:
    attributes = f'href="{html.escape(href)}#sha256={file.sha256}"'
    if file.requires_python is not None:
        attributes += f' data-requires-python="{html.escape(file.requires_python)}"'
    if file.yanked is not False:
        reason = file.yanked if isinstance(file.yanked, str) else ""
        attributes += f' data-yanked="{html.escape(reason)}"'
    if file.upload_time is not None:
        attributes += f' data-upload-time="{html.escape(file.upload_time)}"'
    return f"<a {attributes}>{html.escape(file.filename)}</a><br/>\n"


def _html_document(title: str, body: str) -> bytes:
    return (f"<!DOCTYPE html>\n<html><head><title>{title}</title></head><body><h1>{title}</h1>\n{body}</body></html>\n").encode()


def _handler_for(index: FakeIndex) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, like a real index
        timeout = 10  # idle keep-alive connections end on their own

        def do_GET(self) -> None:
            self._answer(send_body=True)

        def do_HEAD(self) -> None:
            self._answer(send_body=False)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass  # tests read index.log instead of stderr

        def _answer(self, send_body: bool) -> None:
            headers = {key.lower(): value for key, value in self.headers.items()}
            self.record = RecordedRequest(self.command, self.path, headers)
            index._enter(self.record)
            try:
                if index.delay:
                    time.sleep(index.delay)
                if index.drop_connections:
                    self.close_connection = True
                    return
                self._route(send_body)
            finally:
                index._leave()

        def _route(self, send_body: bool) -> int:
            failure = index._next_failure()
            if failure is not None:
                return self._send(failure, b"failure on demand\n", "text/plain", send_body)
            if not index._authorised(self.headers.get("Authorization")):
                return self._send(
                    401, b"login required\n", "text/plain", send_body,
                    {"WWW-Authenticate": 'Basic realm="fake index"'},
                )  # fmt: skip
            parts = urlsplit(self.path)
            path, prefix = parts.path, f"/t/{index.path_token}" if index.path_token else ""
            if not path.startswith(prefix + "/") or (index.query_token and parts.query != index.query[1:]):
                return self._send(403, b"no valid token\n", "text/plain", send_body)
            path = path[len(prefix) :]
            if path == "/simple/":
                return self._send(200, index._root_page(), "text/html", send_body)
            if path == "/links/":
                return self._send(200, index._links_page(), "text/html", send_body)
            if path.startswith("/files/"):
                file = index._files.get(unquote(path[len("/files/") :]))
                if file is None:
                    return self._send(404, b"no such file\n", "text/plain", send_body)
                return self._send(200, file.content, "application/octet-stream", send_body)
            match = re.fullmatch(r"/simple/([^/]+)/?", path)
            if match is None:
                return self._send(404, b"not found\n", "text/plain", send_body)
            name = match.group(1)
            if name != _canonical(name) or not path.endswith("/"):  # PyPI redirects these
                location = f"{prefix}/simple/{_canonical(name)}/{index.query}"
                return self._send(301, b"", "text/plain", send_body, {"Location": location})
            if name not in index._projects:
                return self._send(404, b"no such project\n", "text/plain", send_body)
            accept = self.headers.get("Accept", "")
            as_json = index.mode == "json" or (index.mode == "auto" and JSON_TYPE in accept)
            body = index._project_page(name, as_json)
            content_type = JSON_TYPE if as_json else (HTML_TYPE if index.mode == "auto" else "text/html")
            extra = {}
            if index.etag:
                tag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                extra["ETag"] = tag
                if self.headers.get("If-None-Match") == tag:
                    return self._send(304, b"", content_type, False, extra)
            return self._send(200, body, content_type, send_body, extra)

        def _send(
            self,
            status: int,
            body: bytes,
            content_type: str,
            send_body: bool,
            extra: dict[str, str] | None = None,
        ) -> int:
            self.record.status = status  # before the answer leaves: no race with the client
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            if status != 304:
                self.send_header("Content-Length", str(len(body)))
            for key, value in (extra or {}).items():
                self.send_header(key, value)
            self.end_headers()
            if send_body and status != 304:
                self.wfile.write(body)
            return status

    return Handler
