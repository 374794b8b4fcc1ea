"""Which distributions are in the kernel environment only because envcapsule is installed there."""

from __future__ import annotations

from collections.abc import Iterable

from packaging.markers import InvalidMarker
from packaging.requirements import InvalidRequirement, Requirement

from envcapsule.facts import EnvironmentFacts, normalize_name

TOOL_NAME = "envcapsule"


def requirements_of(facts: EnvironmentFacts) -> dict[str, set[str]]:
    """name -> names it requires in this environment (markers evaluated with the captured interpreter's values)."""
    env = facts.marker_environment()
    installed = {d.name for d in facts.distributions}
    graph: dict[str, set[str]] = {}
    for dist in facts.distributions:
        needs: set[str] = set()
        for line in dist.requires_dist:
            try:
                requirement = Requirement(line)
                if requirement.marker is not None and not requirement.marker.evaluate({**env, "extra": ""}):
                    continue
            except (InvalidRequirement, InvalidMarker):
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
