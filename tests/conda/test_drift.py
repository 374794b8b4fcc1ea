"""Drift in a conda environment: conda packages added, removed or changed, told apart from pip's."""

from __future__ import annotations

import dataclasses
import sys

from envcapsule.drift import compare
from envcapsule.facts import CondaRecord, Distribution, EnvironmentFacts, Interpreter, Platform

FORGE = "https://conda.anaconda.org/conda-forge"


def conda_record(name: str, version: str, build: str = "h0_0", channel: str = FORGE, md5: str = "a" * 32) -> CondaRecord:
    url = f"{channel}/linux-64/{name}-{version}-{build}.conda"
    return CondaRecord(name=name, version=version, build=build, subdir="linux-64", url=url, channel=channel, md5=md5)


BASE = EnvironmentFacts(
    interpreter=Interpreter("cpython", "3.12.7", "cp312", sys.executable, "/env", "/env", "conda", conda_prefix="/env"),
    platform=Platform(os="linux", system="Linux", machine="x86_64"),
    distributions=(Distribution("numpy", "2.1.0", conda=True), Distribution("tabulate", "0.9.0")),
    conda_records=(conda_record("numpy", "2.1.0"), conda_record("python", "3.12.7"), conda_record("zlib", "1.3.1")),
)


def test_identical_conda_environments_have_no_drift() -> None:
    assert compare(BASE, BASE).identical


def test_conda_records_added_removed_and_changed_are_named_once() -> None:
    live = dataclasses.replace(
        BASE,
        distributions=(Distribution("numpy", "2.2.0", conda=True), Distribution("tabulate", "0.9.0")),
        conda_records=(
            conda_record("numpy", "2.2.0", "py312h1_0"),
            conda_record("python", "3.12.7"),
            conda_record("xz", "5.6.3"),
        ),
    )

    drift = compare(BASE, live)

    assert drift.lines() == [
        "conda package numpy 2.1.0 (h0_0) → 2.2.0 (py312h1_0)",
        "conda package xz 5.6.3 (h0_0) was added",
        "conda package zlib 1.3.1 (h0_0) was removed",
    ]
    assert drift.packages == ()  # numpy's dist-info is conda's, so pip's side does not repeat the change
    assert drift.to_json()["conda"]["xz"] == {"kind": "added", "old": None, "new": "5.6.3 (h0_0)"}


def test_the_same_build_from_another_channel_names_both_channels() -> None:
    mirror = "https://mirror.example.org/conda-forge"
    live = dataclasses.replace(BASE, conda_records=(conda_record("numpy", "2.1.0", channel=mirror), *BASE.conda_records[1:]))

    [line] = compare(BASE, live).lines()

    assert line == f"conda package numpy 2.1.0 (h0_0) from {FORGE} → 2.1.0 (h0_0) from {mirror}"


def test_a_package_moving_from_conda_to_pip_shows_on_both_sides() -> None:
    live = dataclasses.replace(
        BASE,
        distributions=(Distribution("numpy", "2.1.0"), Distribution("tabulate", "0.9.0")),
        conda_records=BASE.conda_records[1:],
    )

    assert compare(BASE, live).lines() == ["conda package numpy 2.1.0 (h0_0) was removed", "numpy 2.1.0 was added"]
