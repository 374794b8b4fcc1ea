"""The base of envcapsule's REST handlers: finding the notebook, the core and the jobs; errors as one-sentence JSON.

Every error body is ``{"error": "<one sentence>"}`` (plus extra fields such as the running
job's id on 409), whether the error comes from envcapsule, from path confinement, or from
Jupyter's own authentication (403).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from jupyter_server.base.handlers import APIHandler
from tornado import web

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


class EnvcapsuleHandler(APIHandler):
    auth_resource = "envcapsule"

    @property
    def extension(self) -> EnvcapsuleApp:
        return self.settings["envcapsule"]  # type: ignore[no-any-return]

    @property
    def core(self) -> Core:
        return self.extension.core

    @property
    def jobs(self) -> JobRegistry:
        return self.extension.jobs

    def notebook(self, relative: object) -> Notebook:
        try:
            return confined_notebook(self.contents_manager.root_dir, relative)
        except PathRefused as refused:
            raise ApiError(refused.status, str(refused)) from None

    async def interpreter(self, notebook: Notebook) -> str | None:
        return await kernel_interpreter(self.session_manager, self.kernel_spec_manager, notebook.relative, notebook.path)

    def body(self) -> dict[str, Any]:
        try:
            data = self.get_json_body()
        except web.HTTPError:
            raise ApiError(
                400, 'The request body is not valid JSON; send a JSON object such as {"path": "analysis.ipynb"}.'
            ) from None
        if not isinstance(data, dict):
            raise ApiError(400, 'The request body must be a JSON object such as {"path": "analysis.ipynb"}.')
        return data

    def optional_text(self, body: dict[str, Any], field: str, expected: str = "a non-empty string") -> str | None:
        value = body.get(field)
        if value is None or (isinstance(value, str) and value.strip()):
            return value.strip() if value else None
        raise ApiError(400, f"The field {field!r} must be {expected} when given.")

    async def call(self, function: Callable[..., T], *args: Any) -> T:
        """Run a blocking core call in the executor; a core error becomes its sentence with a 4xx/5xx status."""
        try:
            return await asyncio.get_running_loop().run_in_executor(None, function, *args)
        except EngineError as error:
            raise ApiError(503, str(error)) from None
        except EnvcapsuleError as error:
            raise ApiError(400, str(error)) from None

    def job(self, job_id: str) -> Job:
        job = self.jobs.get(job_id)
        if job is None:
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
