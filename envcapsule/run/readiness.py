"""Readiness: poll Jupyter's /api/status with the token until it answers, while watching the container.

Polling is fast (every 0.1 s) because a JupyterLab server is usually up within a
second or two of its container starting; the container's state is checked on every
unanswered poll so that a server that crashed is reported at once, with its log tail.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from envcapsule.run.errors import LaunchError

if TYPE_CHECKING:
    from docker.models.containers import Container

POLL_INTERVAL = 0.1
LOG_LINES = 15


def wait_until_ready(container: Container, port: int, token: str, timeout: float) -> float:
    """Block until Jupyter answers 200 on /api/status; return the seconds waited.

    Raises LaunchError when the container exits first, or when ``timeout`` passes.
    """
    import httpx

    started = time.monotonic()
    deadline = started + timeout
    url = f"http://127.0.0.1:{port}/api/status"
    last_answer = "no answer"
    # trust_env=False: a proxy configured for the outside world must never see the token.
    with httpx.Client(trust_env=False, headers={"Authorization": f"token {token}"}) as http:
        while True:
            remaining = deadline - time.monotonic()
            try:
                response = http.get(url, timeout=httpx.Timeout(max(min(remaining, 2.0), 0.05), connect=0.5))
                if response.status_code == 200:
                    return time.monotonic() - started
                last_answer = f"HTTP {response.status_code}"
            except httpx.HTTPError:
                pass  # not listening yet: the engine's proxy refuses or drops the connection
            check_running(container)
            if time.monotonic() >= deadline:
                raise LaunchError(
                    f"Jupyter in container {container.name} did not answer on port {port} within {timeout:g} s "
                    f"({last_answer}), so the container was stopped and removed; try again with a longer timeout, "
                    f"or read its last log lines:\n{log_tail(container)}"
                )
            time.sleep(min(POLL_INTERVAL, max(deadline - time.monotonic(), 0)))


def check_running(container: Container) -> None:
    """Raise LaunchError with the log tail if the container has already exited."""
    container.reload()
    state = container.attrs.get("State", {})
    if state.get("Status") in ("exited", "dead"):
        code = state.get("ExitCode", "unknown")
        raise LaunchError(
            f"The container exited (code {code}) before Jupyter was ready; its last log lines:\n{log_tail(container)}"
        )


def log_tail(container: Container, lines: int = LOG_LINES) -> str:
    """The container's last log lines (stdout and stderr), indented for a message."""
    try:
        raw = container.logs(tail=lines)
    except Exception:  # the logs are a courtesy in an error message; never mask the real failure
        return "  (no logs could be read)"
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)
    tail = [line.rstrip() for line in text.splitlines() if line.strip()][-lines:]
    return "\n".join(f"  {line}" for line in tail) or "  (the container wrote no log lines)"
