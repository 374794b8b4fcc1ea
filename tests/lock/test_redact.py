"""One redaction for every URL envcapsule writes: userinfo, queries and token path segments never leave memory."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from envcapsule.facts import Distribution, EnvironmentFacts, Interpreter, PipConfig, Platform
from envcapsule.lock import index as index_module
from envcapsule.lock.index import IndexClient, IndexLookupError
from envcapsule.lock.redact import fill_variables, looks_like_token, looks_secret_value, redact_text, redact_url
from envcapsule.probe import captured_environment, read_pip_config
from tests.fakeindex import FakeIndex

PATH_TOKEN = "ab-12345678-cd90-ef12"
QUERY_TOKEN = "sig.Zq8Xv3Lm0Pk7Ws2N"


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index_module, "_RETRY_BACKOFF", (0.01, 0.02))
    for variable in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(variable, raising=False)


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("https://alice:hunter2@host/simple", "https://host/simple"),
        ("https://host/simple/?token=hunter2", "https://host/simple/"),
        (
            "https://bucket.s3.example/pkg-1.0.tar.gz?X-Amz-Signature=0f&X-Amz-Credential=AKIA",
            "https://bucket.s3.example/pkg-1.0.tar.gz",
        ),
        ("https://pypi.anaconda.org/t/ab-1234-cd/me/simple", "https://pypi.anaconda.org/t/${INDEX_TOKEN}/me/simple"),
        (
            "https://dl.cloudsmith.example/Zq8Xv3Lm0Pk7Ws2N/org/repo/python/simple/",
            "https://dl.cloudsmith.example/${INDEX_TOKEN}/org/repo/python/simple/",
        ),
        ("https://host/t/${MY_TOKEN}/ch/x.conda", "https://host/t/${MY_TOKEN}/ch/x.conda"),
        ("https://${USER}:${PASS}@host/simple", "https://${USER}:${PASS}@host/simple"),
        ("https://u:p@host/pkg-1.0.tar.gz#sha256=00ff", "https://host/pkg-1.0.tar.gz#sha256=00ff"),
    ],
)
def test_secrets_in_urls_are_removed_or_become_references(url: str, redacted: str) -> None:
    assert redact_url(url) == redacted
    assert redact_url(redacted) == redacted  # a fixed point: redacting twice changes nothing


@pytest.mark.parametrize(
    "url",
    [
        "https://files.pythonhosted.org/packages/2a/5f/"
        + "0123abcd" * 7
        + "0123/numpy-2.1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
        "https://files.pythonhosted.org/packages/source/t/tabulate/tabulate-0.9.0.tar.gz",
        "https://download.pytorch.org/whl/cu130/torch-2.9.0%2Bcu130-cp311-cp311-manylinux_2_28_x86_64.whl",
        "https://github.com/astral-sh/python-build-standalone/releases/download/20240107/cpython-3.12.1-install_only.tar.gz",
        "file:///home/me/Zq8Xv3Lm0Pk7Ws2N/wheels",
    ],
)
def test_ordinary_urls_are_left_as_they_are(url: str) -> None:
    assert redact_url(url) == url


def test_the_hidden_values_stay_in_memory_under_their_variable_names() -> None:
    hidden: dict[str, str] = {}
    first = redact_url("https://a.example/t/tok-one/simple", hidden=hidden)
    second = redact_url("https://b.example/t/tok-two/simple", hidden=hidden, environ={"B_TOKEN": "tok-two"})
    again = redact_url("https://a.example/t/tok-one/files/x.whl", hidden=hidden)

    assert (first, second, again) == (
        "https://a.example/t/${INDEX_TOKEN}/simple",
        "https://b.example/t/${B_TOKEN}/simple",
        "https://a.example/t/${INDEX_TOKEN}/files/x.whl",
    )
    assert hidden == {"INDEX_TOKEN": "tok-one", "B_TOKEN": "tok-two"}
    assert fill_variables(first, hidden) == ("https://a.example/t/tok-one/simple", [])
    assert fill_variables(first, {}) == (first, ["INDEX_TOKEN"])


def test_sentences_quoting_urls_are_redacted() -> None:
    sentence = "demo==1.0 is not on the configured indexes (https://u:pw@host/t/tok-1/simple?key=v)."

    assert redact_text(sentence) == "demo==1.0 is not on the configured indexes (https://host/t/${INDEX_TOKEN}/simple)."


@pytest.mark.parametrize("value", ["ghp_abcdefghijklmnop1234", "Zq8Xv3Lm0Pk7Ws2NaB4c", "https://u:pw@host/simple"])
def test_secret_looking_values_are_recognised(value: str) -> None:
    assert looks_secret_value(value)


@pytest.mark.parametrize(
    "value",
    [
        "C.UTF-8",
        "Europe/Berlin",
        "GPU-8f2c6d1e-1234-5678-9abc-def012345678",
        ":4096:8",
        "module://matplotlib_inline.backend_inline",
    ],
)
def test_ordinary_values_are_not_secrets(value: str) -> None:
    assert not looks_secret_value(value)
    assert not looks_like_token(value)


def test_environment_capture_drops_secret_names_values_and_private_locale_names() -> None:
    environ = {
        "LC_PRIVATE": "hunter2",
        "LC_ALL": "de_DE.UTF-8",
        "LC_TIME": "C",
        "TZ": "Europe/Berlin",
        "MPLBACKEND": "ghp_abcdefghijklmnop1234",  # an allow-listed name holding a token
        "LANG": "https://u:hunter2@host/",
    }

    assert captured_environment(environ) == {"LC_ALL": "de_DE.UTF-8", "LC_TIME": "C", "TZ": "Europe/Berlin"}


def test_the_probe_reports_pip_urls_redacted(tmp_path: Path) -> None:
    environ = {
        "HOME": str(tmp_path),
        "PIP_INDEX_URL": f"https://pypi.anaconda.org/t/{PATH_TOKEN}/me/simple",
        "PIP_EXTRA_INDEX_URL": f"https://extra.example/simple?token={QUERY_TOKEN}",
    }

    config = read_pip_config(environ, config_files=[])

    assert config["index_url"] == "https://pypi.anaconda.org/t/${INDEX_TOKEN}/me/simple"
    assert config["extra_index_urls"] == ["https://extra.example/simple"]


def _hidden_in(folder: Path, *secrets: str) -> list[str]:
    """The files under ``folder`` that hold any of ``secrets``."""
    return [str(p) for p in folder.rglob("*") if p.is_file() and any(s.encode() in p.read_bytes() for s in secrets)]


@pytest.mark.parametrize("where", ["path", "query"])
def test_a_tokened_index_is_used_but_its_token_is_never_stored(tmp_path: Path, where: str) -> None:
    token = {"path_token": PATH_TOKEN} if where == "path" else {"query_token": QUERY_TOKEN}
    cache = tmp_path / "cache"
    with FakeIndex(**token) as fake:  # type: ignore[arg-type]
        wheel = fake.add_file("demo", "demo-1.0-py3-none-any.whl", content=b"demo wheel")
        with IndexClient([fake.url], cache_dir=cache) as client:
            (found,) = client.project_files("demo")
            size = client.file_size(found.url)
            client.fetch(found.url, tmp_path / "out" / wheel.filename, wheel.sha256)

        assert PATH_TOKEN not in found.url + found.index and QUERY_TOKEN not in found.url + found.index
        assert (size, (tmp_path / "out" / wheel.filename).read_bytes()) == (len(b"demo wheel"), b"demo wheel")
        assert all(status == 200 for status in fake.statuses)  # every request carried the real token
    assert _hidden_in(cache, PATH_TOKEN, QUERY_TOKEN) == []


def test_a_later_client_reaches_a_path_tokened_file_through_the_configured_index(tmp_path: Path) -> None:
    with FakeIndex(path_token=PATH_TOKEN) as fake:
        wheel = fake.add_file("demo", "demo-1.0-py3-none-any.whl", content=b"demo wheel")
        with IndexClient([fake.url], cache_dir=tmp_path / "cache") as client:
            (found,) = client.project_files("demo")
        with IndexClient([fake.url], cache_dir=tmp_path / "cache") as later:  # as build does, from pylock.toml's URL
            later.fetch(found.url, tmp_path / wheel.filename, wheel.sha256)
        with IndexClient([], cache_dir=tmp_path / "cache") as unconfigured, pytest.raises(IndexLookupError) as refused:
            unconfigured.fetch(found.url, tmp_path / "again.whl", wheel.sha256)

    assert found.url == fake.file_url(wheel.filename).replace(PATH_TOKEN, "${INDEX_TOKEN}")
    assert (tmp_path / wheel.filename).read_bytes() == b"demo wheel"
    assert "set INDEX_TOKEN" in str(refused.value) and PATH_TOKEN not in str(refused.value)


@pytest.mark.usefixtures("no_pip_environment")
def test_a_snapshot_writes_no_index_token_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from envcapsule.snapshot import snapshot

    notebook = tmp_path / "analysis.ipynb"
    notebook.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    with FakeIndex(path_token=PATH_TOKEN, mode="html") as fake:
        fake.add_file("six", "six-1.17.0-py2.py3-none-any.whl", content=b"six wheel")
        monkeypatch.setenv("PIP_INDEX_URL", fake.url)  # the real URL, as the kernel's pip has it
        reported = read_pip_config({"PIP_INDEX_URL": fake.url}, config_files=[])
        facts = EnvironmentFacts(
            interpreter=Interpreter("cpython", "3.11.2", "cp311", sys.executable, "/env", "/usr", "venv"),
            platform=Platform(os="linux", system="Linux", machine="x86_64", libc="glibc", libc_version="2.36"),
            distributions=(
                Distribution("six", "1.17.0", wheel_tags=("py2-none-any", "py3-none-any")),
                Distribution("gone", "1.0", wheel_tags=("py3-none-any",)),  # unresolved: its warning quotes the index
            ),
            pip_config=PipConfig(index_url=reported["index_url"]),
            environment={"LANG": "C.UTF-8"},
        )
        result = snapshot(notebook, python=sys.executable, facts=facts)

    pylock = (result.capsule / "pylock.toml").read_text()
    assert "/t/${INDEX_TOKEN}/files/six-1.17.0-py2.py3-none-any.whl" in pylock
    assert "/t/${INDEX_TOKEN}/simple" in (result.capsule / "capsule.toml").read_text()
    assert _hidden_in(result.capsule, PATH_TOKEN) == []
    assert _hidden_in(Path(os.environ["ENVCAPSULE_CACHE_DIR"]), PATH_TOKEN) == []  # nor the index and resolution caches


def test_facts_written_from_anywhere_hold_no_secret() -> None:
    facts = EnvironmentFacts(
        interpreter=Interpreter("cpython", "3.11.2", "cp311", sys.executable, "/env", "/usr", "venv"),
        platform=Platform(os="linux", system="Linux", machine="x86_64"),
        distributions=(
            Distribution(
                "demo",
                "1.0",
                direct_url={"url": f"https://s3.example/demo-1.0.tar.gz?X-Amz-Signature={QUERY_TOKEN}", "archive_info": {}},
            ),
        ),
        pip_config=PipConfig(index_url=f"https://alice:pw@pypi.anaconda.org/t/{PATH_TOKEN}/me/simple"),
        environment={"LC_PRIVATE": "hunter2", "TZ": "UTC"},
        problems=(f"https://pypi.anaconda.org/t/{PATH_TOKEN}/me/simple answered 500.",),
    )

    written = json.dumps(facts.to_dict())

    assert not any(secret in written for secret in (PATH_TOKEN, QUERY_TOKEN, "hunter2", "alice:pw"))
    assert facts.to_dict()["environment"] == {"TZ": "UTC"}
