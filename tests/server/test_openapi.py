"""openapi.yaml describes exactly the routes the extension wires, and every reference in it resolves."""

from __future__ import annotations

import re
from typing import Any

from tornado import web

from envcapsule.server.base import API
from envcapsule.server.handlers import routes
from tests.server.spec import spec


def wired() -> set[tuple[str, str]]:
    pairs = set()
    for pattern, handler in routes():
        # A route beside the API (envcapsule/metrics) is described with its own server, envcapsule/.
        path = re.sub(
            r"\([^)]*\)", "{id}", pattern.removeprefix(API) if pattern.startswith(API) else "/" + pattern.split("/", 1)[1]
        )
        for method in ("get", "post", "put", "patch", "delete"):
            if getattr(handler, method) is not getattr(web.RequestHandler, method):
                pairs.add((path, method))
    return pairs


def described() -> set[tuple[str, str]]:
    methods = {"get", "post", "put", "patch", "delete"}
    return {(path, method) for path, item in spec()["paths"].items() for method in item if method in methods}


def references(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [ref for key, value in node.items() for ref in ([value] if key == "$ref" else references(value))]
    if isinstance(node, list):
        return [ref for value in node for ref in references(value)]
    return []


def test_the_spec_describes_exactly_the_wired_routes() -> None:
    assert described() == wired()


def test_every_reference_resolves() -> None:
    document = spec()
    assert document["openapi"].startswith("3.1")
    for ref in references(document):
        node: Any = document
        for part in ref.removeprefix("#/").split("/"):
            assert part in node, ref
            node = node[part]


def test_every_operation_says_what_an_unauthenticated_request_gets() -> None:
    for path, item in spec()["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                assert "403" in operation["responses"], (path, method)
