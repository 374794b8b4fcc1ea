"""The base of envcapsule's REST handlers: finding the notebook, the core and the jobs; errors as one-sentence JSON.

Every error body is ``{"error": "<one sentence>"}`` (plus extra fields such as the running
job's id on 409), whether the error comes from envcapsule, from path confinement, or from
Jupyter's own authentication (403).

Bodies are streamed, so a body larger than ``MAX_BODY_BYTES`` is refused with 413 from its
Content-Length before any of it is read; text fields are bounded and may hold no control
characters; path confinement touches the file system in the executor, off the event loop.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from jupyter_server.base.handlers import APIHandler
from tornado import web
from tornado.http1connection import HTTP1Connection

from envcapsule.engine import EngineError
from envcapsule.errors import EnvcapsuleError
from envcapsule.server.jobs import Job
from envcapsule.server.kernels import kernel_interpreter
from envcapsule.server.paths import Notebook, PathRefused, confined_notebook

if TYPE_CHECKING:
    from envcapsule.server.app import EnvcapsuleApp
    from envcapsule.server.core import Core
    from envcapsule.server.jobs import JobRegistry

API = "envcapsule/api"
T = TypeVar("T")
MAX_BODY_BYTES = 64 * 1024
MAX_FIELD_CHARS = 1024
MAX_JOB_ID_CHARS = 64
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

_DEFAULT_SENTENCES = {
    400: "The request is malformed; send JSON with the fields the API describes.",
    403: "This request carries no valid Jupyter token or login cookie; reload JupyterLab or pass the server's token.",
    404: "There is nothing at this address; check the URL against envcapsule's API.",
    405: "This address does not answer that HTTP method; check envcapsule's API.",
}
_UNEXPECTED = "envcapsule's server extension failed unexpectedly; see the Jupyter server's log for the traceback."


class ApiError(web.HTTPError):
    """An error answer: ``sentence`` is what the user reads; ``extra`` joins it in the JSON body."""

    def __init__(self, status: int, sentence: str, **extra: Any) -> None:
        super().__init__(status, "%s", sentence)
        self.sentence = sentence
        self.extra = extra


@web.stream_request_body
class EnvcapsuleHandler(APIHandler):
    auth_resource = "envcapsule"
    _chunks: list[bytes]
    _received = 0

    async def prepare(self) -> None:  # type: ignore[override]  # Jupyter's keyword is private; this handler never redirects to a login
        await super().prepare()
        self._chunks = []
        length = self.request.headers.get("Content-Length", "0").strip()
        if not length.isdigit():
            raise ApiError(400, "The request's Content-Length is not a number; send the JSON body with its length.")
        if int(length) > MAX_BODY_BYTES:
            raise ApiError(
                413, f"The request body is larger than {MAX_BODY_BYTES // 1024} KB; send only the fields the API describes."
            )
        connection = self.request.connection
        if isinstance(connection, HTTP1Connection):
            connection.set_max_body_size(MAX_BODY_BYTES)  # a chunked body without a length stops there too

    def decode_argument(self, value: bytes, name: str | None = None) -> str:
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(
                400, f"The {name or 'URL'} argument is not valid UTF-8; percent-encode the notebook path as UTF-8."
            ) from None

    def data_received(self, chunk: bytes) -> None:
        self._received += len(chunk)
        if self._received <= MAX_BODY_BYTES:
            self._chunks.append(chunk)

    @property
    def extension(self) -> EnvcapsuleApp:
        return self.settings["envcapsule"]  # type: ignore[no-any-return]

    @property
    def core(self) -> Core:
        return self.extension.core

    @property
    def jobs(self) -> JobRegistry:
        return self.extension.jobs

    async def notebook(self, relative: object) -> Notebook:
        """The confined notebook, found in the executor: resolving a path touches the file system."""
        root_dir = self.contents_manager.root_dir
        try:
            return await asyncio.get_running_loop().run_in_executor(None, confined_notebook, root_dir, relative)
        except PathRefused as refused:
            raise ApiError(refused.status, str(refused)) from None

    async def interpreter(self, notebook: Notebook) -> str | None:
        return await kernel_interpreter(self.session_manager, self.kernel_spec_manager, notebook.relative, notebook.path)

    def body(self) -> dict[str, Any]:
        raw = b"".join(self._chunks)
        try:
            data = json.loads(raw.decode("utf-8")) if raw.strip() else None
        except UnicodeDecodeError:
            raise ApiError(
                400, 'The request body is not valid UTF-8; send a JSON object such as {"path": "analysis.ipynb"}.'
            ) from None
        except (ValueError, RecursionError):
            raise ApiError(
                400, 'The request body is not valid JSON; send a JSON object such as {"path": "analysis.ipynb"}.'
            ) from None
        if not isinstance(data, dict):
            raise ApiError(400, 'The request body must be a JSON object such as {"path": "analysis.ipynb"}.')
        return data

    def optional_text(self, body: dict[str, Any], field: str, expected: str = "a non-empty string") -> str | None:
        value = body.get(field)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise ApiError(400, f"The field {field!r} must be {expected} when given.")
        if len(value) > MAX_FIELD_CHARS or _CONTROL.search(value):
            raise ApiError(400, f"The field {field!r} must be {expected} of at most {MAX_FIELD_CHARS} characters, on one line.")
        return value.strip()

    async def call(self, function: Callable[..., T], *args: Any) -> T:
        """Run a blocking core call in the executor; a core error becomes its sentence with a 4xx/5xx status."""
        try:
            return await asyncio.get_running_loop().run_in_executor(None, function, *args)
        except EngineError as error:
            raise ApiError(503, error.message("sidebar"), code=error.code) from None
        except EnvcapsuleError as error:
            raise ApiError(400, error.message("sidebar"), code=error.code) from None

    def job(self, job_id: str) -> Job:
        job = self.jobs.get(job_id) if len(job_id) <= MAX_JOB_ID_CHARS else None
        if job is None:
            job_id = job_id if len(job_id) <= MAX_JOB_ID_CHARS else job_id[:MAX_JOB_ID_CHARS] + "…"
            raise ApiError(
                404, f"There is no job {job_id}; jobs are forgotten when the server restarts or after many newer ones."
            )
        return job

    def reply(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(data))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        error = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(error, ApiError):
            body = {"error": error.sentence, **error.extra}
        elif isinstance(error, web.HTTPError) and error.log_message:
            body = {"error": error.log_message % error.args if error.args else error.log_message}
        else:
            body = {"error": _DEFAULT_SENTENCES.get(status_code, _UNEXPECTED)}
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))
