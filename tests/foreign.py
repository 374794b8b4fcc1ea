"""Facts of environments on other platforms, made as `envcapsule inspect --json` would print them there.

The real wheels of that platform are installed into a folder (uv installs for another platform and
evaluates every marker for it, so ``appnope`` comes on macOS and ``pywin32`` on Windows), and the
probe's own reader turns their dist-info folders, ``WHEEL`` tags included, into the facts.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envcapsule.facts import EnvironmentFacts
from envcapsule.factsfile import facts_document
from envcapsule.image.python_dist import find_uv
from envcapsule.probe import scan_distributions


@dataclass(frozen=True)
class ForeignPlatform:
    uv_platform: str  # uv's --python-platform
    interpreter: dict[str, Any]
    platform: dict[str, Any]


MACOS_ARM64 = ForeignPlatform(
    "aarch64-apple-darwin",
    {
        "implementation": "cpython",
        "version": "3.11.2",
        "abi_tag": "cp311",
        "executable": "/Users/ada/analysis/.venv/bin/python",
        "prefix": "/Users/ada/analysis/.venv",
        "base_prefix": "/opt/homebrew/opt/python@3.11/Frameworks/Python.framework/Versions/3.11",
        "environment_kind": "venv",
    },
    {"os": "darwin", "system": "Darwin", "machine": "arm64", "release": "23.4.0"},
)
WINDOWS_AMD64 = ForeignPlatform(
    "x86_64-pc-windows-msvc",
    {
        "implementation": "cpython",
        "version": "3.11.2",
        "abi_tag": "cp311",
        "executable": "C:\\Users\\ada\\analysis\\.venv\\Scripts\\python.exe",
        "prefix": "C:\\Users\\ada\\analysis\\.venv",
        "base_prefix": "C:\\Program Files\\Python311",
        "environment_kind": "venv",
    },
    {"os": "windows", "system": "Windows", "machine": "AMD64", "release": "10"},
)


def install_for(platform: ForeignPlatform, folder: Path, *requirements: str) -> Path:
    """The real wheels of ``platform`` for ``requirements``, installed into ``folder`` (binary files only, as that installer would)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "PIP_"))}
    subprocess.run(
        [
            find_uv(), "pip", "install", "--quiet", "--no-config", "--target", str(folder),
            "--python-platform", platform.uv_platform, "--python-version", platform.interpreter["version"],
            "--only-binary", ":all:", *requirements,
        ],
        check=True,
        env=environ,
        capture_output=True,
    )  # fmt: skip
    return folder


def facts_file(platform: ForeignPlatform, site_packages: Path, destination: Path) -> Path:
    """What `envcapsule inspect --json > facts.json` writes on that machine, for the environment in ``site_packages``."""
    problems: list[str] = []
    raw = {
        "probe_version": 1,
        "interpreter": platform.interpreter,
        "platform": platform.platform,
        "distributions": scan_distributions([str(site_packages)], problems),
        "pip_config": {"index_url": "https://pypi.org/simple"},
        "problems": problems,
    }
    destination.write_text(json.dumps(facts_document(EnvironmentFacts.from_probe(raw)), indent=2) + "\n")
    return destination
