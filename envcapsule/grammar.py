"""The grammars that capsule values must match before any of them reaches an image or a build context.

A capsule is data from someone else (DESIGN §7): names, versions, hashes, image references,
environment variable names and relative paths are checked against these patterns, and a
value that does not match refuses the capsule with a sentence naming its field. Free text
(labels, environment values) may hold anything but control characters, and travels only
quoted (``envcapsule.image.dockerfile.quoted``).
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from envcapsule.errors import CapsuleError

SHA256 = re.compile(r"[0-9a-f]{64}")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
DISTRIBUTION = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")  # PEP 508 names
VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+!_-]*")  # PEP 440 versions, local labels included
PYTHON_VERSION = re.compile(r"[0-9]+\.[0-9]+(?:\.[0-9]+)?[A-Za-z0-9.+]*")  # 3.11.2, 3.13.0rc1, 3.12.1+
WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")  # machine, distro codename, conda platform, build keys
# Debian policy §5.6.1/§5.6.12 (rpm's names and version-releases fit them too); epochs and tildes included.
PACKAGE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9+._-]*")
PACKAGE_VERSION = re.compile(r"(?:[0-9]+:)?[A-Za-z0-9][A-Za-z0-9.+~_-]*")
SYSTEM_SITE_DIR = re.compile(r"/usr(?:/local)?/lib/python3(?:\.[0-9]+)?/(?:dist|site)-packages")
# A library built from source that no package owns, carried in the capsule to the same path in the image.
SYSTEM_LIBRARY = re.compile(r"/(?:usr/local|opt)(?:/(?!\.\.?/)[A-Za-z0-9_+-][A-Za-z0-9._+-]*)+\.so(?:\.[0-9]+)*")
PLATFORM = re.compile(r"[a-z0-9]+/[a-z0-9_]+(?:/[a-z0-9]+)?")  # linux/amd64, linux/arm64/v8
# The Docker reference grammar (distribution/reference): [host[:port]/]path[:tag][@digest], or an image id.
_HOST = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]+)?|\[[0-9A-Fa-f:]+\](?::[0-9]+)?)"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
IMAGE_REFERENCE = re.compile(
    rf"(?:{_HOST}/)?{_COMPONENT}(?:/{_COMPONENT})*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})?(?:@sha256:[0-9a-f]{{64}})?"
    r"|(?:sha256:)?[0-9a-f]{64}"
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]")
_SHOWN = 60


def refused(field: str, value: object, what: str) -> CapsuleError:
    shown = repr(value) if len(repr(value)) <= _SHOWN else repr(value)[:_SHOWN] + "..."
    return CapsuleError(
        f"The capsule's {field} ({shown}) is not {what}, so the capsule was refused; "
        "snapshot the notebook again rather than use a capsule edited by hand."
    )


def matching(field: str, value: object, pattern: re.Pattern[str], what: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise refused(field, value, what)
    return value


def sha256(field: str, value: object) -> str:
    return matching(field, value, SHA256, "a sha256 (64 lower-case hex digits)")


def env_name(field: str, value: object) -> str:
    return matching(field, value, ENV_NAME, "an environment variable name ([A-Za-z_][A-Za-z0-9_]*)")


def word(field: str, value: object) -> str:
    return matching(field, value, WORD, "a plain word of letters, digits and ._+-")


def image_reference(field: str, value: object) -> str:
    return matching(field, value, IMAGE_REFERENCE, "an image reference (NAME[:TAG][@sha256:DIGEST])")


def text(field: str, value: object) -> str:
    """Free text on one line: anything but control characters (a line break would end a Dockerfile instruction)."""
    if not isinstance(value, str) or _CONTROL.search(value):
        raise refused(field, value, "text on one line without control characters")
    return value


def relative_path(field: str, value: object) -> str:
    """A relative POSIX path inside a folder: no absolute path, no ``..``, no backslash, no control character."""
    text(field, value)
    assert isinstance(value, str)
    pure = PurePosixPath(value)
    if not value or pure.is_absolute() or ".." in pure.parts or "\\" in value or pure.as_posix() != value or value == ".":
        raise refused(field, value, "a relative path inside the capsule")
    return value


def file_name(field: str, value: object) -> str:
    relative_path(field, value)
    if "/" in str(value):
        raise refused(field, value, "a file name without a folder")
    return str(value)
