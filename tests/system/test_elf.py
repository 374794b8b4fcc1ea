"""Reading ELF dynamic sections and finding needed libraries as ld.so does, on real libraries of this host."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from envcapsule.system.elf import (
    ElfCache,
    ElfInfo,
    Resolver,
    host_resolver,
    is_shared_object,
    mapped_libraries,
    parse_ldconfig,
    read_elf,
    system_libraries,
)
from tests.support import require

LIBGL = Path("/usr/lib/x86_64-linux-gnu/libGL.so.1")
LIBZ = Path("/lib/x86_64-linux-gnu/libz.so.1")


@pytest.fixture(autouse=True)
def _host_libraries() -> None:
    require(LIBGL.exists() and LIBZ.exists(), "Debian's libgl1 and zlib1g (scripts/docker-setup installs them)")


def test_the_dynamic_section_names_what_a_library_needs() -> None:
    info = read_elf(str(LIBGL))
    assert info is not None and info.machine == "EM_X86_64" and info.elf_class == 64
    assert "libGLdispatch.so.0" in info.needed and "libGLX.so.0" in info.needed


def test_a_file_that_is_not_elf_is_none(tmp_path: Path) -> None:
    script = tmp_path / "libfake.so"
    script.write_text("/* GNU ld script */\nGROUP ( libc.so.6 )\n")
    assert read_elf(str(script)) is None
    assert read_elf(str(tmp_path / "missing.so")) is None


def test_shared_object_names() -> None:
    assert is_shared_object("cv2/cv2.abi3.so") and is_shared_object("opencv_python.libs/libpng16-abc.so.16.37.0")
    assert not is_shared_object("cv2/__init__.py") and not is_shared_object("lib.so.py")


def test_rpath_with_origin_wins_over_the_loader_cache(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "libs").mkdir(parents=True)
    shutil.copyfile(LIBZ, tmp_path / "pkg" / "libs" / "libz.so.1")
    module = ElfInfo(str(tmp_path / "pkg" / "mod.so"), "EM_X86_64", 64, ("libz.so.1",), rpath=("$ORIGIN/libs",))
    resolver = Resolver(cache={("libz.so.1", "x86-64"): str(LIBZ)})
    assert resolver.resolve("libz.so.1", module) == str(tmp_path / "pkg" / "libs" / "libz.so.1")


def test_runpath_comes_after_ld_library_path_and_disables_rpath(tmp_path: Path) -> None:
    for folder in ("rpath", "runpath", "ldpath"):
        (tmp_path / folder).mkdir()
        shutil.copyfile(LIBZ, tmp_path / folder / "libz.so.1")
    module = ElfInfo(
        str(tmp_path / "mod.so"), "EM_X86_64", 64, rpath=(str(tmp_path / "rpath"),), runpath=(str(tmp_path / "runpath"),)
    )
    assert Resolver().resolve("libz.so.1", module) == str(tmp_path / "runpath" / "libz.so.1")
    with_path = Resolver(library_path=(str(tmp_path / "ldpath"),))
    assert with_path.resolve("libz.so.1", module) == str(tmp_path / "ldpath" / "libz.so.1")


def test_a_library_of_another_machine_is_passed_over(tmp_path: Path) -> None:
    (tmp_path / "libs").mkdir()
    (tmp_path / "libs" / "libz.so.1").write_bytes(b"\x7fELF" + b"\0" * 60)  # not a loadable x86-64 library
    module = ElfInfo(str(tmp_path / "mod.so"), "EM_X86_64", 64, runpath=(str(tmp_path / "libs"),))
    assert Resolver().resolve("libz.so.1", module) == str(LIBZ)  # the first default folder


def test_ldconfig_output_is_parsed_by_architecture() -> None:
    output = (
        "1234 libs found in cache `/etc/ld.so.cache'\n"
        "\tlibz.so.1 (libc6,x86-64) => /lib/x86_64-linux-gnu/libz.so.1\n"
        "\tlibz.so.1 (libc6) => /lib/i386-linux-gnu/libz.so.1\n"
        "\tlibGL.so.1 (libc6,AArch64) => /lib/aarch64-linux-gnu/libGL.so.1\n"
        "\tlibfoo.so.2 (libc6,x86-64, OS ABI: Linux 3.2.0) => /usr/lib/libfoo.so.2\n"
    )
    cache = parse_ldconfig(output)
    assert cache[("libz.so.1", "x86-64")] == "/lib/x86_64-linux-gnu/libz.so.1"
    assert cache[("libz.so.1", "")] == "/lib/i386-linux-gnu/libz.so.1"
    assert cache[("libGL.so.1", "AArch64")] == "/lib/aarch64-linux-gnu/libGL.so.1"
    assert cache[("libfoo.so.2", "x86-64")] == "/usr/lib/libfoo.so.2"


def test_bundled_libraries_are_followed_and_system_ones_reported(tmp_path: Path) -> None:
    """A wheel's ``*.libs/`` copy of libGL: what it needs from the system is found; libc never is."""
    libs = tmp_path / "env" / "site-packages" / "pkg.libs"
    libs.mkdir(parents=True)
    shutil.copyfile(LIBGL, libs / "libGL-1a2b3c.so.1")
    found = system_libraries([str(libs / "libGL-1a2b3c.so.1")], [str(tmp_path / "env")], host_resolver({}))
    names = {lib.soname: lib for lib in found}
    assert {"libGLdispatch.so.0", "libGLX.so.0"} <= set(names)
    assert "libc.so.6" not in names
    assert names["libGLX.so.0"].path is not None and names["libGLX.so.0"].needed_by.endswith("libGL-1a2b3c.so.1")


def test_a_library_the_host_lacks_is_reported_without_a_path(tmp_path: Path) -> None:
    module = tmp_path / "env" / "mod.so"
    module.parent.mkdir()
    shutil.copyfile(LIBGL, module)
    found = system_libraries([str(module)], [str(tmp_path / "env")], Resolver(root=str(tmp_path)))
    assert found and all(lib.path is None for lib in found)


def test_the_disk_cache_answers_a_second_scan_without_reading_elf(tmp_path: Path) -> None:
    file = tmp_path / "elf.json"
    first = ElfCache(file)
    assert read_elf(str(LIBGL), first) is not None
    first.save()
    second = ElfCache(file)
    entry = second.entries[str(LIBGL)]
    entry[4] = ["libfrom-the-cache.so.1"]  # what the cache says is what is answered: no file was read
    assert read_elf(str(LIBGL), second).needed == ("libfrom-the-cache.so.1",)  # type: ignore[union-attr]
    entry[1] += 1  # a changed modification time is a miss: the file is read again
    assert "libGLdispatch.so.0" in read_elf(str(LIBGL), second).needed  # type: ignore[union-attr]


def test_libraries_mapped_by_a_live_process() -> None:
    maps = (
        "7f00-7f01 r-xp 00000000 08:01 123 /usr/lib/x86_64-linux-gnu/libGL.so.1\n"
        "7f01-7f02 r--p 00000000 08:01 123 /usr/lib/x86_64-linux-gnu/libGL.so.1\n"
        "7f02-7f03 rw-p 00000000 00:00 0 [heap]\n"
        "7f03-7f04 r--p 00000000 08:01 9 /usr/lib/locale/C.utf8/LC_CTYPE\n"
    )
    assert mapped_libraries(maps) == ["/usr/lib/x86_64-linux-gnu/libGL.so.1"]
