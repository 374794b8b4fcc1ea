"""The envcapsule sidebar in a real JupyterLab and a real Chromium: snapshot, see drift, meet a stopped engine,
watch a running container's resource use."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, Browser, LabServer
from tests.cli.shell import envcapsule, ok
from tests.support import BASE_IMAGE

pytestmark = pytest.mark.integration

SIDEBAR = "#envcapsule-sidebar"
STATE = f"{SIDEBAR} .jp-envcapsule-state"
SNAPSHOT_SECONDS = 300  # index look-ups for every package of the kernel environment
DRIFT_SECONDS = 90
ORIGINAL_TABULATE = "0.9.0"  # what the kernel environment installs
OTHER_TABULATE = "0.8.10"
NO_ENGINE = {"DOCKER_HOST": "unix:///nonexistent/envcapsule-test/docker.sock"}


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"sidebar-{name}.png"
    page.screenshot(path=str(path))
    return path


def pip_install(python: Path, requirement: str) -> None:
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", requirement],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"pip install {requirement} failed:\n{done.stdout}\n{done.stderr}"


def button(page: Any, command: str) -> Any:
    return page.locator(f'{SIDEBAR} button[data-command="envcapsule:{command}"]')


def open_notebook_and_sidebar(page: Any, lab: LabServer, state: str = "none") -> None:
    from playwright.sync_api import expect

    page.goto(f"{lab.url}lab/tree/{lab.notebook}?token={lab.token}")
    page.locator(".jp-NotebookPanel").first.wait_for(state="visible", timeout=90_000)
    tab = page.locator(f'.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="{SIDEBAR[1:]}"]')
    tab.wait_for(state="visible", timeout=60_000)
    tab.click()
    if not page.locator(SIDEBAR).is_visible():
        tab.click()  # it was the current tab already, and the first click collapsed it
    expect(page.locator(f"{SIDEBAR} .jp-envcapsule-title")).to_have_text(lab.notebook)
    expect(page.locator(STATE)).to_have_attribute("data-state", state, timeout=60_000)


def snapshot_from_sidebar(page: Any, name: str) -> None:
    """Press Snapshot, watch the job (best effort: it may end before a frame is taken), see "up to date"."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect

    button(page, "snapshot").click()
    try:
        page.locator(f'{SIDEBAR} .jp-envcapsule-job[data-kind="snapshot"][data-state="running"] .jp-envcapsule-log').wait_for(
            timeout=10_000
        )
        screenshot(page, f"{name}-snapshot-running")
    except PlaywrightTimeout:
        pass
    expect(page.locator(STATE)).to_have_attribute("data-state", "up-to-date", timeout=SNAPSHOT_SECONDS * 1000)
    expect(page.locator(STATE)).to_have_text("up to date")
    expect(page.locator(f'{SIDEBAR} .jp-envcapsule-job[data-kind="snapshot"]')).to_have_attribute("data-state", "done")


def saved_metadata(lab: LabServer) -> dict[str, Any]:
    return json.loads((lab.root / lab.notebook).read_text())["metadata"]


def wait_for_saved_capsule(lab: LabServer, seconds: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        recorded = saved_metadata(lab).get("envcapsule")
        if recorded:
            return recorded
        time.sleep(0.25)
    pytest.fail(f"the saved notebook carries no envcapsule metadata after {seconds}s")


def open_command_palette(page: Any) -> Any:
    """View → Activate Command Palette, once more if a busy page swallowed the first click; its search field."""
    field = page.locator(".jp-ModalCommandPalette input, .lm-CommandPalette-input").first
    for _ in range(3):
        page.get_by_role("menuitem", name="View").click()
        page.get_by_role("menuitem", name="Activate Command Palette").click()
        try:
            field.wait_for(state="visible", timeout=10_000)
            return field
        except Exception:  # playwright's TimeoutError: the palette did not open
            page.keyboard.press("Escape")
    raise AssertionError("the command palette did not open after three tries")


def test_snapshot_is_up_to_date_then_a_changed_package_shows_drift(lab: LabServer, browser: Browser, kernel_env: Path) -> None:
    from playwright.sync_api import expect

    page = browser.page
    try:
        open_notebook_and_sidebar(page, lab)
        expect(button(page, "build")).to_be_disabled()  # nothing to build before a snapshot
        screenshot(page, "1-no-capsule")

        open_command_palette(page).fill("envcapsule")
        expect(page.locator(".lm-CommandPalette-item", has_text="envcapsule: Snapshot")).to_be_visible()
        page.keyboard.press("Escape")

        snapshot_from_sidebar(page, "2")
        expect(button(page, "build")).to_be_enabled()
        screenshot(page, "2-up-to-date")

        # The sidebar records the capsule through the notebook model: the file changes only when the user saves.
        assert "envcapsule" not in saved_metadata(lab)
        page.locator(".jp-NotebookPanel .jp-Cell").first.click()
        page.keyboard.press("Control+s")
        recorded = wait_for_saved_capsule(lab)
        assert recorded["capsule_hash"] == lab.api("status", path=lab.notebook).json()["capsule_hash"]
        assert recorded["snapshot"].endswith("Z")

        pip_install(kernel_env, f"tabulate=={OTHER_TABULATE}")
        try:
            state = page.locator(STATE)
            refresh = page.locator(f"{SIDEBAR} .jp-envcapsule-refresh")
            deadline = time.monotonic() + DRIFT_SECONDS
            while state.get_attribute("data-state") != "drifted" and time.monotonic() < deadline:
                expect(refresh).to_be_enabled(timeout=DRIFT_SECONDS * 1000)
                refresh.click()
                page.wait_for_timeout(3000)
            expect(state).to_have_attribute("data-state", "drifted", timeout=5000)
            expect(page.locator(f"{SIDEBAR} .jp-envcapsule-drift-summary")).to_have_text("1 changed")
            page.locator(f"{SIDEBAR} .jp-envcapsule-drift summary").click()  # the list is folded behind its summary
            changes = page.locator(f"{SIDEBAR} .jp-envcapsule-changes li")
            expect(changes.filter(has_text="tabulate")).to_have_text(f"tabulate {ORIGINAL_TABULATE} → {OTHER_TABULATE}")
            screenshot(page, "3-drifted")
        finally:
            pip_install(kernel_env, f"tabulate=={ORIGINAL_TABULATE}")
    except BaseException:
        screenshot(page, "failure-drift")
        raise
    ours = [line for line in browser.console_errors if "envcapsule" in line]
    assert not ours, f"the sidebar logged errors in the browser console: {ours}"
    # The job's progress came over server-sent events (the polling fallback was not needed).
    assert any(status == 200 and "/events" in url for status, url in browser.responses), browser.responses
    polled = [url for _, url in browser.responses if re.search(r"/jobs/[^/?]+(\?|$)", url)]
    assert not polled, f"the sidebar fell back to polling: {polled}"


@pytest.mark.parametrize("lab_env", [NO_ENGINE], ids=["no-engine"])
def test_a_stopped_engine_is_explained_while_snapshot_still_works(lab: LabServer, browser: Browser) -> None:
    from playwright.sync_api import expect

    page = browser.page
    try:
        open_notebook_and_sidebar(page, lab)
        snapshot_from_sidebar(page, "4")
        engine = page.locator(f"{SIDEBAR} .jp-envcapsule-engine")
        expect(engine).to_contain_text("Container engine unavailable")
        expect(engine).to_contain_text("systemctl start docker")

        button(page, "build").click()
        failed = page.locator(f'{SIDEBAR} .jp-envcapsule-job[data-kind="build"][data-state="failed"]')
        expect(failed).to_be_visible(timeout=60_000)
        expect(failed.locator(".jp-envcapsule-error")).not_to_be_empty()
        expect(page.locator(STATE)).to_have_text("up to date")  # the rest of the sidebar keeps working

        # Outside a git repository there is no link to share, and the sidebar says why.
        button(page, "copy-share-link").click()
        expect(page.locator(f"{SIDEBAR} .jp-envcapsule-share")).to_contain_text("git")
        screenshot(page, "4-no-engine")
    except BaseException:
        screenshot(page, "failure-no-engine")
        raise


def test_a_running_containers_resource_use_is_shown_and_refreshed_while_the_sidebar_is_open(
    lab: LabServer, browser: Browser, kernel_env: Path, shared_cache: Path
) -> None:
    from playwright.sync_api import expect

    notebook = lab.root / lab.notebook
    ok(envcapsule("snapshot", notebook, "--python", kernel_env, cache=shared_cache))
    launched = ok(
        envcapsule(
            "launch", notebook, "--base-image", BASE_IMAGE, "--memory", "512m", "--no-browser", "--json", cache=shared_cache
        )
    ).json()
    page = browser.page
    try:
        open_notebook_and_sidebar(page, lab, state="up-to-date")
        usage = page.locator(f"{SIDEBAR} .jp-envcapsule-containers .jp-envcapsule-usage")
        expect(usage).to_contain_text("of 512.0 MiB", timeout=30_000)
        expect(usage).to_have_text(re.compile(r"^CPU \d+\.\d% · [\d.]+ (B|KiB|MiB) of 512\.0 MiB · up \d+ (s|min)$"))
        first = usage.inner_text()
        expect(usage).not_to_have_text(first, timeout=15_000)  # uptime moves on: the line is refreshed while open
        screenshot(page, "5-usage")

        def asked() -> int:
            return sum(1 for _, url in browser.responses if "/envcapsule/api/usage?" in url)

        assert asked() >= 2
        page.locator(f'.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="{SIDEBAR[1:]}"]').click()  # close the sidebar
        expect(page.locator(SIDEBAR)).to_be_hidden()
        page.wait_for_timeout(1500)  # a request already under way may still answer
        closed = asked()
        page.wait_for_timeout(11_000)
        assert asked() == closed, "the sidebar kept asking for resource use while closed"
    except BaseException:
        screenshot(page, "failure-usage")
        raise
    finally:
        envcapsule("stop", launched["container"], cache=shared_cache)
    ours = [line for line in browser.console_errors if "envcapsule" in line]
    assert not ours, f"the sidebar logged errors in the browser console: {ours}"
