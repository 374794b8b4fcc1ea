"""A real Jupyter server (pytest-jupyter) with envcapsule enabled by the shipped jupyter-config file."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# pytest-jupyter registers no entry point; its fixtures and async-test hooks are imported here for tests/server only.
from pytest_jupyter.jupyter_server import *  # noqa: F403
from tornado.httpclient import HTTPClientError, HTTPResponse

from tests.server.fake_core import FakeCore

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_CONFIG = ROOT / "jupyter-config" / "jupyter_server_config.d" / "envcapsule.json"
NOTEBOOK = {
    "cells": [{"cell_type": "code", "execution_count": None, "id": "c1", "metadata": {}, "outputs": [], "source": ["1 + 1"]}],
    "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}

Api = Callable[..., Awaitable[HTTPResponse]]


@pytest.fixture  # type: ignore[no-redef]  # overrides pytest-jupyter's
def jp_server_config() -> dict[str, Any]:
    config: dict[str, Any] = json.loads(SHIPPED_CONFIG.read_text())
    return config


@pytest.fixture
def notebook(jp_root_dir: Path) -> str:
    """A notebook in the server's root folder, named as JupyterLab names it."""
    (jp_root_dir / "work").mkdir()
    (jp_root_dir / "work" / "analysis.ipynb").write_text(json.dumps(NOTEBOOK))
    return "work/analysis.ipynb"


@pytest.fixture
def fake_core(jp_serverapp: Any) -> Iterator[FakeCore]:
    core = FakeCore()
    jp_serverapp.web_app.settings["envcapsule"].core = core
    yield core
    core.release_all()


@pytest.fixture
def api(jp_fetch: Any) -> Api:
    """Call envcapsule's API; a 4xx/5xx comes back as the response instead of raising."""

    async def call(
        route: str, method: str = "GET", body: Any = None, raw: str | bytes | None = None, **kwargs: Any
    ) -> HTTPResponse:
        if body is not None:
            kwargs["body"] = json.dumps(body)
        elif method == "POST":
            kwargs["body"] = raw or ""
        try:
            response: HTTPResponse = await jp_fetch(
                "envcapsule", "api", *route.split("/"), method=method, raise_error=False, **kwargs
            )
            return response
        except HTTPClientError as error:  # only raised for errors without a response
            assert error.response is not None, error
            return error.response

    return call


def payload(response: HTTPResponse) -> Any:
    return json.loads(response.body)


async def started(core: FakeCore, kind: str) -> None:
    await asyncio.get_running_loop().run_in_executor(None, core.wait_started, kind)


async def ended(api: Api, job_id: str, timeout: float = 10.0) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        job = payload(await api(f"jobs/{job_id}"))
        if job["state"] != "running":
            return job  # type: ignore[no-any-return]
        await asyncio.sleep(0.02)
    raise AssertionError(f"job {job_id} did not end within {timeout} s")


async def start(api: Api, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await api(kind, "POST", body)
    assert response.code == 202, response.body
    return payload(response)["job"]  # type: ignore[no-any-return]
