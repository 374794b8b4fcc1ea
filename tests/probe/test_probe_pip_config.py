"""The probe reports the index settings ``pip install`` would use, with pip's precedence."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from envcapsule.probe import collect, read_pip_config, redact_url


class FakeHost:
    """A root, a home and a prefix in tmp_path, so no real pip.conf leaks in."""

    def __init__(self, tmp_path: Path) -> None:
        self.root = tmp_path / "root"
        self.home = tmp_path / "home"
        self.prefix = tmp_path / "venv"
        for folder in (self.root, self.home, self.prefix):
            folder.mkdir()
        self.environ = {"HOME": str(self.home)}

    def write(self, path: Path, text: str) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def read(self, **kwargs: object) -> dict[str, Any]:
        return read_pip_config(self.environ, prefix=str(self.prefix), root=str(self.root), **kwargs)  # type: ignore[arg-type]


def index(url: str) -> str:
    return f"[global]\nindex-url = {url}\n"


def test_nothing_configured_means_pypi(tmp_path: Path) -> None:
    host = FakeHost(tmp_path)

    assert host.read() == {
        "index_url": "https://pypi.org/simple",
        "extra_index_urls": [],
        "find_links": [],
        "no_index": False,
        "cert": None,
        "trusted_hosts": [],
        "config_files": [],
    }


def test_files_load_global_user_site_then_pip_config_file_and_later_wins(tmp_path: Path) -> None:
    host = FakeHost(tmp_path)
    xdg_global = host.write(host.root / "etc/xdg/pip/pip.conf", index("https://xdg-global/simple"))
    etc = host.write(host.root / "etc/pip.conf", index("https://etc/simple"))
    legacy = host.write(host.home / ".pip/pip.conf", index("https://legacy-user/simple"))
    user = host.write(host.home / ".config/pip/pip.conf", index("https://user/simple"))
    site = host.write(host.prefix / "pip.conf", index("https://site/simple"))

    assert host.read()["config_files"] == [str(p) for p in (xdg_global, etc, legacy, user, site)]
    assert host.read()["index_url"] == "https://site/simple"

    env_file = host.write(tmp_path / "ci-pip.conf", index("https://ci/simple"))
    host.environ["PIP_CONFIG_FILE"] = str(env_file)

    config = host.read()
    assert config["config_files"] == [str(p) for p in (xdg_global, etc, site, env_file)]  # pip skips user files then
    assert config["index_url"] == "https://ci/simple"


def test_xdg_variables_move_the_global_and_user_files(tmp_path: Path) -> None:
    host = FakeHost(tmp_path)
    first = host.write(host.root / "opt/one/pip/pip.conf", index("https://one/simple"))
    second = host.write(host.root / "opt/two/pip/pip.conf", index("https://two/simple"))
    user = host.write(tmp_path / "xdg-home/pip/pip.conf", index("https://xdg-home/simple"))
    host.write(host.home / ".config/pip/pip.conf", index("https://ignored/simple"))
    host.environ.update(XDG_CONFIG_DIRS="/opt/one:/opt/two", XDG_CONFIG_HOME=str(tmp_path / "xdg-home"))

    config = host.read()

    assert config["config_files"] == [str(first), str(second), str(user)]
    assert config["index_url"] == "https://xdg-home/simple"


def test_pip_config_file_set_to_devnull_disables_every_file(tmp_path: Path) -> None:
    host = FakeHost(tmp_path)
    host.write(host.root / "etc/pip.conf", index("https://etc/simple"))
    host.environ["PIP_CONFIG_FILE"] = os.devnull

    config = host.read()

    assert (config["config_files"], config["index_url"]) == ([], "https://pypi.org/simple")


def test_install_section_overrides_global_section_even_from_an_earlier_file(tmp_path: Path) -> None:
    host = FakeHost(tmp_path)
    host.write(host.root / "etc/pip.conf", "[install]\nindex_url = https://install/simple\n")
    host.write(host.home / ".config/pip/pip.conf", "[global]\nindex-url = https://global/simple\ncert = /ca.pem\n")

    config = host.read()

    assert config["index_url"] == "https://install/simple"
    assert config["cert"] == "/ca.pem"


def test_multi_valued_keys_split_on_whitespace_and_newlines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    host = FakeHost(tmp_path)
    host.write(
        host.home / ".config/pip/pip.conf",
        (
            "[global]\nextra-index-url =\n    https://a/simple\n    https://b/simple https://c/simple\n"
            "find-links = wheels https://example.com/links/\ntrusted-host = a\n  b:8080\nno-index = yes\n"
        ),
    )
    monkeypatch.chdir(tmp_path)

    config = host.read()

    assert config["extra_index_urls"] == ["https://a/simple", "https://b/simple", "https://c/simple"]
    assert config["find_links"] == [str(tmp_path / "wheels"), "https://example.com/links/"]
    assert (config["trusted_hosts"], config["no_index"]) == (["a", "b:8080"], True)


def test_pip_environment_variables_override_files(tmp_path: Path) -> None:
    host = FakeHost(tmp_path)
    host.write(
        host.home / ".config/pip/pip.conf",
        (
            "[install]\nindex-url = https://file/simple\nextra-index-url = https://file-extra/simple\n"
            "no-index = true\ncert = /file-ca.pem\n"
        ),
    )
    host.environ.update(
        PIP_INDEX_URL="https://env/simple",
        PIP_EXTRA_INDEX_URL="https://e1/simple  https://e2/simple",
        PIP_FIND_LINKS="/opt/wheels file:///srv/wheels",
        PIP_NO_INDEX="off",
        PIP_CERT="/env-ca.pem",
        PIP_TRUSTED_HOST="e1 e2",
    )

    config = host.read()

    assert config["index_url"] == "https://env/simple"
    assert config["extra_index_urls"] == ["https://e1/simple", "https://e2/simple"]
    assert config["find_links"] == ["/opt/wheels", "file:///srv/wheels"]
    assert (config["no_index"], config["cert"], config["trusted_hosts"]) == (False, "/env-ca.pem", ["e1", "e2"])


def test_an_empty_environment_variable_does_not_override(tmp_path: Path) -> None:
    host = FakeHost(tmp_path)
    host.write(host.prefix / "pip.conf", index("https://site/simple"))
    host.environ["PIP_INDEX_URL"] = ""

    assert host.read()["index_url"] == "https://site/simple"


def test_credentials_are_removed_unless_the_caller_asks_for_them(tmp_path: Path) -> None:
    host = FakeHost(tmp_path)
    host.write(host.home / ".config/pip/pip.conf", "[global]\nindex-url = https://u:p4ss@host/simple\n")
    host.environ["PIP_EXTRA_INDEX_URL"] = "https://t0ken@extra.example/simple https://plain/simple"

    redacted, kept = host.read(), host.read(redact=False)

    assert redacted["index_url"] == "https://host/simple"
    assert redacted["extra_index_urls"] == ["https://extra.example/simple", "https://plain/simple"]
    assert kept["index_url"] == "https://u:p4ss@host/simple"
    assert kept["extra_index_urls"][0] == "https://t0ken@extra.example/simple"


def test_explicit_config_files_are_read_as_given(tmp_path: Path) -> None:
    host = FakeHost(tmp_path)
    reported = host.write(tmp_path / "elsewhere.conf", "[global]\nindex-url = https://u:p4ss@mirror/simple\n")
    host.write(host.prefix / "pip.conf", index("https://not-read/simple"))

    config = host.read(redact=False, config_files=[str(reported)])

    assert (config["index_url"], config["config_files"]) == ("https://u:p4ss@mirror/simple", [str(reported)])


def test_unparseable_file_is_a_problem_and_the_rest_still_counts(tmp_path: Path) -> None:
    host = FakeHost(tmp_path)
    broken = host.write(host.root / "etc/pip.conf", "index-url = no section header\n")
    host.write(host.prefix / "pip.conf", index("https://site/simple"))
    problems: list[str] = []

    config = host.read(problems=problems)

    assert config["index_url"] == "https://site/simple"
    assert len(problems) == 1 and str(broken) in problems[0]


def test_printed_facts_never_hold_index_credentials(tmp_path: Path) -> None:
    host = FakeHost(tmp_path)
    environ = dict(host.environ, PIP_INDEX_URL="https://alice:hunter2@private.example/simple")

    printed = json.dumps(collect(paths=[], environ=environ, root=str(host.root)))

    assert "hunter2" not in printed and "alice" not in printed
    assert "https://private.example/simple" in printed


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("https://u:p@host:8443/simple?x=1#f", "https://host:8443/simple#f"),
        ("https://p@ss:w@rd@host/simple", "https://host/simple"),
        ("https://[::1/simple", "https://[::1/simple"),
        ("https://tok@[::1/simple", "https://[::1/simple"),
        ("/home/me@corp/wheels", "/home/me@corp/wheels"),
    ],
)
def test_redaction_handles_odd_urls(url: str, redacted: str) -> None:
    assert redact_url(url) == redacted
