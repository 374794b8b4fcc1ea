"""The notebook runner that `envcapsule verify` puts into the image: it executes cells the way Jupyter does.

It runs under the image's server environment (nbclient, nbformat) and is never imported by
envcapsule itself. Cells go to the kernel through nbclient with ``store_history=True``, as
JupyterLab and ``jupyter nbconvert --execute`` send them: IPython decides whether a trailing
``;`` hides a cell's result by reading the input history, so a cell sent without storing it
(nbval's way) shows a result its author never saw.

Arguments: PLAN RESULT. PLAN is JSON: notebook, kernel, timeout, cwd, and per code cell its
``index`` and ``run`` (false for a skipped cell). RESULT gets JSON: the run's start and end
(epoch seconds), the kernel's language_info, the machine, the installed system packages when
asked, each executed cell's outputs and seconds, and how the run stopped. One JSON line per
event goes to stdout as it happens, so the host can follow the run.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from typing import Any

EVENT = "envcapsule-verify "


def emit(**event: object) -> None:
    sys.stdout.write(EVENT + json.dumps(event) + "\n")
    sys.stdout.flush()


async def maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def kernel_exit(client: Any) -> int | None:
    """The dead kernel's exit status: negative for a signal, as subprocess reports it; None if unknown."""
    process = getattr(getattr(client.km, "provisioner", None), "process", None)
    try:
        return process.wait(timeout=2) if process is not None else None
    except Exception:
        return None


def system_packages() -> list[dict[str, str]] | None:
    if shutil.which("dpkg-query") is None:
        return None
    listing = subprocess.run(
        ["dpkg-query", "-W", "-f=${Package}\t${Version}\t${Architecture}\n"], capture_output=True, text=True, check=False
    )
    rows = [line.split("\t") for line in listing.stdout.splitlines() if line.count("\t") == 2]
    return [{"name": name, "version": version, "architecture": arch} for name, version, arch in rows]


async def execute(plan: dict[str, Any], result: dict[str, Any]) -> None:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    notebook = nbformat.read(plan["notebook"], as_version=4)
    client = NotebookClient(
        notebook,
        kernel_name=plan["kernel"],
        timeout=plan["timeout"],
        startup_timeout=60,
        allow_errors=True,
        record_timing=True,
        resources={"metadata": {"path": plan["cwd"]}},
    )
    async with client.async_setup_kernel():
        assert client.kc is not None  # async_setup_kernel has started the kernel and its client
        reply = await client.async_wait_for_reply(await maybe_await(client.kc.kernel_info()))
        result["language_info"] = (reply or {}).get("content", {}).get("language_info", {})
        emit(event="kernel-ready")
        count = 0
        for planned in plan["cells"]:
            index = planned["index"]
            if not planned["run"]:
                continue
            cell = notebook.cells[index]
            count += 1
            emit(event="start", index=index)
            began = time.monotonic()
            try:
                await client.async_execute_cell(cell, index, execution_count=count, store_history=True)
            except CellTimeoutError:
                result["stopped"] = {"reason": "timeout", "index": index, "seconds": time.monotonic() - began}
                emit(event="timeout", index=index)
                return
            except DeadKernelError:
                result["stopped"] = {"reason": "kernel-died", "index": index, "seconds": time.monotonic() - began}
                result["stopped"]["exit_code"] = kernel_exit(client)
                emit(event="kernel-died", index=index)
                return
            seconds = time.monotonic() - began
            result["cells"].append({"index": index, "outputs": cell.get("outputs", []), "seconds": seconds})
            emit(event="done", index=index, seconds=seconds)


def main(plan_path: str, result_path: str) -> None:
    with open(plan_path, encoding="utf-8") as stream:
        plan = json.load(stream)
    result = {"started": time.time(), "machine": platform.machine(), "cells": [], "stopped": None}
    if plan.get("system_packages"):
        result["system_packages"] = system_packages()
    try:
        asyncio.run(execute(plan, result))
    except Exception as error:  # the kernel did not start, or nbclient failed: the host reports it
        result["stopped"] = {"reason": "runner-error", "message": f"{type(error).__name__}: {error}"}
    result["ended"] = time.time()
    with open(result_path + ".partial", "w", encoding="utf-8") as stream:
        json.dump(result, stream)
    os.replace(result_path + ".partial", result_path)
    emit(event="finished")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
