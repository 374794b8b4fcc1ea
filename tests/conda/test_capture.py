"""The probe in a real conda environment: every conda-meta record, and which distributions conda owns."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from envcapsule.capture import probe_interpreter
from envcapsule.probe import conda_metadata_dirs, scrub_conda_url
from tests.conda.conftest import add_pip_distribution, prefix_of, records_of

PROBE = Path(__file__).parents[2] / "envcapsule" / "probe.py"


def probe(python: Path, **environ: str) -> dict[str, Any]:
    completed = subprocess.run(
        [str(python), "-I", str(PROBE)], capture_output=True, text=True, check=True, env={**os.environ, **environ}
    )
    return json.loads(completed.stdout)


def test_every_record_is_captured_as_conda_meta_has_it(conda_python: Path) -> None:
    facts = probe(conda_python)

    assert facts["interpreter"]["environment_kind"] == "conda"
    assert facts["conda"]["prefix"] == str(prefix_of(conda_python))
    captured = {r["name"]: r for r in facts["conda"]["records"]}
    installed = records_of(prefix_of(conda_python))
    assert sorted(captured) == sorted(installed) == ["libdata", "python", "tinypkg"]
    for name, record in installed.items():
        assert {key: captured[name][key] for key in record if key != "depends"} == {
            k: v for k, v in record.items() if k != "depends"
        }
        assert sorted(captured[name]["depends"]) == record["depends"]
    assert facts["problems"] == []


def test_a_distribution_belongs_to_conda_when_a_record_lists_its_files(conda_python: Path) -> None:
    add_pip_distribution(conda_python, "demo")

    facts = probe_interpreter(conda_python)

    assert {d.name: d.conda for d in facts.distributions} == {"demo": False, "tinypkg": True}
    assert [d.name for d in facts.pip_distributions] == ["demo"]
    assert [r.name for r in facts.conda_records] == ["libdata", "python", "tinypkg"]


def test_a_corrupt_record_is_skipped_with_a_problem_naming_it(conda_python: Path) -> None:
    [record] = (prefix_of(conda_python) / "conda-meta").glob("libdata-*.json")
    record.write_text('{"name": "libdata", "version": ')

    facts = probe(conda_python)

    assert [r["name"] for r in facts["conda"]["records"]] == ["python", "tinypkg"]
    [problem] = facts["problems"]
    assert str(record) in problem and "not valid JSON" in problem and "snapshot again" in problem


def test_a_record_without_name_is_skipped_too(conda_python: Path) -> None:
    [record] = (prefix_of(conda_python) / "conda-meta").glob("libdata-*.json")
    record.write_text('["not", "a", "record"]')

    [problem] = probe(conda_python)["problems"]

    assert str(record) in problem and "no name, version and build" in problem


def test_a_channel_token_never_leaves_the_probe(conda_python: Path) -> None:
    [record] = (prefix_of(conda_python) / "conda-meta").glob("tinypkg-*.json")
    data = json.loads(record.read_text())
    data["url"] = "https://user:pass@conda.example.org/t/tk-0123-secret/private/noarch/" + data["fn"]
    data["channel"] = "https://conda.example.org/t/tk-0123-secret/private/noarch"
    record.write_text(json.dumps(data))

    output = subprocess.run(
        [str(conda_python), "-I", str(PROBE)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PRIVATE_CHANNEL_TOKEN": "tk-0123-secret"},
    ).stdout

    assert "tk-0123-secret" not in output and "pass@" not in output
    tiny = next(r for r in json.loads(output)["conda"]["records"] if r["name"] == "tinypkg")
    assert tiny["url"] == "https://conda.example.org/t/${PRIVATE_CHANNEL_TOKEN}/private/noarch/" + data["fn"]


def test_token_scrubbing_keeps_references_and_names_a_default_variable() -> None:
    assert scrub_conda_url("https://h/t/abc/ch/linux-64/x.conda", {}) == "https://h/t/${CONDA_TOKEN}/ch/linux-64/x.conda"
    assert scrub_conda_url("https://h/t/${MY_TOKEN}/ch/x.conda", {}) == "https://h/t/${MY_TOKEN}/ch/x.conda"
    assert scrub_conda_url("https://h/t/<TOKEN>/ch/x.conda", {}) == "https://h/t/${CONDA_TOKEN}/ch/x.conda"
    assert (
        scrub_conda_url("https://conda.anaconda.org/conda-forge/noarch/x.conda", {})
        == "https://conda.anaconda.org/conda-forge/noarch/x.conda"
    )


def test_metadata_dirs_are_read_from_record_files() -> None:
    files = [
        "lib/python3.11/site-packages/yaml/__init__.py",
        "lib/python3.11/site-packages/PyYAML-6.0.2.dist-info/METADATA",
        "lib/python3.11/site-packages/PyYAML-6.0.2.dist-info/RECORD",
        "lib/python3.11/site-packages/old.egg-info/PKG-INFO",
        "lib/python3.11/site-packages/single-1.0-py3.11.egg-info",
    ]
    assert conda_metadata_dirs(files) == {
        "lib/python3.11/site-packages/PyYAML-6.0.2.dist-info",
        "lib/python3.11/site-packages/old.egg-info",
        "lib/python3.11/site-packages/single-1.0-py3.11.egg-info",
    }
