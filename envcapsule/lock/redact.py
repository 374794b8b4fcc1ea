"""The one URL redaction for everything envcapsule writes, and the way back to the real URL in memory.

``redact_url`` lives in the stdlib-only probe (which must stay one file) and is re-exported here
for the rest of envcapsule: lockfiles, warnings, facts, index cache keys, labels and progress output
all show URLs through it. A redacted URL names its hidden parts as ``${VAR}`` references;
``fill_variables`` puts values back for a look-up, never for writing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from envcapsule.probe import looks_like_token, looks_secret_value, redact_text, redact_url

__all__ = ["fill_variables", "looks_like_token", "looks_secret_value", "redact_text", "redact_url", "url_variables"]

_VARIABLE = re.compile(r"\$\{([A-Za-z0-9_]+)\}|\$([A-Za-z0-9_]+)")


def url_variables(url: str) -> list[str]:
    """The variables a URL refers to (``${CONDA_TOKEN}`` in place of a channel token), in order."""
    return [a or b for a, b in _VARIABLE.findall(url)]


def fill_variables(url: str, *sources: Mapping[str, str]) -> tuple[str, list[str]]:
    """``url`` with its ``${VAR}`` references filled from the first source that has them, and the names none had."""
    missing: list[str] = []

    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        for source in sources:
            if source.get(name):
                return source[name]
        missing.append(name)
        return match.group(0)

    return _VARIABLE.sub(value, url), missing
