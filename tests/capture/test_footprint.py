"""envcapsule's own footprint is left out of the capsule unless something else needs it."""

from __future__ import annotations

from envcapsule.capture.footprint import tooling_distributions
from envcapsule.facts import Distribution, EnvironmentFacts, Interpreter, Platform


def facts(*dists: Distribution) -> EnvironmentFacts:
    return EnvironmentFacts(
        interpreter=Interpreter("cpython", "3.11.2", "cp311", "/e/bin/python", "/e", "/usr", "venv"),
        platform=Platform(os="linux", system="Linux", machine="x86_64"),
        distributions=dists,
    )


def test_dependencies_only_envcapsule_needs_are_tooling() -> None:
    env = facts(
        Distribution("envcapsule", "0.1.0", requires_dist=("rich>=13", "httpx", "packaging")),
        Distribution("rich", "14.0", requires_dist=("pygments",)),
        Distribution("pygments", "2.19"),
        Distribution("httpx", "0.28"),
        Distribution("packaging", "26.0"),
        Distribution("pandas", "2.3", requested=True, requires_dist=("packaging", "numpy")),
        Distribution("numpy", "2.1"),
    )
    assert tooling_distributions(env) == {"envcapsule", "rich", "pygments", "httpx"}


def test_a_dependency_the_user_asked_for_stays() -> None:
    env = facts(
        Distribution("envcapsule", "0.1.0", requires_dist=("httpx",)),
        Distribution("httpx", "0.28", requested=True),
    )
    assert tooling_distributions(env) == {"envcapsule"}


def test_markers_are_evaluated_with_the_captured_interpreter() -> None:
    env = facts(
        Distribution("envcapsule", "0.1.0", requires_dist=('tomli; python_version < "3.11"', 'rich; sys_platform == "linux"')),
        Distribution("tomli", "2.0", requested=False),
        Distribution("rich", "14.0"),
    )
    # tomli is not needed on 3.11, so it is the user's own top-level install and stays.
    assert tooling_distributions(env) == {"envcapsule", "rich"}


def test_without_envcapsule_nothing_is_left_out() -> None:
    assert tooling_distributions(facts(Distribution("rich", "14.0"))) == set()


def test_what_an_extra_pulls_in_is_tooling_too() -> None:
    # envcapsule -> jupyter-events -> jsonschema[format-nongpl] -> fqdn, isoduration (only under that extra)
    env = facts(
        Distribution("envcapsule", "0.1.0", requires_dist=("jupyter-events",)),
        Distribution("jupyter-events", "0.12", requires_dist=("jsonschema[format-nongpl]>=4.18",)),
        Distribution(
            "jsonschema",
            "4.25",
            requires_dist=(
                'fqdn; extra == "format-nongpl"',
                'isoduration; extra == "format-nongpl"',
                'rfc3987; extra == "format"',
            ),
        ),
        Distribution("fqdn", "1.5"),
        Distribution("isoduration", "20.11"),
        Distribution("rfc3987", "1.3", requested=True),
        Distribution("pandas", "2.3", requested=True),
    )
    assert tooling_distributions(env) == {"envcapsule", "jupyter-events", "jsonschema", "fqdn", "isoduration"}


def test_envcapsule_is_never_used_by_the_notebook() -> None:
    from envcapsule.capture.live import used_distributions

    env = EnvironmentFacts(
        interpreter=Interpreter("cpython", "3.11.2", "cp311", "/e/bin/python", "/e", "/usr", "venv"),
        platform=Platform(os="linux", system="Linux", machine="x86_64"),
        distributions=(
            Distribution("envcapsule", "0.1.0", top_level=("envcapsule",), requires_dist=("rich",)),
            Distribution("rich", "14.0", top_level=("rich",)),
            Distribution("pandas", "2.3", requested=True, top_level=("pandas",)),
        ),
        imported_modules=("envcapsule", "rich", "pandas"),
    )
    assert used_distributions(env) == {"pandas"}
