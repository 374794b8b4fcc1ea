"""The probe describes the interpreter, the operating system and the environment variables."""

from __future__ import annotations

import platform
import sys
from pathlib import Path

import pytest

from envcapsule.probe import (
    abi_tag,
    captured_environment,
    collect,
    detect_environment_kind,
    elf_interpreter,
    libc_version,
    musl_version,
    read_os_release,
)
from tests.conftest import require


@pytest.fixture()
def linux() -> None:
    require(sys.platform.startswith("linux"), "these checks read ELF and glibc facts, which only Linux has")


linux_only = pytest.mark.usefixtures("linux")


def test_allow_listed_variables_are_captured_and_everything_else_dropped() -> None:
    environ = {
        "LANG": "C.UTF-8",
        "LC_ALL": "de_DE.UTF-8",
        "TZ": "UTC",
        "PYTHONHASHSEED": "0",
        "OMP_NUM_THREADS": "4",
        "CUDA_VISIBLE_DEVICES": "0,1",
        "MPLBACKEND": "Agg",
        "HOME": "/root",
        "PATH": "/usr/bin",
        "AWS_SECRET_ACCESS_KEY": "x",
        "PYTHONPATH": "/src",
    }

    assert captured_environment(environ) == {
        "LANG": "C.UTF-8",
        "LC_ALL": "de_DE.UTF-8",
        "TZ": "UTC",
        "PYTHONHASHSEED": "0",
        "OMP_NUM_THREADS": "4",
        "CUDA_VISIBLE_DEVICES": "0,1",
        "MPLBACKEND": "Agg",
    }


@pytest.mark.parametrize("name", ["LC_SECRET_TOKEN", "LC_API_KEY", "lc_password", "LC_AUTH", "LC_CREDENTIALS", "OMP_AUTH"])
def test_a_name_that_looks_secret_is_never_captured(name: str) -> None:
    assert captured_environment({name: "hunter2", "LC_TIME": "C"}) == {"LC_TIME": "C"}


def test_os_release_is_parsed_with_quotes_and_escapes(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/os-release").write_text(
        '# comment\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\n'
        'VERSION_ID="12"\nVERSION_CODENAME=bookworm\nID=debian\nHOME_URL="https://www.debian.org/"\n'
    )

    assert read_os_release(str(tmp_path)) == {
        "distro_id": "debian",
        "distro_version": "12",
        "distro_codename": "bookworm",
        "distro_name": "Debian GNU/Linux 12 (bookworm)",
    }


def test_os_release_falls_back_to_usr_lib(tmp_path: Path) -> None:
    (tmp_path / "usr/lib").mkdir(parents=True)
    (tmp_path / "usr/lib/os-release").write_text('ID=\'alpine\'\nVERSION_ID=3.20.3\nPRETTY_NAME="Alpine \\"edge\\""\n')

    release = read_os_release(str(tmp_path))

    assert (release["distro_id"], release["distro_version"], release["distro_codename"]) == ("alpine", "3.20.3", None)
    assert release["distro_name"] == 'Alpine "edge"'


@linux_only
def test_no_os_release_gives_nulls(tmp_path: Path) -> None:
    assert set(read_os_release(str(tmp_path)).values()) == {None}


def test_collect_reads_the_platform_under_the_given_root(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/os-release").write_text('ID=ubuntu\nVERSION_ID="24.04"\nVERSION_CODENAME=noble\n')

    facts = collect(paths=[], environ={"HOME": str(tmp_path)}, root=str(tmp_path))

    assert (facts["platform"]["distro_id"], facts["platform"]["distro_codename"]) == ("ubuntu", "noble")
    assert facts["platform"]["machine"] == platform.machine()
    assert facts["interpreter"]["version"] == platform.python_version()
    assert facts["interpreter"]["version_info"] == list(sys.version_info)


def test_abi_tag_names_this_interpreter() -> None:
    expected = f"cp{sys.version_info[0]}{sys.version_info[1]}" if sys.implementation.name == "cpython" else ""

    assert abi_tag().startswith(expected) and len(abi_tag()) <= len(expected) + 2


def test_conda_environment_and_venv_on_top_of_conda(tmp_path: Path) -> None:
    conda, venv = tmp_path / "miniforge", tmp_path / "venv"
    (conda / "conda-meta").mkdir(parents=True)
    (conda / "conda-meta/history").write_text("")
    venv.mkdir()
    (venv / "pyvenv.cfg").write_text(f"home = {conda}/bin\n")

    assert detect_environment_kind(str(conda), str(conda)) == ("conda", str(conda))
    assert detect_environment_kind(str(venv), str(conda)) == ("conda-venv", str(conda))


def test_virtualenv_is_told_apart_from_venv_by_pyvenv_cfg(tmp_path: Path) -> None:
    (tmp_path / "env").mkdir()
    (tmp_path / "env/pyvenv.cfg").write_text("home = /usr/bin\nvirtualenv = 20.26.6\nversion_info = 3.11.2\n")

    assert detect_environment_kind(str(tmp_path / "env"), "/usr") == ("virtualenv", None)


@pytest.mark.parametrize(
    ("base_prefix", "kind"),
    [("/root/.pyenv/versions/3.11.7", "pyenv"), ("/usr", "system"), ("/usr/local", "system"), ("/opt/python", "unknown")],
)
def test_interpreters_outside_any_environment(base_prefix: str, kind: str) -> None:
    assert detect_environment_kind(base_prefix, base_prefix) == (kind, None)


def test_musl_loader_output_gives_its_version() -> None:
    output = "musl libc (x86_64)\nVersion 1.2.5\nDynamic Program Loader\nUsage: ld-musl [options]\n"

    assert musl_version(output) == "1.2.5"
    assert musl_version("garbage") is None


@linux_only
def test_elf_interpreter_of_this_python_is_its_dynamic_loader() -> None:
    loader = elf_interpreter(sys.executable)

    assert loader is None or loader.startswith("/") and "ld-" in loader  # None for a static build
    assert elf_interpreter(__file__) is None


@linux_only
def test_libc_matches_what_platform_reports() -> None:
    libc, version = platform.libc_ver()

    if libc == "glibc":
        assert libc_version() == ("glibc", version)
    else:
        assert libc_version()[0] in ("musl", None)
