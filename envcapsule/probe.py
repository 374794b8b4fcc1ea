"""Describe the Python environment this interpreter runs in, as one JSON object.

Contract:

* ``python -I probe.py`` prints one JSON object (ASCII-only, hence valid UTF-8,
  ``sort_keys=True``) on stdout and exits 0.  The object is EnvironmentFacts'
  raw form: ``probe_version``, ``interpreter``, ``platform``, ``distributions``,
  ``cuda`` (null when nothing CUDA-related is seen), ``conda`` (null outside a
  conda environment, else its prefix and conda-meta records), ``pip_config``,
  ``environment``, ``sys_path`` and ``problems``.
* It runs under any Python >= 3.8, imports only the standard library (and
  nvidia-ml-py's ``pynvml`` when that is installed), never imports or
  initialises torch/CUDA, never runs pip, and spawns a subprocess only on musl
  systems (to ask the musl loader for its version) and to run ``nvidia-smi``
  when it is on PATH.
* Nothing it prints holds a credential: every URL goes through ``redact_url``
  (no userinfo, no query, token-like path segments such as anaconda.org's
  ``/t/<token>/`` made ``${VAR}`` references), and the environment is captured
  through an allow-list of names that drops any name or value that looks secret.
* A broken metadata file never crashes it; it is skipped and described in
  ``problems``.

envcapsule (Python >= 3.10) also imports this module and calls ``collect()``
in-process; ``read_pip_config(redact=False)`` gives it the credentials for
index look-ups without ever printing them.

Sections, in this order (each begins with a ``# --- name`` line): small readers · the one URL
redaction · interpreter · platform · distributions · conda · pip configuration · environment
variables · CUDA · the whole picture (``collect`` and ``main``).  It stays one file because it is
copied to and run by interpreters that cannot import envcapsule.

The ``abi_tag`` rule: CPython gives ``cp`` + major + minor, then ``d`` for a
debug build and ``t`` for a free-threaded build (``cp311``, ``cp313t``); other
implementations give ``sys.implementation.cache_tag`` without dashes
(``pypy310``), or name + major + minor when there is no cache tag.
"""

from __future__ import annotations

import configparser
import csv
import json
import os
import platform
import re
import struct
import sys
import sysconfig
import urllib.parse

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time and is only needed by type checkers
    from collections.abc import Iterable, Mapping
    from typing import Any

PROBE_VERSION = 1
DEFAULT_INDEX_URL = "https://pypi.org/simple"

CAPTURED_VARIABLES = frozenset(
    (
        "LANG",
        "LANGUAGE",
        "TZ",
        "PYTHONHASHSEED",
        "PYTHONUTF8",
        "PYTHONIOENCODING",
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "NUMEXPR_NUM_THREADS",
        "VECLIB_MAXIMUM_THREADS",
        "CUDA_VISIBLE_DEVICES",
        "NVIDIA_VISIBLE_DEVICES",
        "CUBLAS_WORKSPACE_CONFIG",
        "TF_DETERMINISTIC_OPS",
        "MPLBACKEND",
        # POSIX locale categories by name: an ``LC_`` prefix would also let in LC_PRIVATE-style variables
        "LC_ALL",
        "LC_CTYPE",
        "LC_NUMERIC",
        "LC_TIME",
        "LC_COLLATE",
        "LC_MONETARY",
        "LC_MESSAGES",
        "LC_PAPER",
        "LC_NAME",
        "LC_ADDRESS",
        "LC_TELEPHONE",
        "LC_MEASUREMENT",
        "LC_IDENTIFICATION",
    )
)
SECRET_NAME_PARTS = ("TOKEN", "SECRET", "PASS", "KEY", "CREDENTIAL", "AUTH", "PRIVATE", "SESSION", "COOKIE", "SIGNATURE")

# PEP 610: a userinfo made only of environment variables is not a secret.
ENV_VAR_USERINFO = re.compile(r"^\$\{[A-Za-z0-9-_]+\}(:\$\{[A-Za-z0-9-_]+\})?$")
PIP_TRUE = ("y", "yes", "t", "true", "on", "1")
PIP_FALSE = ("n", "no", "f", "false", "off", "0")


# --- small readers ----------------------------------------------------------


def read_text(path: str) -> str | None:
    """The file's text, or None when it cannot be read."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return None


def under_root(root: str, path: str) -> str:
    """``path`` (absolute) seen from the fixture root ``root``."""
    return os.path.join(root, path.lstrip("/")) if root not in ("", "/") else path


def normalize_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# --- the one URL redaction ----------------------------------------------------
# Every URL envcapsule writes anywhere passes through redact_url (envcapsule.lock.redact
# re-exports it); it lives here because the probe must stay a single stdlib-only file.

DEFAULT_TOKEN_VARIABLE = "INDEX_TOKEN"
TOKEN_MARKERS = frozenset(
    ("t", "token", "tokens", "apikey", "api-key", "api_key", "access-token", "access_token", "private-token")
)
VARIABLE_SEGMENT = re.compile(r"^\$\{?[A-Za-z_][A-Za-z0-9_]*\}?$")
VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TOKEN_CHARACTERS = re.compile(r"^[A-Za-z0-9_~+=-]+$")
CONTENT_ADDRESS = re.compile(r"^[0-9a-f]+$")  # lowercase hex: PyPI's /packages/ab/cd/<hash>/ folders, UUIDs
KNOWN_TOKEN_PREFIXES = ("ghp_", "gho_", "ghs_", "github_pat_", "glpat-", "pypi-", "hf_", "xoxb-", "xoxp-", "npm_", "AKIA", "sk-")
URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>()\[\]]+")


def _character_class(char: str) -> int:
    return 0 if char.isdigit() else 1 if char.islower() else 2 if char.isupper() else 3


def looks_like_token(text: str) -> bool:
    """Whether ``text`` looks machine-made and secret: long, URL-safe, and switching letter case and digits often.

    Lowercase hex words (content addresses, UUIDs) and ordinary names (``manylinux2014``,
    ``python-build-standalone``) are not tokens.
    """
    if text.startswith(KNOWN_TOKEN_PREFIXES) and len(text) >= 12:
        return True
    if len(text) < 16 or not TOKEN_CHARACTERS.match(text):
        return False
    switches = 0
    for piece in re.split(r"[-_~+=]+", text):
        if CONTENT_ADDRESS.match(piece):
            continue
        switches += sum(1 for a, b in zip(piece, piece[1:]) if _character_class(a) != _character_class(b))
    return switches >= len(text) // 4


def _is_variable(segment: str) -> bool:
    return bool(VARIABLE_SEGMENT.match(urllib.parse.unquote(segment)))


def _token_variable(value: str, environ: Mapping[str, str], hidden: dict[str, str], default: str) -> str:
    """The ``${VAR}`` name for a hidden value: the one already chosen, the variable holding it, else ``default`` (numbered)."""
    for name, known in hidden.items():
        if known == value:
            return name
    holders = sorted(name for name, held in environ.items() if held == value and VARIABLE_NAME.match(name))
    if holders:
        return holders[0]
    name, number = default, 1
    while name in hidden:
        number += 1
        name = f"{default}_{number}"
    return name


def _redact_path(path: str, environ: Mapping[str, str], hidden: dict[str, str], default: str) -> str:
    segments = path.split("/")
    for i, segment in enumerate(segments):
        if not segment or _is_variable(segment):
            continue
        previous = segments[i - 1].lower() if i else ""
        after_marker = (
            previous in TOKEN_MARKERS
            and i < len(segments) - 1  # the last segment is a file name, like PyPI's /packages/source/t/<name>/
            and not (previous == "t" and i >= 2 and segments[i - 2] == "source")
        )
        value = urllib.parse.unquote(segment)
        if after_marker or looks_like_token(value):
            name = _token_variable(value, environ, hidden, default)
            hidden[name] = value
            segments[i] = "${" + name + "}"
    return "/".join(segments)


def redact_url(
    url: str,
    keep_user: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    hidden: dict[str, str] | None = None,
    default_variable: str = DEFAULT_TOKEN_VARIABLE,
) -> str:
    """``url`` made safe to write anywhere: no userinfo (unless ``keep_user`` or ``${VAR}`` style), no query,
    and every token-like path segment (``/t/<token>/`` as anaconda.org uses, a long random one) made ``${VAR}``.

    ``VAR`` is the environment variable that holds the value when one does, else ``default_variable``;
    ``hidden`` (kept in memory only) receives ``{VAR: value}`` for each segment replaced, so a caller
    can still reach the real URL. The result is a fixed point: redacting it again changes nothing.
    """
    environ = {} if environ is None else environ
    hidden = {} if hidden is None else hidden
    if "://" not in url:  # a plain path
        return url
    scheme, rest = url.split("://", 1)
    if scheme.lower() == "file":  # a local path carries no token, and its segments must stay as they are
        return url
    authority_end = len(rest)
    for stop in "/?#":
        found = rest.find(stop)
        if found != -1:
            authority_end = min(authority_end, found)
    netloc, tail = rest[:authority_end], rest[authority_end:]
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        if userinfo != keep_user and not ENV_VAR_USERINFO.match(userinfo):
            netloc = host
    path, hash_mark, fragment = tail.partition("#")
    path = path.partition("?")[0]
    path = _redact_path(path, environ, hidden, default_variable)
    return f"{scheme}://{netloc}{path}{hash_mark}{fragment}"


def redact_text(text: str) -> str:
    """``text`` with every URL in it redacted: for sentences (warnings, errors, progress) that quote URLs."""
    return URL_IN_TEXT.sub(lambda match: redact_url(match.group(0)), text)


def looks_secret_value(value: str) -> bool:
    """Whether an environment variable's value looks like a credential, or holds a URL that carries one."""
    if any(redact_url(url) != url for url in URL_IN_TEXT.findall(value)):
        return True
    return any(looks_like_token(word) for word in re.split(r"[\s:;,]+", value) if word)


# --- interpreter ------------------------------------------------------------


def abi_tag() -> str:
    impl = sys.implementation
    if impl.name == "cpython":
        flags = "d" if hasattr(sys, "gettotalrefcount") else ""
        flags += "t" if sysconfig.get_config_var("Py_GIL_DISABLED") else ""
        return f"cp{sys.version_info[0]}{sys.version_info[1]}{flags}"
    if impl.cache_tag:
        return impl.cache_tag.replace("-", "")
    return f"{impl.name}{sys.version_info[0]}{sys.version_info[1]}"


def detect_environment_kind(prefix: str, base_prefix: str) -> tuple[str, str | None]:
    """The kind of environment at ``prefix`` and the conda prefix behind it, if any."""

    def has_conda_meta(path: str) -> bool:
        return os.path.isfile(os.path.join(path, "conda-meta", "history"))

    if has_conda_meta(prefix):
        return "conda", prefix
    pyvenv_cfg = os.path.join(prefix, "pyvenv.cfg")
    if os.path.isfile(pyvenv_cfg) and os.path.realpath(prefix) != os.path.realpath(base_prefix):
        if has_conda_meta(base_prefix):
            return "conda-venv", base_prefix
        cfg_keys = [line.partition("=")[0].strip() for line in (read_text(pyvenv_cfg) or "").splitlines()]
        return ("virtualenv" if "virtualenv" in cfg_keys else "venv"), None
    if "/.pyenv/versions/" in base_prefix.replace("\\", "/"):
        return "pyenv", None
    if base_prefix in ("/usr", "/usr/local"):
        return "system", None
    return "unknown", None


def describe_interpreter() -> dict[str, Any]:
    kind, conda_prefix = detect_environment_kind(sys.prefix, sys.base_prefix)
    return {
        "implementation": sys.implementation.name,
        "version": platform.python_version(),
        "version_info": list(sys.version_info),
        "abi_tag": abi_tag(),
        "soabi": sysconfig.get_config_var("SOABI"),
        "executable": sys.executable,
        "prefix": sys.prefix,
        "base_prefix": sys.base_prefix,
        "environment_kind": kind,
        "conda_prefix": conda_prefix,
    }


# --- platform ---------------------------------------------------------------


def os_name() -> str:
    if sys.platform.startswith("linux"):
        return "linux"
    if sys.platform in ("win32", "cygwin"):
        return "windows"
    return sys.platform


def parse_os_release(text: str) -> dict[str, str]:
    """KEY=value pairs of an os-release file, quotes and escapes undone."""
    fields = {}
    for line in text.splitlines():
        name, sep, value = line.strip().partition("=")
        if not sep or name.startswith("#"):
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        elif len(value) >= 2 and value[0] == value[-1] == "'":
            value = value[1:-1]
        fields[name] = value
    return fields


def read_os_release(root: str = "/") -> dict[str, str | None]:
    fields: dict[str, str] = {}
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        text = read_text(under_root(root, path))
        if text is not None:
            fields = parse_os_release(text)
            break
    if not fields and sys.platform == "darwin" and root in ("", "/"):
        fields = {"ID": "macos", "VERSION_ID": platform.mac_ver()[0]}
    return {
        "distro_id": fields.get("ID"),
        "distro_version": fields.get("VERSION_ID"),
        "distro_codename": fields.get("VERSION_CODENAME"),
        "distro_name": fields.get("PRETTY_NAME") or fields.get("NAME"),
    }


def elf_interpreter(path: str) -> str | None:
    """The PT_INTERP program (dynamic loader) named by the ELF file at ``path``."""
    try:
        with open(path, "rb") as elf:
            ident = elf.read(16)
            if ident[:4] != b"\x7fELF" or ident[4] not in (1, 2) or ident[5] not in (1, 2):
                return None
            wide, order = ident[4] == 2, "<" if ident[5] == 1 else ">"
            header = order + ("QQQIHHHHHH" if wide else "IIIIHHHHHH")
            elf.seek(24)
            fields = struct.unpack(header, elf.read(struct.calcsize(header)))
            phoff, phentsize, phnum = fields[1], fields[5], fields[6]
            entry = order + ("IIQQQQQQ" if wide else "IIIIIIII")
            for index in range(phnum):
                elf.seek(phoff + index * phentsize)
                segment = struct.unpack(entry, elf.read(struct.calcsize(entry)))
                if segment[0] == 3:  # PT_INTERP
                    offset, size = (segment[2], segment[5]) if wide else (segment[1], segment[4])
                    elf.seek(offset)
                    return elf.read(size).rstrip(b"\0").decode("utf-8", "replace")
    except (OSError, struct.error):
        return None
    return None


def musl_version(loader_output: str) -> str | None:
    """The version from what the musl loader prints when run without arguments."""
    match = re.search(r"^Version (\d+\.\d+[^\s]*)", loader_output, re.MULTILINE)
    return match.group(1) if match else None


def libc_version(executable: str | None = None) -> tuple[str | None, str | None]:
    """("glibc" | "musl" | None, version or None) for the running interpreter."""
    try:
        glibc = os.confstr("CS_GNU_LIBC_VERSION")
    except (AttributeError, ValueError, OSError):
        glibc = None
    if glibc and glibc.startswith("glibc "):
        return "glibc", glibc.split()[1]
    loader = elf_interpreter(executable or sys.executable)
    if not loader or "musl" not in os.path.basename(loader):
        return None, None
    import subprocess  # only musl needs it: its version is known only to its loader

    try:
        run = subprocess.run([loader], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=2)
    except (OSError, subprocess.SubprocessError):
        return "musl", None
    return "musl", musl_version(run.stdout.decode("utf-8", "replace"))


def describe_platform(root: str = "/") -> dict[str, Any]:
    if hasattr(os, "uname"):  # platform.uname() may spawn `uname -p` on 3.8
        uname = os.uname()
        system, release, machine = uname.sysname, uname.release, uname.machine
    else:
        system, release, machine = platform.system(), platform.release(), platform.machine()
    libc, libc_ver = libc_version() if os_name() == "linux" else (None, None)
    facts: dict[str, Any] = {
        "os": os_name(),
        "system": system,
        "release": release,
        "machine": machine,
        "libc": libc,
        "libc_version": libc_ver,
    }
    facts.update(read_os_release(root))
    return facts


# --- distributions ----------------------------------------------------------


def parse_headers(text: str) -> dict[str, list[str]]:
    """The header block of a METADATA / PKG-INFO / WHEEL file: lower-cased name -> values.

    The core-metadata format is RFC 822 headers; this reads them as email.parser's
    compat32 policy does (folded lines joined, the block ends at the first line that
    is blank or not a header) at a fraction of its import and parse time.
    """
    headers: dict[str, list[str]] = {}
    values: list[str] = []
    for line in text.splitlines():
        if line[:1] in (" ", "\t") and values:
            values[-1] += " " + line.strip()
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.rstrip() or " " in name:
            break
        values = headers.setdefault(name.lower(), [])
        values.append(value.strip())
    return headers


def wheel_tags(text: str | None) -> list[str]:
    """The ``Tag:`` values of a WHEEL file, in file order."""
    if not text:
        return []
    return [value for value in parse_headers(text).get("tag", []) if value]


def egg_requirements(text: str) -> list[str]:
    """requires.txt of an egg-info as Requires-Dist strings (importlib.metadata's rule)."""
    requirements, section = [], ""
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        extra, _, markers = section.partition(":")
        conditions = [f"({markers})" if extra and markers else markers]
        conditions.append(f'extra == "{extra}"' if extra else "")
        marker = " and ".join(c for c in conditions if c)
        space = " " if "@" in line else ""
        requirements.append(line + (space + "; " + marker if marker else ""))
    return requirements


def record_top_level(text: str) -> list[str]:
    """Top-level import names of the files listed in a RECORD."""
    names = set()
    for line in text.replace("\0", "").splitlines():
        if line.startswith('"'):  # only a path holding a comma or quote is CSV-quoted
            try:
                path = next(csv.reader([line]))[0]
            except (csv.Error, StopIteration, IndexError):
                continue
        else:
            path = line.split(",", 1)[0]
        if not path or path.startswith(("/", "..")):
            continue
        first, slash, _ = path.replace("\\", "/").partition("/")
        if not slash and not first.endswith((".py", ".so", ".pyd")):
            continue
        name = first if slash else first.split(".", 1)[0]
        if name.isidentifier() and name != "__pycache__":
            names.add(name)
    return sorted(names)


def top_level_names(metadata_dir: str, files: set[str]) -> list[str]:
    """From top_level.txt when present, else derived from RECORD."""
    if "top_level.txt" in files:
        text = read_text(os.path.join(metadata_dir, "top_level.txt")) or ""
        return sorted({line.strip() for line in text.splitlines() if line.strip()})
    if "RECORD" in files:
        return record_top_level(read_text(os.path.join(metadata_dir, "RECORD")) or "")
    return []


def read_direct_url(path: str, problems: list[str]) -> dict[str, Any] | None:
    text = read_text(path)
    if text is None:
        return None
    try:
        direct_url = json.loads(text)
    except ValueError:
        problems.append(f"{path} is not valid JSON; the install source is unknown.")
        return None
    if not isinstance(direct_url, dict) or not isinstance(direct_url.get("url"), str):
        problems.append(f"{path} has no url; the install source is unknown.")
        return None
    vcs_info = direct_url.get("vcs_info")
    is_git = isinstance(vcs_info, dict) and vcs_info.get("vcs") == "git"
    direct_url["url"] = redact_url(direct_url["url"], keep_user="git" if is_git else None)
    return direct_url


def read_distribution(location: str, entry: str, problems: list[str]) -> dict[str, Any] | None:
    """The facts of one ``*.dist-info`` / ``*.egg-info`` in ``location``, or None if unusable."""
    metadata_dir = os.path.join(location, entry)
    is_dist_info = entry.endswith(".dist-info")
    if os.path.isdir(metadata_dir):
        try:
            files = set(os.listdir(metadata_dir))
        except OSError:
            files = set()
        metadata_file = os.path.join(metadata_dir, "METADATA" if is_dist_info else "PKG-INFO")
    else:  # a distutils egg-info is a single PKG-INFO file
        files, metadata_file = set(), metadata_dir
    headers = parse_headers(read_text(metadata_file) or "")
    name = (headers.get("name") or [""])[0]
    version = (headers.get("version") or [""])[0]
    if not name or not version:
        problems.append(f"{metadata_dir} has no readable name and version; it was skipped.")
        return None

    def sibling(filename: str) -> str | None:
        return read_text(os.path.join(metadata_dir, filename)) if filename in files else None

    requires_dist = headers.get("requires-dist", [])
    if not requires_dist and not is_dist_info and "requires.txt" in files:
        requires_dist = egg_requirements(sibling("requires.txt") or "")
    requires_python = headers.get("requires-python")
    direct_url = None
    if "direct_url.json" in files:
        direct_url = read_direct_url(os.path.join(metadata_dir, "direct_url.json"), problems)
    return {
        "name": normalize_name(name),
        "display_name": name,
        "version": version,
        "installer": (sibling("INSTALLER") or "").strip() or None,
        "requested": "REQUESTED" in files,
        "wheel_tags": wheel_tags(sibling("WHEEL")),
        "direct_url": direct_url,
        "location": location,
        "metadata_dir": metadata_dir,
        "top_level": top_level_names(metadata_dir, files),
        "requires_dist": requires_dist,
        "requires_python": requires_python[0] if requires_python else None,
        "format": "dist-info" if is_dist_info else "egg-info",
    }


def scan_distributions(paths: Iterable[str], problems: list[str]) -> list[dict[str, Any]]:
    """Every distribution on ``paths``; the first of each name wins, as for imports."""
    found: dict[str, dict[str, Any]] = {}
    for location in paths:
        try:
            entries = [e for e in os.listdir(location) if e.endswith((".dist-info", ".egg-info"))]
        except OSError:
            continue
        here: set[str] = set()
        for entry in sorted(entries, key=lambda e: (e.endswith(".egg-info"), e)):  # dist-info first
            dist = read_distribution(location, entry, problems)
            if dist is None:
                continue
            first = found.get(dist["name"])
            if dist["name"] in here and first and first["version"] != dist["version"]:
                used = first["metadata_dir"]
                problems.append(f"{location} holds more than one version of {dist['name']}; {used} was used.")
            elif not first:
                found[dist["name"]] = dist
                here.add(dist["name"])
    return [found[name] for name in sorted(found)]


def default_scan_paths() -> list[str]:
    """The directories on sys.path, minus zip files and the probe's own folder."""
    own_dir = os.path.dirname(os.path.abspath(__file__))
    paths = []
    for entry in sys.path:
        path = os.path.abspath(entry or os.curdir)
        if path != own_dir and path not in paths and os.path.isdir(path):
            paths.append(path)
    return paths


# --- conda ------------------------------------------------------------------
# A conda environment's packages are the JSON records in <prefix>/conda-meta/; a
# site-packages distribution is conda's when its metadata files appear in a record's
# ``files`` (conda's own rule), and pip's otherwise.

CONDA_RECORD_FIELDS = (
    "name", "version", "build", "build_number", "channel", "subdir", "url", "fn",
    "md5", "sha256", "size", "depends", "constrains", "noarch", "timestamp",
)  # fmt: skip
CONDA_TOKEN_VARIABLE = "CONDA_TOKEN"


def scrub_conda_url(url: str, environ: Mapping[str, str]) -> str:
    """``url`` redacted, a token segment named after the variable holding it, else CONDA_TOKEN (as conda-lock does);
    conda-lock, micromamba and envcapsule's build expand it again."""
    return redact_url(url, environ=environ, default_variable=CONDA_TOKEN_VARIABLE)


def read_conda_record(path: str, environ: Mapping[str, str], problems: list[str]) -> tuple[dict[str, Any], list[str]] | None:
    """One conda-meta record's fields and the files it installed, or None (with a problem) if unusable."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not valid JSON"
        problems.append(
            f"The conda record {path} cannot be read ({reason}), so its package was left out; "
            "reinstall that package with conda and snapshot again."
        )
        return None
    if not isinstance(data, dict) or not all(
        isinstance(data.get(key), str) and data[key] for key in ("name", "version", "build")
    ):
        problems.append(
            f"The conda record {path} has no name, version and build, so its package was left out; "
            "reinstall that package with conda and snapshot again."
        )
        return None
    record: dict[str, Any] = {key: data.get(key) for key in CONDA_RECORD_FIELDS}
    for key in ("url", "channel"):
        if isinstance(record[key], str):
            record[key] = scrub_conda_url(record[key], environ)
    for key in ("depends", "constrains"):
        record[key] = [str(spec) for spec in record[key]] if isinstance(record[key], list) else []
    files = data.get("files")
    return record, [str(f) for f in files] if isinstance(files, list) else []


def conda_metadata_dirs(files: Iterable[str]) -> set[str]:
    """The ``.dist-info`` / ``.egg-info`` paths (relative to the prefix) among a record's files."""
    owned = set()
    for path in files:
        if ".dist-info" not in path and ".egg-info" not in path:  # most files: skip them cheaply
            continue
        path = path.replace("\\", "/")
        for marker in (".dist-info/", ".egg-info/"):
            index = path.find(marker)
            if index != -1:
                owned.add(path[: index + len(marker) - 1])
                break
        else:
            if path.endswith(".egg-info"):
                owned.add(path)
    return owned


def describe_conda(
    conda_prefix: str | None,
    distributions: list[dict[str, Any]],
    environ: Mapping[str, str],
    problems: list[str],
) -> dict[str, Any] | None:
    """Every conda-meta record of the environment; marks the distributions conda installed (``conda``)."""
    if not conda_prefix:
        return None
    meta = os.path.join(conda_prefix, "conda-meta")
    try:
        entries = sorted(entry for entry in os.listdir(meta) if entry.endswith(".json"))
    except OSError:
        return None
    records, owned = [], set()
    for entry in entries:
        read = read_conda_record(os.path.join(meta, entry), environ, problems)
        if read is not None:
            records.append(read[0])
            owned |= conda_metadata_dirs(read[1])
    root = os.path.realpath(conda_prefix)
    for dist in distributions:
        relative = os.path.relpath(os.path.realpath(dist["metadata_dir"]), root).replace("\\", "/")
        dist["conda"] = relative in owned
    records.sort(key=lambda record: record["name"])
    return {"prefix": conda_prefix, "records": records}


# --- pip configuration --------------------------------------------------------


def home_dir(environ: Mapping[str, str]) -> str:
    return environ.get("HOME") or environ.get("USERPROFILE") or os.path.expanduser("~")


def pip_config_files(environ: Mapping[str, str], prefix: str, root: str = "/") -> list[str]:
    """The pip configuration files that exist, in pip's load order (later wins)."""
    env_file = environ.get("PIP_CONFIG_FILE")
    if env_file == os.devnull:
        return []
    home = home_dir(environ)
    if os_name() == "windows":
        basename = "pip.ini"
        program_data = environ.get("ALLUSERSPROFILE") or "C:\\ProgramData"
        global_files = [os.path.join(program_data, "pip", basename)]
        appdata = environ.get("APPDATA") or os.path.join(home, "AppData", "Roaming")
        user_files = [os.path.join(home, "pip", basename), os.path.join(appdata, "pip", basename)]
    else:
        basename = "pip.conf"
        if sys.platform == "darwin":
            system_dirs = ["/Library/Application Support/pip"]
            new_user_dir = os.path.join(home, "Library", "Application Support", "pip")
            if not os.path.isdir(new_user_dir):
                new_user_dir = os.path.join(home, ".config", "pip")
        else:
            xdg_dirs = [d for d in environ.get("XDG_CONFIG_DIRS", "").split(os.pathsep) if d]
            system_dirs = [os.path.join(d, "pip") for d in xdg_dirs or ["/etc/xdg"]] + ["/etc"]
            config_home = environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
            new_user_dir = os.path.join(config_home, "pip")
        global_files = [under_root(root, os.path.join(d, basename)) for d in system_dirs]
        user_files = [os.path.join(home, ".pip", basename), os.path.join(new_user_dir, basename)]
    if env_file and os.path.exists(env_file):  # pip skips user files then
        user_files = []
    candidates = global_files + user_files + [os.path.join(prefix, basename)]
    candidates += [env_file] if env_file else []
    return [path for path in candidates if os.path.isfile(path)]


def normalize_option(name: str) -> str:
    name = name.lower().replace("_", "-")
    return name[2:] if name.startswith("--") else name


def pip_install_options(files: Iterable[str], environ: Mapping[str, str], problems: list[str]) -> dict[str, str]:
    """Raw option values as ``pip install`` sees them: [global], then [install], then PIP_*."""
    sections: dict[str, dict[str, str]] = {"global": {}, "install": {}, ":env:": {}}
    for path in files:
        parser = configparser.RawConfigParser()
        parser.optionxform = normalize_option  # type: ignore[assignment, method-assign]
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                parser.read_file(handle)
        except (OSError, configparser.Error) as error:
            problems.append(f"pip configuration {path} could not be read ({error}).")
            continue
        for section in ("global", "install"):
            if parser.has_section(section):
                sections[section].update(parser.items(section))
    for key, value in environ.items():
        if key.startswith("PIP_"):
            sections[":env:"][normalize_option(key[4:])] = value
    options: dict[str, str] = {}
    for section in ("global", "install", ":env:"):
        options.update((key, value) for key, value in sections[section].items() if value)
    return options


def pip_bool(value: str | None) -> bool:
    return (value or "").strip().lower() in PIP_TRUE


def absolute_find_link(link: str) -> str:
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]+://", link):
        return link
    return os.path.abspath(os.path.expanduser(link))


def read_pip_config(
    environ: Mapping[str, str] | None = None,
    *,
    redact: bool = True,
    config_files: list[str] | None = None,
    prefix: str | None = None,
    root: str = "/",
    problems: list[str] | None = None,
) -> dict[str, Any]:
    """The index settings ``pip install`` would use here, credentials removed if ``redact``."""
    environ = os.environ if environ is None else environ
    problems = [] if problems is None else problems
    if config_files is None:
        config_files = pip_config_files(environ, sys.prefix if prefix is None else prefix, root)
    options = pip_install_options(config_files, environ, problems)

    def scrub(url: str) -> str:
        return redact_url(url, environ=environ) if redact else url

    cert = options.get("cert")
    if "no-index" in options and options["no-index"].strip().lower() not in PIP_TRUE + PIP_FALSE:
        problems.append(f"pip's no-index is set to {options['no-index']!r}, which pip rejects.")
    return {
        "index_url": scrub(options.get("index-url", DEFAULT_INDEX_URL).strip()),
        "extra_index_urls": [scrub(url) for url in options.get("extra-index-url", "").split()],
        "find_links": [scrub(absolute_find_link(link)) for link in options.get("find-links", "").split()],
        "no_index": pip_bool(options.get("no-index")),
        "cert": cert.strip() if cert else None,
        "trusted_hosts": options.get("trusted-host", "").split(),
        "config_files": list(config_files),
    }


# --- environment variables ----------------------------------------------------


def is_secret_name(name: str) -> bool:
    upper = name.upper()
    return any(part in upper for part in SECRET_NAME_PARTS)


def captured_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The allow-listed variables that shape a notebook's results; none whose name or value looks secret."""
    return {
        name: value
        for name, value in environ.items()
        if name in CAPTURED_VARIABLES and not is_secret_name(name) and not looks_secret_value(value)
    }


# --- CUDA ---------------------------------------------------------------------
# Everything here reads files, metadata and NVML; nothing imports a framework or
# creates a CUDA context (torch.cuda is only read when the process already did).

NVIDIA_NOT_CUDA = frozenset(("nvidia-ml-py", "nvidia-ml-py3", "nvidia-pyindex"))
TENSORFLOW_NAMES = ("tensorflow", "tensorflow-gpu", "tensorflow-cpu", "tf-nightly")
CUDA_LIBRARY = re.compile(
    r"^lib(cudart|cudnn|nccl|cublas|cublasLt|cuda|nvrtc|cufft|curand|cusolver|cusparse|nvJitLink)"
    r"(?:_[A-Za-z0-9_]+)?\.so(?:\.([0-9.]+))?$"
)
CONDA_CUDA_PACKAGES = frozenset(
    ("cudatoolkit", "cuda-cudart", "cuda-runtime", "cuda-version", "cudnn", "nccl", "cuda-nvrtc", "libcublas", "pytorch-cuda")
)
NVIDIA_SMI_FIELDS = "name,memory.total,compute_cap,driver_version"
NVIDIA_SMI_TIMEOUT = 5.0


def parse_nvrm_version(text: str) -> str | None:
    """The driver version in /proc/driver/nvidia/version (proprietary or open kernel module)."""
    match = re.search(r"Kernel Module(?:\s+for\s+\S+)?\s+(\d+\.\d+(?:\.\d+)*)", text)
    return match.group(1) if match else None


def read_driver_version(root: str = "/") -> dict[str, Any] | None:
    """The loaded NVIDIA kernel module's version, from /proc or /sys."""
    path = "/proc/driver/nvidia/version"
    version = parse_nvrm_version(read_text(under_root(root, path)) or "")
    if version is None:
        path = "/sys/module/nvidia/version"
        text = (read_text(under_root(root, path)) or "").strip()
        version = text if re.match(r"^\d+\.\d+(\.\d+)*$", text) else None
    return {"version": version, "cuda": None, "source": path} if version else None


def cuda_version_from_int(value: int) -> str:
    """NVML's and cudnn's integer versions: 12040 -> 12.4."""
    return f"{value // 1000}.{value % 1000 // 10}"


def nvml_facts() -> dict[str, Any] | None:
    """Driver, driver CUDA version and GPUs through NVML, when nvidia-ml-py is importable."""
    try:
        import importlib.util
        import warnings

        if importlib.util.find_spec("pynvml") is None:
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pynvml  # type: ignore[import-not-found]
        pynvml.nvmlInit()
    except Exception:  # NVML missing, no driver, or a broken binding: the other sources remain
        return None

    def text(value: Any) -> str:
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)

    facts: dict[str, Any] = {"driver": None, "gpus": []}
    try:
        driver = {"version": text(pynvml.nvmlSystemGetDriverVersion()), "cuda": None, "source": "nvml"}
        try:
            driver["cuda"] = cuda_version_from_int(int(pynvml.nvmlSystemGetCudaDriverVersion_v2()))
        except Exception:
            pass
        facts["driver"] = driver
        for index in range(int(pynvml.nvmlDeviceGetCount())):
            gpu: dict[str, Any] = {"name": None, "memory_mib": None, "compute_capability": None}
            try:
                handle = pynvml.nvmlDeviceGetHandleByIndex(index)
                gpu["name"] = text(pynvml.nvmlDeviceGetName(handle))
                gpu["memory_mib"] = int(pynvml.nvmlDeviceGetMemoryInfo(handle).total) // (1024 * 1024)
                major, minor = pynvml.nvmlDeviceGetCudaComputeCapability(handle)
                gpu["compute_capability"] = f"{major}.{minor}"
            except Exception:
                pass
            facts["gpus"].append(gpu)
    except Exception:
        pass
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:
            pass
    return facts if facts["driver"] or facts["gpus"] else None


def parse_nvidia_smi(text: str, fields: str = NVIDIA_SMI_FIELDS) -> list[dict[str, Any]]:
    """GPUs from ``nvidia-smi --query-gpu=<fields> --format=csv,noheader``."""
    names = fields.split(",")
    gpus = []
    for line in text.splitlines():
        values = [value.strip() for value in line.rsplit(",", len(names) - 1)]  # a name may hold commas
        if len(values) != len(names) or not values[0]:
            continue
        row = {name: (None if value.startswith("[") or not value else value) for name, value in zip(names, values)}
        memory = re.match(r"^(\d+)\s*MiB$", row.get("memory.total") or "")
        capability = row.get("compute_cap")
        gpus.append(
            {
                "name": row["name"],
                "memory_mib": int(memory.group(1)) if memory else None,
                "compute_capability": capability if capability and re.match(r"^\d+\.\d+$", capability) else None,
                "driver_version": row.get("driver_version"),
            }
        )
    return gpus


def nvidia_smi_gpus(executable: str, timeout: float = NVIDIA_SMI_TIMEOUT) -> list[dict[str, Any]] | None:
    """The GPUs nvidia-smi lists; a driver too old to know compute_cap is asked without it."""
    import subprocess  # only when nvidia-smi is installed

    for fields in (NVIDIA_SMI_FIELDS, NVIDIA_SMI_FIELDS.replace("compute_cap,", "")):
        try:
            run = subprocess.run(
                [executable, "--query-gpu=" + fields, "--format=csv,noheader"],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                stdin=subprocess.DEVNULL,
                timeout=timeout,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        if run.returncode == 0:
            return parse_nvidia_smi(run.stdout.decode("utf-8", "replace"), fields)
    return None


def describe_gpu_host(environ: Mapping[str, str] | None = None, root: str = "/") -> dict[str, Any]:
    """This machine's NVIDIA driver and GPUs: /proc or /sys, then NVML, then nvidia-smi."""
    import shutil

    environ = os.environ if environ is None else environ
    driver = read_driver_version(root)
    nvml = nvml_facts() if root in ("", "/") else None  # NVML always sees the real machine
    gpus: list[dict[str, Any]] = []
    gpu_source = None
    if nvml:
        driver = nvml["driver"] or driver
        gpus, gpu_source = nvml["gpus"], "nvml"
    smi = shutil.which("nvidia-smi", path=environ.get("PATH", ""))
    if smi and not gpus:
        listed = nvidia_smi_gpus(smi)
        if listed:
            gpus, gpu_source = listed, "nvidia-smi"
            if driver is None and listed[0].get("driver_version"):
                driver = {"version": listed[0]["driver_version"], "cuda": None, "source": "nvidia-smi"}
    for gpu in gpus:
        gpu.pop("driver_version", None)
    return {"driver": driver, "gpus": gpus, "gpu_source": gpu_source}


def local_version(version: str) -> str | None:
    """The local part of a version: ``2.5.1+cu124`` -> ``cu124``."""
    return version.split("+", 1)[1].lower() if "+" in version else None


def cuda_from_local(local: str | None) -> str | None:
    """``cu124`` -> ``12.4``, ``cu118`` -> ``11.8``, ``cu130`` -> ``13.0``."""
    match = re.match(r"^cu(\d+)(\d)$", local or "")
    return f"{match.group(1)}.{match.group(2)}" if match else None


def literal_assignments(text: str) -> dict[str, Any]:
    """Top-level ``name = <literal>`` (annotated or not) of a Python file, read without running it."""
    import ast

    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return {}
    values: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if not isinstance(target, ast.Name):
            continue
        if isinstance(value, ast.Call) and len(value.args) == 1:  # collections.OrderedDict([...])
            value = value.args[0]
        try:
            literal = ast.literal_eval(value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            continue
        if isinstance(literal, list) and all(isinstance(i, tuple) and len(i) == 2 for i in literal) and literal:
            literal = dict(literal)
        values[target.id] = literal
    return values


def torch_build_facts(dist: Mapping[str, Any]) -> dict[str, Any] | None:
    """torch's CUDA build from its version and torch/version.py, never by importing it."""
    package_dir = os.path.join(dist["location"], "torch")
    values = literal_assignments(read_text(os.path.join(package_dir, "version.py")) or "")
    local = local_version(dist["version"])
    cuda = values.get("cuda") if isinstance(values.get("cuda"), str) else cuda_from_local(local)
    if not cuda:
        return None
    try:
        bundled = any(name.startswith("libcudart") for name in os.listdir(os.path.join(package_dir, "lib")))
    except OSError:
        bundled = False
    arch_list = values.get("cuda_arch_list")  # not in official builds; kept if a build records it
    return {
        "package": dist["name"],
        "version": dist["version"],
        "installer": dist.get("installer"),
        "cuda": cuda,
        "local": local,
        "git_version": values.get("git_version") if isinstance(values.get("git_version"), str) else None,
        "arch_list": [str(a) for a in arch_list] if isinstance(arch_list, (list, tuple)) else None,
        "bundled_cuda": bundled,
    }


def tensorflow_build_facts(dist: Mapping[str, Any]) -> dict[str, Any] | None:
    path = os.path.join(dist["location"], "tensorflow", "python", "platform", "build_info.py")
    info = literal_assignments(read_text(path) or "").get("build_info")
    if not isinstance(info, dict) or not info.get("is_cuda_build"):
        return None
    capabilities = info.get("cuda_compute_capabilities")
    return {
        "package": dist["name"],
        "version": dist["version"],
        "installer": dist.get("installer"),
        "cuda": str(info["cuda_version"]) if info.get("cuda_version") else None,
        "cudnn": str(info["cudnn_version"]) if info.get("cudnn_version") else None,
        "arch_list": [str(c) for c in capabilities] if isinstance(capabilities, (list, tuple)) else None,
    }


def jax_build_facts(dists: list[dict[str, Any]]) -> dict[str, Any] | None:
    """JAX's CUDA plugins (jax-cuda12-plugin, jax-cuda12-pjrt), or an old jaxlib+cuda12 build."""
    packages, majors = {}, set()
    for dist in dists:
        plugin = re.match(r"^jax-cuda(\d+)-(plugin|pjrt)$", dist["name"])
        old = re.match(r"^cuda(\d+)", local_version(dist["version"]) or "") if dist["name"] == "jaxlib" else None
        if plugin or old:
            packages[dist["name"]] = dist["version"]
            majors.add((plugin or old).group(1))  # type: ignore[union-attr]
    if not packages:
        return None
    package = sorted(packages)[0]
    return {"package": package, "version": packages[package], "cuda": sorted(majors)[-1], "packages": packages}


def cupy_build_facts(dist: Mapping[str, Any]) -> dict[str, Any] | None:
    """``cupy-cuda12x`` -> CUDA 12; ``cupy-cuda117`` -> CUDA 11.7."""
    match = re.match(r"^cupy-cuda(\d+)(x?)$", dist["name"])
    if not match:
        return None
    digits, any_minor = match.groups()
    cuda = digits if any_minor else f"{digits[:-1]}.{digits[-1]}"
    return {"package": dist["name"], "version": dist["version"], "installer": dist.get("installer"), "cuda": cuda}


def conda_cuda_packages(conda_prefix: str | None) -> dict[str, str]:
    """CUDA packages recorded in the conda environment's conda-meta (name-version-build.json)."""
    if not conda_prefix:
        return {}
    try:
        records = os.listdir(os.path.join(conda_prefix, "conda-meta"))
    except OSError:
        return {}
    found = {}
    for record in records:
        parts = record[: -len(".json")].rsplit("-", 2) if record.endswith(".json") else []
        if len(parts) == 3 and parts[0] in CONDA_CUDA_PACKAGES:
            found[parts[0]] = parts[1]
    return found


def loaded_cuda_libraries(maps_text: str) -> list[dict[str, Any]]:
    """The CUDA libraries mapped into a process, from the text of its /proc/<pid>/maps."""
    seen: dict[str, dict[str, Any]] = {}
    for line in maps_text.splitlines():
        fields = line.split(None, 5)
        if len(fields) < 6 or not fields[5].startswith("/"):
            continue
        path = fields[5].strip()
        if path.endswith(" (deleted)"):
            path = path[: -len(" (deleted)")]
        match = CUDA_LIBRARY.match(os.path.basename(path))
        if match and path not in seen:
            seen[path] = {"name": "lib" + match.group(1), "file": os.path.basename(path), "version": match.group(2), "path": path}
    return [seen[path] for path in sorted(seen)]


def live_torch_facts(modules: Mapping[str, Any]) -> dict[str, Any] | None:
    """torch.cuda's facts, only when this process has already imported torch AND initialised CUDA."""
    torch = modules.get("torch")
    try:
        if torch is None or not torch.cuda.is_initialized():
            return None
    except Exception:
        return None
    facts: dict[str, Any] = {"cuda": None, "cudnn": None, "nccl": None, "arch_list": None, "devices": []}

    def attempt(key: str, read: Any) -> None:
        try:
            facts[key] = read()
        except Exception:
            pass

    attempt("cuda", lambda: torch.version.cuda)
    attempt("cudnn", lambda: torch.backends.cudnn.version())
    attempt("nccl", lambda: ".".join(str(part) for part in torch.cuda.nccl.version()))
    attempt("arch_list", lambda: [str(arch) for arch in torch.cuda.get_arch_list()])

    def devices() -> list[dict[str, Any]]:
        found = []
        for index in range(torch.cuda.device_count()):
            properties = torch.cuda.get_device_properties(index)
            found.append(
                {
                    "name": str(properties.name),
                    "memory_mib": int(properties.total_memory) // (1024 * 1024),
                    "compute_capability": f"{properties.major}.{properties.minor}",
                }
            )
        return found

    attempt("devices", devices)
    return facts


def describe_cuda(
    distributions: list[dict[str, Any]],
    environ: Mapping[str, str],
    root: str = "/",
    conda_prefix: str | None = None,
    modules: Mapping[str, Any] | None = None,
) -> dict[str, Any] | None:
    """The CUDA stack around this interpreter, or None when nothing CUDA-related is seen."""
    by_name = {dist["name"]: dist for dist in distributions}
    frameworks: dict[str, Any] = {}
    if "torch" in by_name:
        frameworks["torch"] = torch_build_facts(by_name["torch"])
    for name in TENSORFLOW_NAMES:
        if name in by_name:
            frameworks["tensorflow"] = tensorflow_build_facts(by_name[name])
            break
    frameworks["jax"] = jax_build_facts(distributions)
    for dist in distributions:
        if dist["name"].startswith("cupy-cuda"):
            frameworks["cupy"] = cupy_build_facts(dist)
    frameworks = {name: facts for name, facts in frameworks.items() if facts}
    wheels = {
        dist["name"]: dist["version"]
        for dist in distributions
        if dist["name"].startswith("nvidia-") and dist["name"] not in NVIDIA_NOT_CUDA
    }
    host = describe_gpu_host(environ, root)
    cuda = {
        "driver": host["driver"],
        "gpus": host["gpus"],
        "gpu_source": host["gpu_source"],
        "frameworks": frameworks,
        "wheels": wheels,
        "conda": conda_cuda_packages(conda_prefix),
        "loaded_libraries": loaded_cuda_libraries(read_text(under_root(root, "/proc/self/maps")) or ""),
        "live_torch": live_torch_facts(sys.modules if modules is None else modules),
    }
    seen = [cuda[key] for key in ("driver", "gpus", "frameworks", "wheels", "conda", "loaded_libraries", "live_torch")]
    return cuda if any(seen) else None


# --- the whole picture ----------------------------------------------------------


def collect(
    paths: Iterable[str] | None = None,
    environ: Mapping[str, str] | None = None,
    root: str = "/",
) -> dict[str, Any]:
    """Everything the probe knows, as JSON-ready data."""
    environ = os.environ if environ is None else environ
    scan_paths = default_scan_paths() if paths is None else [os.path.abspath(p) for p in paths]
    problems: list[str] = []
    interpreter = describe_interpreter()
    distributions = scan_distributions(scan_paths, problems)
    conda = describe_conda(interpreter["conda_prefix"], distributions, environ, problems)
    return {
        "probe_version": PROBE_VERSION,
        "interpreter": interpreter,
        "platform": describe_platform(root),
        "distributions": distributions,
        "cuda": describe_cuda(distributions, environ, root, interpreter["conda_prefix"]),
        "conda": conda,
        "pip_config": read_pip_config(environ, root=root, problems=problems),
        "environment": captured_environment(environ),
        "sys_path": scan_paths,
        "problems": problems,
    }


def main() -> int:
    document = json.dumps(collect(), sort_keys=True, ensure_ascii=True)
    sys.stdout.write(document + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
