"""A real JupyterLab (envcapsule's server extension + the built sidebar) on 127.0.0.1, and a real Chromium."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import require
from tests.support import free_port

REPO = Path(__file__).resolve().parents[2]
BUILT_EXTENSION = REPO / "envcapsule" / "labextension"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = Path(os.environ.get("ENVCAPSULE_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
KERNEL_NAME = "envcapsule-browser-test"
NOTEBOOK = "sidebar.ipynb"
STARTUP_SECONDS = 90


@dataclass(frozen=True)
class LabServer:
    url: str  # base URL, ending in /
    token: str
    root: Path
    notebook: str  # its path relative to root, as Lab names it
    log: Path

    def api(self, route: str, **params: str) -> httpx.Response:
        return httpx.get(
            f"{self.url}envcapsule/api/{route}", params=params, headers={"Authorization": f"token {self.token}"}, timeout=60
        )


def server_extension() -> str:
    """The module that names envcapsule's server extension (the package once it re-exports the extension point)."""
    import envcapsule

    return "envcapsule" if hasattr(envcapsule, "_jupyter_server_extension_points") else "envcapsule.server"


def jupyter_data(base: Path, python: Path) -> Path:
    """A JUPYTER_PATH entry holding the kernel environment's kernelspec and this checkout's built sidebar."""
    data = base / "jupyter-data"
    spec = data / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True)
    argv = [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec.joinpath("kernel.json").write_text(json.dumps({"argv": argv, "display_name": "Kernel env", "language": "python"}))
    # JUPYTER_PATH comes before sys.prefix, so Lab loads this checkout's build even when a wheel is installed too.
    scope = data / "labextensions" / "@envcapsule"
    scope.mkdir(parents=True)
    (scope / "labextension").symlink_to(BUILT_EXTENSION, target_is_directory=True)
    return data


def quiet_settings(config: Path) -> None:
    """No news prompt in the screenshots."""
    folder = config / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    folder.mkdir(parents=True)
    (folder / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))


def write_notebook(path: Path) -> None:
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": KERNEL_NAME, "display_name": "Kernel env", "language": "python"}
    notebook.cells.append(nbformat.v4.new_code_cell("import tabulate\ntabulate.__version__"))
    nbformat.write(notebook, path)


def wait_until_serving(server: LabServer, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    last = "no answer yet"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"jupyter lab exited with {process.returncode}:\n{server.log.read_text()[-4000:]}")
        try:
            response = server.api("status", path=server.notebook)
            if response.status_code == 200:
                return
            last = f"{response.status_code} {response.text[:300]}"
        except httpx.HTTPError as error:
            last = str(error)
        time.sleep(0.5)
    pytest.fail(
        f"jupyter lab did not serve envcapsule's status within {STARTUP_SECONDS}s ({last}):\n{server.log.read_text()[-4000:]}"
    )


@pytest.fixture
def lab_env() -> dict[str, str]:
    """Extra environment for the server; a test parametrizes it (e.g. a DOCKER_HOST with no engine behind it)."""
    return {}


@pytest.fixture
def lab(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    kernel_env: Path,  # noqa: F811
    shared_cache: Path,  # noqa: F811
    lab_env: dict[str, str],
) -> Iterator[LabServer]:
    require(
        (BUILT_EXTENSION / "package.json").is_file(),
        "the sidebar is not built; run `cd labextension && jlpm install && jlpm build` (pip install -e . builds it too)",
    )
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        require(False, "jupyterlab is needed for the browser test; pip install 'jupyterlab>=4.2,<5'")
    root = tmp_path / "root"
    root.mkdir()
    config = tmp_path / "config"
    quiet_settings(config)
    token = secrets.token_hex(16)
    port = free_port()
    env = {
        **os.environ,
        "JUPYTER_PATH": str(jupyter_data(tmp_path, kernel_env)),
        "JUPYTER_CONFIG_DIR": str(config),
        "JUPYTER_DATA_DIR": str(tmp_path / "user-data"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "ENVCAPSULE_CACHE_DIR": str(shared_cache),
        "PYTHONWARNINGS": "ignore",  # the server's own deprecation noise is not this test's subject
        **lab_env,
    }
    write_notebook(root / NOTEBOOK)
    server = LabServer(f"http://127.0.0.1:{port}/", token, root, NOTEBOOK, tmp_path / "jupyter-lab.log")
    command = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        f"--ServerApp.jpserver_extensions={{'{server_extension()}': True}}",
    ]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # CI containers run as root
    with server.log.open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    try:
        wait_until_serving(server, process)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copy(server.log, ARTIFACTS / f"{request.node.name}.jupyter-lab.log")


@dataclass
class Browser:
    page: Any  # playwright.sync_api.Page
    console_errors: list[str]
    responses: list[tuple[int, str]]  # (status, url) of every envcapsule API response


@pytest.fixture
def browser() -> Iterator[Browser]:
    require(CHROMIUM.exists(), f"Debian's chromium is needed at {CHROMIUM}; apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "playwright is needed for the browser test; pip install playwright")
        raise
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = chromium.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(30_000)
            errors: list[str] = []
            responses: list[tuple[int, str]] = []
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.on(
                "response",
                lambda response: (
                    responses.append((response.status, response.url)) if "/envcapsule/api/" in response.url else None
                ),
            )
            yield Browser(page, errors, responses)
        finally:
            chromium.close()
