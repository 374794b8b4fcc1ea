"""The probe reads installed distributions the way importlib.metadata finds them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from envcapsule.probe import collect, parse_headers, record_top_level, scan_distributions


def make_dist_info(
    site: Path,
    name: str,
    version: str,
    *,
    tags: list[str] | None = None,
    installer: str | None = "pip",
    requested: bool = False,
    direct_url: dict[str, Any] | None = None,
    top_level: list[str] | None = None,
    record: list[str] | None = None,
    requires: tuple[str, ...] = (),
    requires_python: str | None = None,
) -> Path:
    """A ``name-version.dist-info`` folder in ``site``, as pip would leave it."""
    folder = site / f"{name.replace('-', '_')}-{version}.dist-info"
    folder.mkdir(parents=True)
    headers = ["Metadata-Version: 2.1", "Name: " + name, "Version: " + version]
    headers += ["Requires-Dist: " + requirement for requirement in requires]
    if requires_python:
        headers.append("Requires-Python: " + requires_python)
    (folder / "METADATA").write_text("\n".join(headers) + "\n\nA long description.\nName: not-a-header\n")
    if tags is not None:
        wheel = ["Wheel-Version: 1.0", "Generator: bdist_wheel", "Root-Is-Purelib: false"]
        (folder / "WHEEL").write_text("\n".join(wheel + ["Tag: " + tag for tag in tags]) + "\n")
    if installer:
        (folder / "INSTALLER").write_text(installer + "\n")
    if requested:
        (folder / "REQUESTED").write_text("")
    if direct_url is not None:
        (folder / "direct_url.json").write_text(json.dumps(direct_url))
    if top_level is not None:
        (folder / "top_level.txt").write_text("\n".join(top_level) + "\n")
    if record is not None:
        (folder / "RECORD").write_text("\n".join(path + ",," for path in record) + "\n")
    return folder


def only(site: Path, name: str) -> dict[str, Any]:
    problems: list[str] = []
    dists = {dist["name"]: dist for dist in scan_distributions([str(site)], problems)}
    assert problems == []
    return dists[name]


def test_headers_are_read_like_email_headers_and_the_body_ignored() -> None:
    text = (
        "Metadata-Version: 2.1\r\nname: Foo\r\nRequires-Dist: bar>=1;\r\n  extra == 'x'\r\n"
        "Requires-Dist: baz\r\nKeywords:\r\n\r\nRequires-Dist: in-the-body\r\n"
    )

    headers = parse_headers(text)

    assert headers["name"] == ["Foo"]
    assert headers["requires-dist"] == ["bar>=1; extra == 'x'", "baz"]
    assert headers["keywords"] == [""]


def test_compiled_wheel_keeps_every_tag_in_file_order(tmp_path: Path) -> None:
    tags = ["cp311-cp311-manylinux_2_17_x86_64", "cp311-cp311-manylinux2014_x86_64"]
    make_dist_info(tmp_path, "numpy", "2.1.3", tags=tags)

    assert only(tmp_path, "numpy")["wheel_tags"] == tags


def test_universal_wheel_lists_both_python_tags(tmp_path: Path) -> None:
    make_dist_info(tmp_path, "six", "1.16.0", tags=["py2-none-any", "py3-none-any"])

    assert only(tmp_path, "six")["wheel_tags"] == ["py2-none-any", "py3-none-any"]


def test_names_are_normalised_and_metadata_read_from_headers_only(tmp_path: Path) -> None:
    make_dist_info(
        tmp_path,
        "Typing_Extensions",
        "4.12.2",
        installer="uv",
        requested=True,
        requires=("numpy>=1.22", 'tzdata; extra == "x"'),
        requires_python=">=3.8",
    )

    dist = only(tmp_path, "typing-extensions")

    assert (dist["display_name"], dist["version"]) == ("Typing_Extensions", "4.12.2")
    assert (dist["installer"], dist["requested"], dist["format"]) == ("uv", True, "dist-info")
    assert dist["requires_dist"] == ["numpy>=1.22", 'tzdata; extra == "x"']
    assert dist["requires_python"] == ">=3.8"
    assert dist["location"] == str(tmp_path)
    assert dist["metadata_dir"] == str(tmp_path / "Typing_Extensions-4.12.2.dist-info")


def test_vcs_install_loses_its_credentials_but_keeps_its_commit(tmp_path: Path) -> None:
    commit = "0123456789abcdef0123456789abcdef01234567"
    make_dist_info(
        tmp_path,
        "private-lib",
        "0.3",
        direct_url={
            "url": "https://user:secret@github.com/o/r.git",
            "vcs_info": {"vcs": "git", "commit_id": commit},
        },
    )

    direct_url = only(tmp_path, "private-lib")["direct_url"]

    assert direct_url == {"url": "https://github.com/o/r.git", "vcs_info": {"vcs": "git", "commit_id": commit}}


def test_git_ssh_user_and_environment_variable_userinfo_are_kept(tmp_path: Path) -> None:
    ssh = make_dist_info(
        tmp_path,
        "over-ssh",
        "1.0",
        direct_url={"url": "ssh://git@github.com/o/r.git", "vcs_info": {"vcs": "git", "commit_id": "ab" * 20}},
    )
    env = make_dist_info(
        tmp_path,
        "with-env",
        "1.0",
        direct_url={
            "url": "https://${PIP_USER}:${PIP_TOKEN}@example.com/r.git",
            "vcs_info": {"vcs": "git", "commit_id": "cd" * 20},
        },
    )
    assert ssh.exists() and env.exists()

    assert only(tmp_path, "over-ssh")["direct_url"]["url"] == "ssh://git@github.com/o/r.git"
    assert only(tmp_path, "with-env")["direct_url"]["url"] == "https://${PIP_USER}:${PIP_TOKEN}@example.com/r.git"


def test_editable_install_reports_its_source_directory(tmp_path: Path) -> None:
    make_dist_info(tmp_path, "x", "0.1.dev0", direct_url={"url": "file:///src/x", "dir_info": {"editable": True}})

    assert only(tmp_path, "x")["direct_url"] == {"url": "file:///src/x", "dir_info": {"editable": True}}


def test_malformed_direct_url_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    folder = make_dist_info(tmp_path, "odd", "1.0")
    (folder / "direct_url.json").write_text("{not json")
    problems: list[str] = []

    [dist] = scan_distributions([str(tmp_path)], problems)

    assert dist["direct_url"] is None
    assert len(problems) == 1 and "direct_url.json" in problems[0]


def test_egg_info_folder_and_single_file_egg_info(tmp_path: Path) -> None:
    egg = tmp_path / "legacy_pkg-2.0.egg-info"
    egg.mkdir()
    (egg / "PKG-INFO").write_text("Metadata-Version: 1.1\nName: legacy-pkg\nVersion: 2.0\n")
    (egg / "top_level.txt").write_text("legacy\n")
    (egg / "requires.txt").write_text('six>=1.0\n\n[speed]\ncython\n\n[:sys_platform == "win32"]\ncolorama\n')
    (tmp_path / "debian_thing-1.4.egg-info").write_text("Metadata-Version: 1.1\nName: debian-thing\nVersion: 1.4\n")

    legacy, debian = only(tmp_path, "legacy-pkg"), only(tmp_path, "debian-thing")

    assert (legacy["format"], legacy["wheel_tags"], legacy["top_level"]) == ("egg-info", [], ["legacy"])
    assert legacy["requires_dist"] == ["six>=1.0", 'cython; extra == "speed"', 'colorama; sys_platform == "win32"']
    assert (debian["version"], debian["metadata_dir"]) == ("1.4", str(tmp_path / "debian_thing-1.4.egg-info"))


def test_dist_info_without_metadata_is_reported_and_skipped(tmp_path: Path) -> None:
    make_dist_info(tmp_path, "good", "1.0")
    (tmp_path / "broken-1.0.dist-info").mkdir()
    (tmp_path / "garbled-1.0.dist-info").mkdir()
    (tmp_path / "garbled-1.0.dist-info" / "METADATA").write_bytes(b"\xff\xfe\x00Name\n\x80\x81")
    problems: list[str] = []

    dists = scan_distributions([str(tmp_path)], problems)

    assert [dist["name"] for dist in dists] == ["good"]
    assert len(problems) == 2
    assert "broken-1.0.dist-info" in problems[0] and "garbled-1.0.dist-info" in problems[1]


def test_first_distribution_on_the_path_shadows_later_ones(tmp_path: Path) -> None:
    first, later = tmp_path / "user-site", tmp_path / "site-packages"
    make_dist_info(first, "requests", "2.32.3")
    make_dist_info(later, "requests", "2.28.0")
    make_dist_info(later, "idna", "3.7")
    problems: list[str] = []

    dists = scan_distributions([str(first), str(later), str(tmp_path / "missing")], problems)

    assert [(d["name"], d["version"], d["location"]) for d in dists] == [
        ("idna", "3.7", str(later)),
        ("requests", "2.32.3", str(first)),
    ]
    assert problems == []


def test_two_versions_in_one_folder_is_a_problem(tmp_path: Path) -> None:
    make_dist_info(tmp_path, "attrs", "23.1.0")
    make_dist_info(tmp_path, "attrs", "24.2.0")
    problems: list[str] = []

    [dist] = scan_distributions([str(tmp_path)], problems)

    assert dist["version"] == "23.1.0"
    assert problems == [f"{tmp_path} holds more than one version of attrs; {dist['metadata_dir']} was used."]


def test_same_version_as_dist_info_and_egg_info_prefers_dist_info_quietly(tmp_path: Path) -> None:
    make_dist_info(tmp_path, "cryptography", "38.0.4", tags=["cp37-abi3-linux_x86_64"])
    (tmp_path / "cryptography.egg-info").mkdir()
    (tmp_path / "cryptography.egg-info" / "PKG-INFO").write_text("Name: cryptography\nVersion: 38.0.4\n")

    dist = only(tmp_path, "cryptography")

    assert (dist["format"], dist["wheel_tags"]) == ("dist-info", ["cp37-abi3-linux_x86_64"])


def test_top_level_names_come_from_record_when_top_level_txt_is_missing(tmp_path: Path) -> None:
    make_dist_info(
        tmp_path,
        "mixed",
        "1.0",
        record=[
            "mixed/__init__.py",
            "mixed/core.py",
            "_mixed_c.cpython-311-x86_64-linux-gnu.so",
            "single_module.py",
            "__pycache__/single_module.cpython-311.pyc",
            "mixed-1.0.dist-info/METADATA",
            "mixed-1.0.data/scripts/tool",
            "mixed-stubs/__init__.pyi",
            "../../../bin/mixed-cli",
            "distutils-precedence.pth",
            '"comma_pkg/a,b.py"',
        ],
    )

    assert only(tmp_path, "mixed")["top_level"] == ["_mixed_c", "comma_pkg", "mixed", "single_module"]


def test_top_level_txt_wins_over_record(tmp_path: Path) -> None:
    make_dist_info(tmp_path, "pyyaml", "6.0.2", top_level=["yaml", "_yaml", "yaml"], record=["other/__init__.py"])

    assert only(tmp_path, "pyyaml")["top_level"] == ["_yaml", "yaml"]


def test_a_garbled_record_line_costs_only_itself() -> None:
    assert record_top_level('pkg/__init__.py,,\n\0bro\0ken\n"unclosed') == ["pkg"]


def test_collect_scans_the_given_paths_in_order_and_sorts_by_name(tmp_path: Path) -> None:
    make_dist_info(tmp_path / "a", "zeta", "1")
    make_dist_info(tmp_path / "b", "alpha", "1")

    facts = collect(paths=[str(tmp_path / "a"), str(tmp_path / "b")], environ={})

    assert [dist["name"] for dist in facts["distributions"]] == ["alpha", "zeta"]
    assert facts["sys_path"] == [str(tmp_path / "a"), str(tmp_path / "b")]
    assert facts["problems"] == []
