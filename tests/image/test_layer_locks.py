"""Layer locks: a build that may make a layer keeps others off it; builds that only read it share it."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from envcapsule.image.layer_locks import holding, layer_key, locks_folder
from tests.conftest import require

# Layer locks use flock: POSIX only. Outside CI a platform without it skips; under CI=true it fails.
require(importlib.util.find_spec("fcntl") is not None, "layer locks need fcntl (a POSIX system)")


@pytest.fixture(autouse=True)
def _own_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))


def another_process_locks(key: str, exclusive: bool) -> bool:
    mode = "LOCK_EX" if exclusive else "LOCK_SH"
    code = f"import fcntl; fcntl.flock(open({str(locks_folder() / f'{key}.lock')!r}, 'a'), fcntl.{mode} | fcntl.LOCK_NB)"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, check=False).returncode == 0


def test_an_exclusive_lock_keeps_every_other_build_off_the_layer() -> None:
    key = layer_key("base", "server lock")
    with holding({key: True}):
        assert not another_process_locks(key, exclusive=False)
    assert another_process_locks(key, exclusive=True)


def test_builds_that_only_read_a_layer_share_it_and_keep_a_rebuild_waiting() -> None:
    key = layer_key("base", "server lock")
    with holding({key: False, layer_key("kernel-rest"): True}):
        assert another_process_locks(key, exclusive=False)
        assert not another_process_locks(key, exclusive=True)


def test_keys_depend_on_every_part() -> None:
    assert layer_key("a", "b") != layer_key("a", "c") != layer_key("ab")
