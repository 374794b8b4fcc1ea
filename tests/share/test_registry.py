"""Registry push and pull by digest through a fake engine: refs, the push record, progress, and refusals as one sentence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from envcapsule.capsule import read_capsule
from envcapsule.image.build import image_tag
from envcapsule.share.errors import RegistryError
from envcapsule.share.registry import (
    explain,
    is_digest_ref,
    normalize_registry,
    parse_digest_ref,
    pull_by_digest,
    push,
    target_repository,
)
from tests.share.fake_engine import DIGEST, FakeEngine, RecordingProgress


@pytest.mark.parametrize(
    ("given", "normalized"),
    [
        ("127.0.0.1:5000/team", "127.0.0.1:5000/team"),
        ("https://ghcr.io/octo/", "ghcr.io/octo"),
        ("localhost/team/sub", "localhost/team/sub"),
        ("octo", "docker.io/octo"),
        ("registry.example.org", "registry.example.org"),
    ],
)
def test_registry_locations_are_normalized(given: str, normalized: str) -> None:
    assert normalize_registry(given) == normalized


@pytest.mark.parametrize("given", ["", "ghcr.io/Octo", "ghcr.io/octo//x", "ghcr.io/-octo", "user:s3cret@ghcr.io/octo"])
def test_a_malformed_registry_location_is_one_sentence(given: str) -> None:
    with pytest.raises(RegistryError, match="is not a registry location; pass REGISTRY/NAMESPACE in lower case") as raised:
        normalize_registry(given)
    assert "s3cret" not in str(raised.value)


def test_refs_name_the_registry_namespace_and_capsule() -> None:
    assert target_repository("ghcr.io/octo", "envcapsule/analysis:0123456789ab") == ("ghcr.io/octo/analysis", "0123456789ab")
    ref = f"127.0.0.1:5000/team/analysis@{DIGEST}"
    assert parse_digest_ref(ref) == ("127.0.0.1:5000/team/analysis", DIGEST)
    assert is_digest_ref(ref) and not is_digest_ref("envcapsule/analysis:0123456789ab")
    with pytest.raises(RegistryError, match="is not a reference by digest"):
        parse_digest_ref("ghcr.io/octo/analysis@sha256:abc")


def test_push_returns_the_digest_ref_records_it_and_keeps_the_capsule_hash(project: Path) -> None:
    capsule_dir = project.with_name("analysis.capsule")
    capsule = read_capsule(capsule_dir)
    engine = FakeEngine()
    engine.add_image(image_tag(capsule))
    progress = RecordingProgress()

    ref = push(capsule_dir, "127.0.0.1:5000/team", engine, progress)

    assert ref == f"127.0.0.1:5000/team/analysis@{DIGEST}"
    assert engine.pushed == [f"127.0.0.1:5000/team/analysis:{capsule.capsule_hash[:12]}"]
    assert progress.steps == [(f"Pushing {image_tag(capsule)} to 127.0.0.1:5000/team/analysis", 2)]
    assert progress.advanced == ["aaaa", "bbbb"]
    record = json.loads((capsule_dir / "push.json").read_text())["pushes"]
    assert [(r["ref"], r["digest"], r["registry"]) for r in record] == [(ref, DIGEST, "127.0.0.1:5000/team")]
    assert read_capsule(capsule_dir).capsule_hash == capsule.capsule_hash  # verified again: nothing in capsule.toml changed


def test_pushing_again_keeps_one_record_per_registry(project: Path) -> None:
    capsule_dir = project.with_name("analysis.capsule")
    engine = FakeEngine()
    engine.add_image(image_tag(read_capsule(capsule_dir)))
    for registry in ("127.0.0.1:5000/team", "ghcr.io/octo", "127.0.0.1:5000/team"):
        push(capsule_dir, registry, engine)
    pushes = json.loads((capsule_dir / "push.json").read_text())["pushes"]
    assert sorted(p["registry"] for p in pushes) == ["127.0.0.1:5000/team", "ghcr.io/octo"]


def test_an_unbuilt_capsule_cannot_be_pushed(project: Path) -> None:
    with pytest.raises(RegistryError, match="is not on this machine; build it first with `envcapsule build`"):
        push(project.with_name("analysis.capsule"), "ghcr.io/octo", FakeEngine())


@pytest.mark.parametrize(
    ("error", "sentence"),
    [
        ("unauthorized: authentication required", "refused to accept .* log in with `docker login ghcr.io`"),
        ("no basic auth credentials", "refused to accept .* log in with `docker login ghcr.io`"),
        ("name unknown: the repository does not exist", "check the name, and that `docker login ghcr.io` gives you the right"),
        ("denied: requested access to the resource is denied", "log in with `docker login ghcr.io`"),
        ("Get https://ghcr.io/v2/: dial tcp: lookup ghcr.io: no such host", "cannot be reached .* check its address"),
        ("Get https://ghcr.io/v2/: http: server gave HTTP response to HTTPS client", "speaks plain HTTP"),
    ],
)
def test_a_refusing_registry_is_one_sentence(project: Path, error: str, sentence: str) -> None:
    capsule_dir = project.with_name("analysis.capsule")
    engine = FakeEngine()
    engine.add_image(image_tag(read_capsule(capsule_dir)))
    engine.push_error = error
    with pytest.raises(RegistryError, match=sentence) as raised:
        push(capsule_dir, "ghcr.io/octo", engine)
    assert "\n" not in str(raised.value) and str(raised.value).endswith(".")
    assert not (capsule_dir / "push.json").exists()
    assert engine.images.get(image_tag(read_capsule(capsule_dir))).tags == [image_tag(read_capsule(capsule_dir))]  # no tag left


def test_a_failed_push_keeps_a_registry_tag_that_was_there_before(project: Path) -> None:
    capsule_dir = project.with_name("analysis.capsule")
    tag = image_tag(read_capsule(capsule_dir))
    engine = FakeEngine()
    engine.add_image(tag).tags.append(f"ghcr.io/octo/analysis:{tag.rsplit(':', 1)[1]}")  # tagged by hand earlier
    engine.push_error = "denied: requested access to the resource is denied"
    with pytest.raises(RegistryError):
        push(capsule_dir, "ghcr.io/octo", engine)
    assert engine.images.get(tag).tags == [tag, f"ghcr.io/octo/analysis:{tag.rsplit(':', 1)[1]}"]


def test_pull_by_digest_pulls_only_what_is_missing() -> None:
    engine = FakeEngine()
    ref = f"127.0.0.1:5000/team/analysis@{DIGEST}"
    progress = RecordingProgress()
    image_id = pull_by_digest(ref, engine, progress)
    assert engine.pulled == [ref] and image_id == "sha256:" + "2" * 64
    assert progress.advanced == ["aaaa"]
    assert pull_by_digest(ref, engine) == image_id and engine.pulled == [ref]


def test_a_digest_the_registry_does_not_have_is_one_sentence() -> None:
    engine = FakeEngine()
    engine.pull_error = "manifest for 127.0.0.1:5000/team/analysis@sha256:dd not found: manifest unknown"
    with pytest.raises(RegistryError, match=r"The registry 127.0.0.1:5000 has no image .* check the digest, or push it first"):
        pull_by_digest(f"127.0.0.1:5000/team/analysis@{DIGEST}", engine)


def test_explanations_keep_only_the_first_line_of_the_reason() -> None:
    sentence = explain("ghcr.io", "serve", "x", "something odd\nwith a long tail")
    assert sentence == "The registry ghcr.io refused to serve x (something odd); check the name and your access, then try again."


def test_a_digest_that_happens_to_hold_401_is_not_taken_for_a_login_problem() -> None:
    sentence = explain("ghcr.io", "serve", "x", "manifest for ghcr.io/o/a@sha256:ab401f not found: manifest unknown")
    assert sentence.startswith("The registry ghcr.io has no image x")
