"""The capsule's SBOM as SPDX 2.3 JSON (``envcapsule sbom --format spdx-json``), written and validated with spdx-tools.

The same contents as sbom.cdx.json (``envcapsule.sbom.capsule_contents``): the capsule is the
described package; it CONTAINS each kernel package, the base image and one package for the
server environment, which CONTAINS its wheels. Each package has its purl as a package-manager
reference and the sha256 (and md5) of its exact file; a declared licence that is an SPDX
expression is its ``licenseDeclared``, any other is NOASSERTION with the text in a comment.
"""

from __future__ import annotations

import io
import json
import re
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from envcapsule._version import __version__
from envcapsule.errors import SbomError

if TYPE_CHECKING:
    from envcapsule.capsule import Capsule
    from envcapsule.sbom import Contents
    from envcapsule.sbom import Package as Entry

SPDX_VERSION = "SPDX-2.3"
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9.-]+")


def spdx_document(capsule: Capsule, contents: Contents) -> str:
    """The SPDX 2.3 JSON text, validated by spdx-tools; one sentence when the library is missing or the document does not validate."""
    try:
        from spdx_tools.spdx.model import (
            Actor,
            ActorType,
            CreationInfo,
            Document,
            Package,
            PackagePurpose,
            Relationship,
            RelationshipType,
            SpdxNoAssertion,
        )
        from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document
        from spdx_tools.spdx.writer.json.json_writer import write_document_to_stream
    except ImportError:
        raise SbomError(
            "An SPDX SBOM needs spdx-tools, which is not installed here",
            "install it (`pip install 'envcapsule[spdx]'`), or pass --format cyclonedx-json",
        ) from None
    from envcapsule.sbom import SERVER_GROUP, capsule_stem, created_time

    stem = capsule_stem(capsule)
    root = Package(
        spdx_id="SPDXRef-capsule",
        name=stem,
        download_location=SpdxNoAssertion(),
        version=capsule.capsule_hash[:12],
        files_analyzed=False,
        primary_package_purpose=PackagePurpose.APPLICATION,
        comment=f"The envcapsule capsule {capsule.capsule_hash}: its kernel environment, server environment and base image",
    )
    packages = [root]
    relationships = [Relationship("SPDXRef-DOCUMENT", RelationshipType.DESCRIBES, root.spdx_id)]

    def add(parent: str, entries: Sequence[Entry], environment: str, purpose: Any) -> None:
        for index, entry in enumerate(entries):
            package = _package(entry, f"SPDXRef-{environment}-{index}-{_ID_UNSAFE.sub('-', entry.name)}", purpose)
            packages.append(package)
            relationships.append(Relationship(parent, RelationshipType.CONTAINS, package.spdx_id))

    add(root.spdx_id, contents.kernel, "kernel", PackagePurpose.LIBRARY)
    if contents.base is not None:
        add(root.spdx_id, [contents.base], "base-image", PackagePurpose.CONTAINER)
    if contents.server is not None:
        group = Package(
            spdx_id=f"SPDXRef-{SERVER_GROUP}",
            name="envcapsule-server-environment",
            download_location=SpdxNoAssertion(),
            files_analyzed=False,
            primary_package_purpose=PackagePurpose.APPLICATION,
            comment="JupyterLab, Notebook, jupyterhub-singleuser and the verify tooling, installed apart from the kernel",
        )
        packages.append(group)
        relationships.append(Relationship(root.spdx_id, RelationshipType.CONTAINS, group.spdx_id))
        add(group.spdx_id, contents.server, SERVER_GROUP, PackagePurpose.LIBRARY)

    listed = [*contents.kernel, *([contents.base] if contents.base else []), *(contents.server or [])]
    identity = json.dumps([capsule.capsule_hash, *((e.purl, dict(e.hashes)) for e in listed)], sort_keys=True)
    namespace = uuid.uuid5(uuid.NAMESPACE_URL, "envcapsule:spdx:" + identity)
    document = Document(
        CreationInfo(
            spdx_version=SPDX_VERSION,
            spdx_id="SPDXRef-DOCUMENT",
            name=f"envcapsule capsule {stem}",
            document_namespace=f"https://spdx.org/spdxdocs/envcapsule-{_ID_UNSAFE.sub('-', stem)}-{namespace}",
            creators=[Actor(ActorType.TOOL, f"envcapsule-{__version__}")],
            created=created_time(capsule),
        ),
        packages=packages,
        relationships=relationships,
    )
    problems = validate_full_spdx_document(document, SPDX_VERSION)
    if problems:
        raise SbomError(
            f"The SBOM does not validate as {SPDX_VERSION}, so it was not written (spdx-tools: {problems[0].validation_message})",
            "report this with the capsule's pylock.toml and facts.json",
        )
    stream = io.StringIO()
    write_document_to_stream(document, stream, validate=False)
    return stream.getvalue() + "\n"


def _package(entry: Entry, spdx_id: str, purpose: Any) -> Any:
    from spdx_tools.spdx.model import (
        Checksum,
        ChecksumAlgorithm,
        ExternalPackageRef,
        ExternalPackageRefCategory,
        Package,
        SpdxNoAssertion,
    )

    algorithms = {"sha256": ChecksumAlgorithm.SHA256, "md5": ChecksumAlgorithm.MD5}
    declared, comment = _licence(entry.licence)
    return Package(
        spdx_id=spdx_id,
        name=entry.name,
        download_location=entry.url if entry.url and entry.url.startswith(("https://", "http://")) else SpdxNoAssertion(),
        version=entry.version or None,
        files_analyzed=False,
        checksums=[Checksum(algorithms[alg], value) for alg, value in entry.hashes.items()],
        license_declared=declared,
        license_comment=comment,
        external_references=[ExternalPackageRef(ExternalPackageRefCategory.PACKAGE_MANAGER, "purl", entry.purl)],
        primary_package_purpose=purpose,
    )


def _licence(text: str | None) -> tuple[Any, str | None]:
    """An SPDX expression as the declared licence; any other text as NOASSERTION, kept in the licence comment."""
    from license_expression import ExpressionError
    from spdx_tools.common.spdx_licensing import spdx_licensing
    from spdx_tools.spdx.model import SpdxNoAssertion

    if not text:
        return SpdxNoAssertion(), None
    try:
        checked = spdx_licensing.validate(text)
        if not checked.errors and not checked.invalid_symbols:
            return spdx_licensing.parse(text), None
    except (ExpressionError, AttributeError, ValueError):  # license-expression raises on some free text rather than reporting it
        pass
    return SpdxNoAssertion(), f"Declared in its metadata: {text}"
