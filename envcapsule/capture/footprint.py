"""Which distributions are in the kernel environment only because envcapsule is installed there."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import lru_cache

from packaging.markers import InvalidMarker
from packaging.requirements import InvalidRequirement, Requirement

from envcapsule.facts import EnvironmentFacts, normalize_name

TOOL_NAME = "envcapsule"


@lru_cache(maxsize=8192)
def parsed_requirement(line: str) -> Requirement | None:
    """A Requires-Dist line as a Requirement (None when it is not one), parsed once per process: environments repeat them."""
    try:
        return Requirement(line)
    except InvalidRequirement:
        return None


def _requirements(lines: Iterable[str]) -> Iterator[Requirement]:
    for line in lines:
        requirement = parsed_requirement(line)
        if requirement is not None:
            yield requirement


def requested_extras(facts: EnvironmentFacts) -> dict[str, set[str]]:
    """name -> the extras some installed distribution asks of it (``jsonschema[format-nongpl]``)."""
    extras: dict[str, set[str]] = {}
    for dist in facts.distributions:
        for requirement in _requirements(dist.requires_dist):
            if requirement.extras:
                extras.setdefault(normalize_name(requirement.name), set()).update(requirement.extras)
    return extras


def requirements_of(facts: EnvironmentFacts) -> dict[str, set[str]]:
    """name -> names it requires in this environment: markers evaluated with the captured interpreter's values,
    for no extra and for each extra that another installed distribution asks of it."""
    env = facts.marker_environment()
    installed = {d.name for d in facts.distributions}
    wanted = requested_extras(facts)
    graph: dict[str, set[str]] = {}
    for dist in facts.distributions:
        needs: set[str] = set()
        extras = ["", *sorted(wanted.get(dist.name, ()))]
        for requirement in _requirements(dist.requires_dist):
            try:
                if requirement.marker is not None and not any(
                    requirement.marker.evaluate({**env, "extra": extra}) for extra in extras
                ):
                    continue
            except InvalidMarker:
                continue
            name = normalize_name(requirement.name)
            if name in installed:
                needs.add(name)
        graph[dist.name] = needs
    return graph


def closure(roots: Iterable[str], graph: dict[str, set[str]]) -> set[str]:
    seen: set[str] = set()
    stack = [r for r in roots if r in graph]
    while stack:
        name = stack.pop()
        if name not in seen:
            seen.add(name)
            stack.extend(graph.get(name, ()))
    return seen


def tooling_distributions(facts: EnvironmentFacts) -> set[str]:
    """envcapsule and what it pulled in that nothing else in the environment needs or was asked for."""
    graph = requirements_of(facts)
    if TOOL_NAME not in graph:
        return set()
    required = set().union(*graph.values()) if graph else set()
    roots = {d.name for d in facts.distributions if d.requested or d.name not in required} - {TOOL_NAME}
    return closure([TOOL_NAME], graph) - closure(roots, graph)
