"""Facts files: written by `inspect --json` on one machine, read by `snapshot --facts` on another, refused when edited."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from envcapsule.errors import FactsError
from envcapsule.facts import Distribution, EnvironmentFacts, Interpreter, Platform
from envcapsule.factsfile import FACTS_SCHEMA, facts_document, facts_sha256, read_facts_file


def mac_facts() -> EnvironmentFacts:
    return EnvironmentFacts(
        interpreter=Interpreter("cpython", "3.11.2", "cp311", "/Users/ada/.venv/bin/python", "/Users/ada/.venv", "/opt", "venv"),
        platform=Platform(os="darwin", system="Darwin", machine="arm64"),
        distributions=(
            Distribution("appnope", "0.1.4", wheel_tags=("py3-none-any",)),
            Distribution("numpy", "2.2.6", wheel_tags=("cp311-cp311-macosx_11_0_arm64",)),
        ),
    )


def written(tmp_path: Path, document: dict[str, object]) -> Path:
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(document, indent=2))
    return path


def test_a_facts_file_reads_back_as_the_facts_it_was_written_from(tmp_path: Path) -> None:
    document = facts_document(mac_facts())
    assert document["facts_schema"] == FACTS_SCHEMA
    assert read_facts_file(written(tmp_path, document)) == EnvironmentFacts.from_probe(mac_facts().to_dict())


def test_a_hand_edited_facts_file_is_refused(tmp_path: Path) -> None:
    document = facts_document(mac_facts())
    document["distributions"][1]["version"] = "2.3.0"  # type: ignore[index]
    with pytest.raises(FactsError, match="changed after `envcapsule inspect` wrote it"):
        read_facts_file(written(tmp_path, document))


def test_a_facts_file_from_a_newer_envcapsule_names_its_schema_and_version(tmp_path: Path) -> None:
    document = {**facts_document(mac_facts()), "facts_schema": FACTS_SCHEMA + 1, "envcapsule_version": "9.0.0"}
    document["facts_sha256"] = facts_sha256(document)
    with pytest.raises(FactsError) as refused:
        read_facts_file(written(tmp_path, document))
    assert f"written by envcapsule 9.0.0 with facts schema {FACTS_SCHEMA + 1}" in str(refused.value)
    assert "upgrade envcapsule" in str(refused.value)


def test_the_probe_output_alone_is_not_a_facts_file(tmp_path: Path) -> None:
    with pytest.raises(FactsError, match="has no facts_schema"):
        read_facts_file(written(tmp_path, mac_facts().to_dict()))


def test_a_value_outside_its_grammar_is_refused_even_with_a_matching_hash(tmp_path: Path) -> None:
    document = facts_document(mac_facts())
    document["distributions"][1]["version"] = "2.2.6; rm -rf /"  # type: ignore[index]
    document["facts_sha256"] = facts_sha256(document)
    with pytest.raises(FactsError, match=r"distributions\[1\]\.version .* is not a version"):
        read_facts_file(written(tmp_path, document))


def test_a_facts_file_without_the_shape_of_facts_is_refused(tmp_path: Path) -> None:
    document = {"facts_schema": FACTS_SCHEMA, "platform": {"os": "linux"}}
    document["facts_sha256"] = facts_sha256(document)
    with pytest.raises(FactsError, match="does not hold facts envcapsule can use"):
        read_facts_file(written(tmp_path, document))


def test_a_file_that_is_not_json_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "facts.json"
    path.write_text("interpreter: cpython\n")
    with pytest.raises(FactsError, match="not JSON"):
        read_facts_file(path)


def test_the_facts_of_this_interpreter_survive_the_trip(tmp_path: Path) -> None:
    from envcapsule.capture import probe_interpreter

    facts = probe_interpreter(Path(sys.executable))
    assert read_facts_file(written(tmp_path, facts_document(facts))).distributions == facts.distributions
