"""Facts files: what ``envcapsule inspect --json`` prints on one machine, for ``snapshot --facts`` on another.

The document is the probe's JSON plus ``facts_schema``, the envcapsule version that wrote it and
``facts_sha256``, a sha256 over the rest in canonical form. A file from a newer envcapsule, one
whose hash no longer matches (edited by hand) and one without the shape of facts are refused,
each with one sentence; every name and version in it is checked against its grammar, since it
comes from another machine.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from envcapsule import grammar
from envcapsule._version import __version__
from envcapsule.errors import FactsError
from envcapsule.facts import EnvironmentFacts

FACTS_SCHEMA = 1
_MAKE = "write it again with `envcapsule inspect --json > facts.json` on the machine it describes"


def facts_sha256(document: Mapping[str, Any]) -> str:
    """sha256 over the document without its own hash, as sorted, compact JSON."""
    content = {key: value for key, value in document.items() if key != "facts_sha256"}
    return hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def facts_document(facts: EnvironmentFacts) -> dict[str, Any]:
    """The facts as a file another machine can snapshot from: redacted (``to_dict``), versioned and hashed."""
    document: dict[str, Any] = {"facts_schema": FACTS_SCHEMA, "envcapsule_version": __version__, **facts.to_dict()}
    document["facts_sha256"] = facts_sha256(document)
    return document


def read_facts_file(path: str | Path) -> EnvironmentFacts:
    """The facts in ``path``, or one sentence saying why they are refused."""
    path = Path(path).expanduser()
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise FactsError(f"Cannot read the facts file {path} ({error.strerror or error})", f"pass a file {_MAKE}") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise FactsError(f"{path} is not a facts file (not JSON: {error})", _MAKE) from None
    if not isinstance(document, dict) or "facts_schema" not in document:
        raise FactsError(f"{path} has no facts_schema, so it is not a facts file written by `envcapsule inspect --json`", _MAKE)
    schema = document["facts_schema"]
    if not isinstance(schema, int) or isinstance(schema, bool) or schema < 1:
        raise FactsError(f"{path} has facts_schema {schema!r}, which no envcapsule writes", _MAKE)
    if schema > FACTS_SCHEMA:
        writer = document.get("envcapsule_version")
        by = f"envcapsule {writer}" if isinstance(writer, str) and grammar.VERSION.fullmatch(writer) else "a newer envcapsule"
        raise FactsError(
            f"{path} was written by {by} with facts schema {schema}, and this envcapsule {__version__} reads facts schema "
            f"{FACTS_SCHEMA}",
            "upgrade envcapsule here (`pip install -U envcapsule`), or write the file with this version on that machine",
        )
    if document.get("facts_sha256") != facts_sha256(document):
        raise FactsError(
            f"{path} was changed after `envcapsule inspect` wrote it (its facts_sha256 no longer matches its content), "
            "so it was refused",
            _MAKE + " instead of editing it",
        )
    try:
        facts = EnvironmentFacts.from_probe(document)
        _check_values(facts)
    except ValueError as error:
        raise FactsError(f"{path} does not hold facts envcapsule can use: {error}", _MAKE) from None
    except (KeyError, TypeError, AttributeError) as error:
        why = f"missing {error}" if isinstance(error, KeyError) else str(error)
        raise FactsError(f"{path} does not hold facts envcapsule can use ({why})", _MAKE) from None
    return facts


def _check_values(facts: EnvironmentFacts) -> None:
    """Every name and version that reaches a lockfile, a capsule.toml or a resolver's input matches its grammar."""
    checks = [
        ("interpreter.version", facts.interpreter.version, grammar.PYTHON_VERSION, "a Python version"),
        ("interpreter.implementation", facts.interpreter.implementation, grammar.WORD, "a word"),
        ("platform.os", facts.platform.os, grammar.WORD, "a word"),
        ("platform.machine", facts.platform.machine, grammar.WORD, "a word"),
    ]
    for index, dist in enumerate(facts.distributions):
        checks.append((f"distributions[{index}].name", dist.name, grammar.DISTRIBUTION, "a distribution name"))
        checks.append((f"distributions[{index}].version", dist.version, grammar.VERSION, "a version"))
        checks += [(f"distributions[{index}].wheel_tags", tag, grammar.WORD, "a wheel tag") for tag in dist.wheel_tags]
    for field, value, pattern, what in checks:
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise ValueError(f"its {field} {str(value)[:60]!r} is not {what}")
