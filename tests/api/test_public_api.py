"""The public Python API: what `import envcapsule` offers, how it loads, and that help() teaches it."""

from __future__ import annotations

import inspect
import subprocess
import sys

import envcapsule
from envcapsule import api

WORKFLOWS = ("snapshot", "build", "launch", "verify", "diff", "status", "share", "push", "export", "import_archive", "doctor")


def test_every_exported_name_resolves() -> None:
    for name in envcapsule.__all__:
        assert getattr(envcapsule, name) is not None, name
    assert set(WORKFLOWS) | {"stop", "ps", "inspect", "write_context"} <= set(envcapsule.__all__)


def test_importing_envcapsule_loads_nothing_heavy() -> None:
    code = "import sys, envcapsule; print(sorted(m for m in ('docker', 'rich', 'httpx', 'envcapsule.api', 'envcapsule.image') if m in sys.modules))"
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == "[]"


def test_help_lists_the_workflows_with_their_signatures() -> None:
    code = "import envcapsule, pydoc; print(pydoc.render_doc(envcapsule, renderer=pydoc.plaintext))"
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    for name in WORKFLOWS:
        assert f"{name}(" in shown, name
    assert "base_image: 'str | None' = None" in shown


def test_workflows_take_keyword_only_options_and_a_client_where_the_engine_is_used() -> None:
    for name in WORKFLOWS:
        parameters = list(inspect.signature(getattr(api, name)).parameters.values())
        positional = [p for p in parameters if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
        assert len(positional) <= 2, name  # the target (and for export, the output)
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters[len(positional) :]), name
        assert getattr(api, name).__doc__, name
    for name in ("build", "launch", "verify", "push", "export", "import_archive", "doctor", "ps", "stop"):
        assert "client" in inspect.signature(getattr(api, name)).parameters, name


def test_results_are_frozen_and_serialisable() -> None:
    report = api.DoctorReport(checks=())
    assert report.to_json() == {"ok": True, "checks": []}
    try:
        report.checks = ()  # type: ignore[misc]
    except AttributeError:
        pass
    else:
        raise AssertionError("DoctorReport is not frozen")


def test_errors_carry_a_code_detail_and_advice_worded_per_front_end() -> None:
    error = envcapsule.BaseImageError(
        "The base image mirror/python:3.11 is not here", "make it or choose one with {option:base_image}"
    )
    assert error.code == "base-image"
    assert str(error) == "The base image mirror/python:3.11 is not here; make it or choose one with `--base-image IMAGE`."
    assert (
        error.message("sidebar")
        == "The base image mirror/python:3.11 is not here; make it or choose one with the base image setting."
    )
    assert error.to_json()["advice"] == "make it or choose one with `--base-image IMAGE`"
    assert isinstance(error, envcapsule.EnvcapsuleError)


def test_a_submodule_named_like_a_workflow_never_hides_it() -> None:
    code = (
        "import envcapsule.snapshot, envcapsule.status, envcapsule.share, envcapsule.doctor, envcapsule, sys;"
        "print([callable(getattr(envcapsule, n)) for n in ('snapshot', 'status', 'share', 'doctor')],"
        " type(sys.modules['envcapsule.share']).__name__)"
    )
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert shown.strip() == "[True, True, True, True] module"
