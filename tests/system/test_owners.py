"""Which host package owns a file: dpkg's and rpm's answers parsed, and the real dpkg of this host asked."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from envcapsule.system.owners import OwnerCache, dpkg_owners, dpkg_versions, owners_of, path_forms, rpm_owners
from tests.support import require


def fake(answers: dict[str, str]) -> tuple[list[list[str]], object]:
    calls: list[list[str]] = []

    def run(argv: Sequence[str]) -> str:
        calls.append(list(argv))
        return answers.get(argv[0] + " " + argv[1], "")

    return calls, run


def test_a_merged_usr_path_is_asked_in_both_forms() -> None:
    forms = path_forms("/usr/lib/x86_64-linux-gnu/libGL.so.1")
    assert "/lib/x86_64-linux-gnu/libGL.so.1" in forms and forms[0] == "/usr/lib/x86_64-linux-gnu/libGL.so.1"


def test_dpkg_answers_are_mapped_back_to_the_paths_asked() -> None:
    calls, run = fake(
        {
            "dpkg-query -S": (
                "libgl1:amd64: /lib/x86_64-linux-gnu/libGL.so.1\n"
                "diversion by foo from: /usr/lib/x86_64-linux-gnu/libz.so.1\n"
                "libc6:amd64, libc6-dev:amd64: /usr/lib/x86_64-linux-gnu/libm.so.6\n"
                "dpkg-query: no path found matching pattern /opt/own/libfoo.so\n"
            ),
            "dpkg-query -W": "libgl1:amd64\tlibgl1\t1.6.0-1\tamd64\nlibc6:amd64\tlibc6\t2.36-9\tamd64\n",
        }
    )
    paths = ["/usr/lib/x86_64-linux-gnu/libGL.so.1", "/usr/lib/x86_64-linux-gnu/libm.so.6", "/opt/own/libfoo.so"]
    owners = owners_of(paths, "dpkg", run)  # type: ignore[arg-type]
    assert owners["/usr/lib/x86_64-linux-gnu/libGL.so.1"].to_record() == {
        "name": "libgl1",
        "version": "1.6.0-1",
        "architecture": "amd64",
    }
    assert owners["/usr/lib/x86_64-linux-gnu/libm.so.6"].name == "libc6"
    assert "/opt/own/libfoo.so" not in owners
    assert [c[:2] for c in calls] == [["dpkg-query", "-S"], ["dpkg-query", "-W"]]  # one query for all paths, one for versions


def test_rpm_answers_one_line_per_path_in_order() -> None:
    known = {"/usr/lib64/libGL.so.1": "mesa-libGL\t23.1.4-1.fc38\tx86_64"}

    def run(argv: Sequence[str]) -> str:
        return "".join(known.get(path, f"file {path} is not owned by any package") + "\n" for path in argv[4:])

    owners = rpm_owners(["/usr/lib64/libGL.so.1", "/opt/x.so"], run)  # type: ignore[arg-type]
    assert owners["/usr/lib64/libGL.so.1"].version == "23.1.4-1.fc38" and "/opt/x.so" not in owners


def test_a_host_without_a_package_manager_owns_nothing() -> None:
    calls, run = fake({})
    assert owners_of(["/usr/lib/libGL.so.1"], None, run) == {}  # type: ignore[arg-type]
    assert calls == []


def test_this_hosts_dpkg_names_the_owner_of_libgl() -> None:
    require(shutil.which("dpkg-query") is not None, "dpkg (a Debian host)")
    owners = dpkg_owners(["/usr/lib/x86_64-linux-gnu/libGL.so.1", "/usr/lib/python3/dist-packages/yaml/__init__.py"])
    assert owners["/usr/lib/x86_64-linux-gnu/libGL.so.1"].startswith("libgl1")
    assert owners["/usr/lib/python3/dist-packages/yaml/__init__.py"].startswith("python3-yaml")
    versions = dpkg_versions(owners.values())
    assert versions[owners["/usr/lib/x86_64-linux-gnu/libGL.so.1"]].name == "libgl1"


def test_answers_are_kept_until_the_package_database_changes(tmp_path: Path) -> None:
    status = tmp_path / "status"
    status.write_text("Package: libgl1\n")
    calls, run = fake(
        {
            "dpkg-query -S": "libgl1:amd64: /usr/lib/x86_64-linux-gnu/libGL.so.1\n",
            "dpkg-query -W": "libgl1:amd64\tlibgl1\t1.6.0-1\tamd64\n",
        }
    )
    paths = ["/usr/lib/x86_64-linux-gnu/libGL.so.1", "/opt/own/libfoo.so"]
    first = owners_of(paths, "dpkg", run, OwnerCache(tmp_path / "owners.json", status))  # type: ignore[arg-type]
    asked = len(calls)
    again = owners_of(paths, "dpkg", run, OwnerCache(tmp_path / "owners.json", status))  # type: ignore[arg-type]
    assert again == first and first["/usr/lib/x86_64-linux-gnu/libGL.so.1"].version == "1.6.0-1"
    assert len(calls) == asked  # nothing asked again, not even for the path no package owns
    status.write_text("Package: libgl1\nPackage: cowsay\n")  # something was installed
    owners_of(paths, "dpkg", run, OwnerCache(tmp_path / "owners.json", status))  # type: ignore[arg-type]
    assert len(calls) == 2 * asked
