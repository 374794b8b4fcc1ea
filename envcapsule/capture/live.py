"""What only a live kernel knows: the facts of this very process, and which modules it imported."""

from __future__ import annotations

import sys
from collections.abc import Iterable

from envcapsule.capture.footprint import TOOL_NAME, tooling_distributions
from envcapsule.facts import EnvironmentFacts


def live_facts() -> EnvironmentFacts:
    """Run the probe in-process (no subprocess) and add the top-level names in sys.modules."""
    from envcapsule.probe import collect

    data = collect()
    data["imported_modules"] = imported_top_level(sys.modules)
    return EnvironmentFacts.from_probe(data)


def imported_top_level(modules: Iterable[str]) -> list[str]:
    stdlib: frozenset[str] = getattr(sys, "stdlib_module_names", frozenset())
    names = {name.split(".", 1)[0] for name in list(modules)}
    return sorted(n for n in names if n and n not in stdlib and n not in sys.builtin_module_names)


def used_distributions(facts: EnvironmentFacts) -> set[str]:
    """Distributions whose top-level import names the kernel imported."""
    owners: dict[str, set[str]] = {}
    for dist in facts.distributions:
        for name in dist.top_level:
            owners.setdefault(name, set()).add(dist.name)
    used: set[str] = set()
    for module in facts.imported_modules:
        used |= owners.get(module, set())
    # The magic itself runs in the kernel: envcapsule and what only it needs are tooling, never "used by the notebook".
    return used - tooling_distributions(facts) - {TOOL_NAME}
