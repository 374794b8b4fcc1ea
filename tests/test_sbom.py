"""The capsule's SBOM: what sbom.cdx.json lists for a capsule with pip, conda and system packages, a base and a server lock."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from envcapsule.capsule import capsule_hash
from envcapsule.errors import SbomError
from envcapsule.sbom import SBOM_FILE, environment_of, make_sbom, sbom_components
from tests.cli.shell import envcapsule, ok

NUMPY_SHA = "a" * 64
SERVER_SHA = "c" * 64
BASE_DIGEST = "sha256:" + "d" * 64

PYLOCK = f"""\
lock-version = "1.0"
requires-python = "==3.11.*"
created-by = "envcapsule"

[[packages]]
name = "numpy"
version = "2.1.0"
index = "https://pypi.org/simple"

[[packages.wheels]]
url = "https://files.example/numpy-2.1.0-cp311-cp311-manylinux_2_17_x86_64.whl"
size = 10

[packages.wheels.hashes]
sha256 = "{NUMPY_SHA}"

[[packages]]
name = "tiny-helpers"
version = "0.3"
index = "https://mirror.example/simple"

[[packages.wheels]]
url = "https://mirror.example/tiny_helpers-0.3-py3-none-any.whl"
size = 10

[packages.wheels.hashes]
sha256 = "{"b" * 64}"
"""


def _wheel(path: Path, name: str, metadata: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{name}.dist-info/METADATA", metadata)


def _capsule(folder: Path, cache: Path, *, conda_md5: str = "e" * 32) -> Path:
    """A capsule as a conda kernel with system libraries leaves it, built once on a pulled base."""
    capsule = folder / "study.capsule"
    capsule.mkdir(parents=True)
    (capsule / "pylock.toml").write_text(PYLOCK)
    installed = folder / "site-packages" / "tiny_helpers-0.3.dist-info"
    installed.mkdir(parents=True)
    (installed / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: tiny_helpers\nVersion: 0.3\nClassifier: License :: OSI Approved :: MIT License\n"
    )
    # numpy's licence is read from the wheel in the host cache, since its dist-info is not on this host.
    _wheel(
        cache / "wheels" / NUMPY_SHA[:2] / NUMPY_SHA / "numpy-2.1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
        "numpy-2.1.0",
        "Metadata-Version: 2.4\nName: numpy\nVersion: 2.1.0\nLicense-Expression: BSD-3-Clause AND 0BSD\n",
    )
    facts = {
        "distributions": [
            {"name": "numpy", "version": "2.1.0", "metadata_dir": "/elsewhere/numpy-2.1.0.dist-info"},
            {"name": "tiny-helpers", "version": "0.3", "metadata_dir": str(installed)},
        ],
        "conda_records": [
            {
                "name": "libzlib",
                "version": "1.3.1",
                "build": "hb9d3cd8_2",
                "channel": "https://conda.anaconda.org/conda-forge",
                "subdir": "linux-64",
                "url": "https://conda.anaconda.org/conda-forge/linux-64/libzlib-1.3.1-hb9d3cd8_2.conda",
                "fn": "libzlib-1.3.1-hb9d3cd8_2.conda",
                "md5": conda_md5,
                "sha256": "f" * 64,
            }
        ],
    }
    (capsule / "facts.json").write_text(json.dumps(facts))
    (capsule / "study.ipynb").write_text("{}")
    manifest: dict[str, Any] = {
        "schema": 1,
        "created": "2026-01-02T03:04:05Z",
        "notebooks": [{"path": "study.ipynb", "sha256": hashlib.sha256(b"{}").hexdigest()}],
        "interpreter": {"implementation": "cpython", "version": "3.11.2", "abi_tag": "cp311"},
        "platform": {"os": "linux", "machine": "x86_64", "distro_id": "debian", "distro_version": "12", "libc": "glibc"},
        "lockfiles": [{"path": "pylock.toml", "format": "pylock", "sha256": hashlib.sha256(PYLOCK.encode()).hexdigest()}],
        "system": {"packages": [{"name": "libgomp1", "version": "12.2.0-14", "architecture": "amd64"}]},
    }
    manifest["capsule_hash"] = capsule_hash(manifest)
    (capsule / "capsule.toml").write_text(tomli_w.dumps(manifest))
    server_file = "jupyterlab-4.4.0-py3-none-any.whl"
    (cache / "server-env").mkdir(parents=True)
    (cache / "server-env" / "cp311-x86_64-000000000000.txt").write_text(f"{server_file} {SERVER_SHA} 10\n")
    _wheel(
        cache / "wheels" / SERVER_SHA[:2] / SERVER_SHA / server_file,
        "jupyterlab-4.4.0",
        "Name: jupyterlab\nLicense-Expression: BSD-3-Clause\n",
    )
    server_lock = hashlib.sha256(f"jupyterlab==4.4.0 --hash=sha256:{SERVER_SHA}\n".encode()).hexdigest()
    build = {"base_image": "docker.io/library/python:3.11-slim", "base_image_digest": f"docker.io/library/python@{BASE_DIGEST}"}
    (capsule / "build.json").write_text(json.dumps({**build, "server_lock_sha256": server_lock}))
    return capsule


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("ENVCAPSULE_CACHE_DIR", str(folder))
    return folder


def _by_name(document: str) -> dict[str, dict[str, Any]]:
    return {component["name"]: component for component in sbom_components(document)}


def test_the_sbom_lists_every_package_with_its_purl_hash_and_licence(tmp_path: Path, cache: Path) -> None:
    capsule = _capsule(tmp_path, cache)
    result = make_sbom(capsule)

    written = (capsule / SBOM_FILE).read_text()
    assert written == result.document
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(written) is None
    assert json.loads(written)["specVersion"] == "1.6"
    components = _by_name(written)

    numpy = components["numpy"]
    assert numpy["purl"] == "pkg:pypi/numpy@2.1.0?file_name=numpy-2.1.0-cp311-cp311-manylinux_2_17_x86_64.whl"
    assert numpy["hashes"] == [{"alg": "SHA-256", "content": NUMPY_SHA}]
    assert numpy["licenses"] == [{"expression": "BSD-3-Clause AND 0BSD"}]
    helpers = components["tiny-helpers"]
    assert helpers["purl"].startswith("pkg:pypi/tiny-helpers@0.3?")
    assert "repository_url=https://mirror.example/simple" in helpers["purl"]
    assert helpers["licenses"] == [{"license": {"name": "MIT License"}}]

    zlib = components["libzlib"]
    assert zlib["purl"] == "pkg:conda/libzlib@1.3.1?build=hb9d3cd8_2&channel=conda-forge&subdir=linux-64&type=conda"
    assert {h["alg"] for h in zlib["hashes"]} == {"MD5", "SHA-256"}
    assert components["libgomp1"]["purl"] == "pkg:deb/debian/libgomp1@12.2.0-14?arch=amd64&distro=debian-12"

    base = components["python"]
    assert base["type"] == "container"
    assert base["purl"] == f"pkg:oci/python@{BASE_DIGEST}?repository_url=docker.io/library/python&tag=3.11-slim"

    server = components["envcapsule-server-environment"]
    assert [c["name"] for c in server["components"]] == ["jupyterlab"]
    assert environment_of(components["jupyterlab"]) == "server-environment"
    assert environment_of(numpy) == "kernel"
    assert result.counts == {"pypi": 2, "conda": 1, "deb": 1, "oci": 1, "server": 1}


def test_the_same_capsule_gives_the_same_sbom_byte_for_byte(tmp_path: Path, cache: Path) -> None:
    capsule = _capsule(tmp_path, cache)
    first = make_sbom(capsule).document
    assert make_sbom(capsule).document == first
    assert json.loads(first)["metadata"]["timestamp"] == "2026-01-02T03:04:05+00:00"


def test_an_sbom_that_does_not_validate_is_never_written(tmp_path: Path, cache: Path) -> None:
    capsule = _capsule(tmp_path, cache, conda_md5="not-an-md5")
    with pytest.raises(
        SbomError, match=r"does not validate as CycloneDX 1\.6, so it was not written \(cyclonedx-python-lib: "
    ) as caught:
        make_sbom(capsule)
    assert "not-an-md5" in str(caught.value)
    assert not (capsule / SBOM_FILE).exists()


def test_envcapsule_sbom_prints_the_document_or_writes_it_with_o(tmp_path: Path, cache: Path) -> None:
    capsule = _capsule(tmp_path, cache)
    printed = ok(envcapsule("sbom", capsule, cache=cache))
    assert {"numpy", "libzlib", "jupyterlab"} <= set(_by_name(printed.stdout))

    out = tmp_path / "study.cdx.json"
    written = ok(envcapsule("sbom", capsule, "-o", out, cache=cache))
    assert written.stdout.startswith(
        f"SBOM written to {out}: 2 Python, 1 conda and 1 system package(s), 1 in the server environment"
    )
    assert out.read_text() == printed.stdout == (capsule / SBOM_FILE).read_text()

    summary = ok(envcapsule("sbom", capsule, "-o", out, "--json", cache=cache)).json()
    assert summary["components"]["conda"] == 1 and summary["output"] == str(out)

    wrong = envcapsule("sbom", capsule, "--format", "spdx-xml", cache=cache)
    assert wrong.code == 2 and "invalid choice: 'spdx-xml'" in wrong.stderr


def test_envcapsule_sbom_format_spdx_json_writes_the_same_contents_as_valid_spdx_2_3(tmp_path: Path, cache: Path) -> None:
    from spdx_tools.spdx.parser.parse_anything import parse_file
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    capsule = _capsule(tmp_path, cache)
    out = tmp_path / "study.spdx.json"
    ok(envcapsule("sbom", capsule, "--format", "spdx-json", "-o", out, cache=cache))

    document = parse_file(str(out))
    assert validate_full_spdx_document(document, "SPDX-2.3") == []
    assert json.loads((capsule / SBOM_FILE).read_text())["bomFormat"] == "CycloneDX"  # the capsule keeps its CycloneDX SBOM
    data = json.loads(out.read_text())
    assert data["spdxVersion"] == "SPDX-2.3"
    assert {
        "spdxElementId": "SPDXRef-DOCUMENT",
        "relationshipType": "DESCRIBES",
        "relatedSpdxElement": "SPDXRef-capsule",
    } in data["relationships"]
    packages = {p["name"]: p for p in data["packages"]}
    numpy = packages["numpy"]
    assert numpy["externalRefs"] == [
        {
            "referenceCategory": "PACKAGE_MANAGER",
            "referenceType": "purl",
            "referenceLocator": "pkg:pypi/numpy@2.1.0?file_name=numpy-2.1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
        }
    ]
    assert numpy["checksums"] == [{"algorithm": "SHA256", "checksumValue": NUMPY_SHA}]
    assert numpy["licenseDeclared"] == "BSD-3-Clause AND 0BSD"
    assert packages["tiny-helpers"]["licenseDeclared"] == "NOASSERTION"
    assert packages["tiny-helpers"]["licenseComments"] == "Declared in its metadata: MIT License"
    assert {c["algorithm"] for c in packages["libzlib"]["checksums"]} == {"SHA256", "MD5"}
    assert packages["python"]["primaryPackagePurpose"] == "CONTAINER"
    contains = {
        (r["spdxElementId"], r["relatedSpdxElement"]) for r in data["relationships"] if r["relationshipType"] == "CONTAINS"
    }
    jupyterlab = next(p["SPDXID"] for p in data["packages"] if p["name"] == "jupyterlab")
    assert ("SPDXRef-server-environment", jupyterlab) in contains
    assert ("SPDXRef-capsule", "SPDXRef-server-environment") in contains

    printed = ok(envcapsule("sbom", capsule, "--format", "spdx-json", cache=cache))
    assert printed.stdout == out.read_text()


@pytest.mark.parametrize(
    ("declared", "expression"),
    [
        ("BSD-3-Clause AND 0BSD", "BSD-3-Clause AND 0BSD"),
        ("MIT License", None),
        ("Apache License, Version 2.0", None),
        (None, None),
    ],
)
def test_an_spdx_licence_is_declared_and_any_other_text_is_noassertion_with_a_comment(
    declared: str | None, expression: str | None
) -> None:
    from spdx_tools.spdx.model import SpdxNoAssertion

    from envcapsule.sbom_spdx import _licence

    found, comment = _licence(declared)
    if expression is None:
        assert found == SpdxNoAssertion()
        assert comment == (f"Declared in its metadata: {declared}" if declared else None)
    else:
        assert str(found) == expression and comment is None
