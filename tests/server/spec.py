"""The OpenAPI file as data, for checking answers against it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

SPEC = Path(__file__).resolve().parents[2] / "envcapsule" / "server" / "openapi.yaml"


def spec() -> dict[str, Any]:
    return yaml.safe_load(SPEC.read_text())  # type: ignore[no-any-return]


def properties(schema: str) -> set[str]:
    """Every property a schema names, through allOf."""
    found = spec()["components"]["schemas"][schema]
    names = set(found.get("properties", {}))
    for part in found.get("allOf", []):
        names |= properties(part["$ref"].rsplit("/", 1)[-1]) if "$ref" in part else set(part.get("properties", {}))
    return names
