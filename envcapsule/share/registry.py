"""push() and pull_by_digest(): capsule images shared through any OCI registry, named by digest.

Credentials come from the Docker configuration and its credential helpers, which the
Docker SDK reads for each push and pull; envcapsule never asks for, stores or logs them.
The pushed digest is recorded in the capsule folder's ``push.json``, outside capsule.toml,
so pushing leaves the capsule hash (and so the image tag) unchanged.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from envcapsule.atomic import write_json
from envcapsule.capsule import read_capsule, require_writable
from envcapsule.progress import NullProgress, Progress
from envcapsule.share.errors import RegistryError, engine_reason
from envcapsule.share.transfer import follow

PUSH_RECORD = "push.json"
DOCKER_HUB = "docker.io"
_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_HOST = re.compile(r"^(?:\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(?::[0-9]+)?$")  # no user:password@, ever
_DIGEST_REF = re.compile(r"^(?P<repository>[^@\s]+)@(?P<digest>sha256:[0-9a-f]{64})$")


def normalize_registry(registry: str) -> str:
    """``REGISTRY[/NAMESPACE...]`` without scheme or trailing slash; a bare namespace means Docker Hub."""
    text = registry.strip().removeprefix("https://").removeprefix("http://").strip("/")
    parts = text.split("/") if text else []
    if parts and not _is_host(parts[0]):
        parts = [DOCKER_HUB, *parts]
    if not parts or not _HOST.match(parts[0]) or not all(_COMPONENT.match(p) for p in parts[1:]):
        raise RegistryError(
            f"{registry.rsplit('@', 1)[-1]!r} is not a registry location; pass REGISTRY/NAMESPACE in lower case without "
            "credentials (`docker login` holds those), such as ghcr.io/team or 127.0.0.1:5000/team."
        )
    return "/".join(parts)


def target_repository(registry: str, image_tag: str) -> tuple[str, str]:
    """Where the image ``envcapsule/NAME:TAG`` goes: (``REGISTRY/NAMESPACE/NAME``, ``TAG``)."""
    repository, _, tag = image_tag.rpartition(":")
    return f"{normalize_registry(registry)}/{repository.rsplit('/', 1)[-1]}", tag


def format_ref(repository: str, digest: str) -> str:
    return f"{repository}@{digest}"


def parse_digest_ref(ref: str) -> tuple[str, str]:
    """(repository, digest) of ``REPOSITORY@sha256:<64 hex>``."""
    match = _DIGEST_REF.match(ref.strip())
    if not match:
        raise RegistryError(
            f"{ref} is not a reference by digest; pass REGISTRY/NAMESPACE/NAME@sha256:<64 hex digits>, as `envcapsule push` prints it."
        )
    return match.group("repository"), match.group("digest")


def is_digest_ref(ref: str) -> bool:
    return _DIGEST_REF.match(ref.strip()) is not None


def registry_of(repository: str) -> str:
    first = repository.split("/", 1)[0]
    return first if "/" in repository and _is_host(first) else DOCKER_HUB


def push(capsule_dir: Path, registry: str, client: Any, progress: Progress | None = None) -> str:
    """Push the capsule's built image to ``REGISTRY/NAMESPACE``; return ``REGISTRY/NAMESPACE/NAME@sha256:…``."""
    from docker.errors import ImageNotFound

    from envcapsule.image.build import image_tag

    progress = progress or NullProgress()
    capsule = read_capsule(Path(capsule_dir))
    tag = image_tag(capsule)
    try:
        image = client.images.get(tag)
    except ImageNotFound:
        raise RegistryError(
            f"The capsule's image {tag} is not on this machine; build it first with `envcapsule build`."
        ) from None
    repository, version = target_repository(registry, tag)
    host = registry_of(repository)
    require_writable(capsule.folder, "a push records its digest in push.json")
    target = f"{repository}:{version}"
    tagged_here = target not in (image.tags or [])
    image.tag(repository, version)
    try:
        digest = _pushed_digest(client, host, tag, repository, version, image, progress)
    except BaseException:
        if tagged_here:
            _untag(client, target)  # a failed push leaves no tag behind that it made
        raise
    ref = format_ref(repository, digest)
    record_push(capsule.folder, {"ref": ref, "registry": normalize_registry(registry), "digest": digest, "image_id": image.id})
    return ref


def _pushed_digest(client: Any, host: str, tag: str, repository: str, version: str, image: Any, progress: Progress) -> str:
    from docker.errors import APIError

    layers = len(set(image.attrs.get("RootFS", {}).get("Layers") or []))
    progress.step(f"Pushing {tag} to {repository}", total=layers or None)
    try:
        transfer = follow(client.api.push(repository, tag=version, stream=True, decode=True), progress)
    except APIError as error:
        raise RegistryError(explain(host, "accept", f"{repository}:{version}", engine_reason(error))) from None
    if transfer.error:
        raise RegistryError(explain(host, "accept", f"{repository}:{version}", transfer.error))
    digest = next((a["Digest"] for a in transfer.aux if str(a.get("Digest", "")).startswith("sha256:")), None)
    if digest is None:
        raise RegistryError(f"The registry {host} accepted {repository}:{version} but reported no digest; push again.")
    return str(digest)


def _untag(client: Any, target: str) -> None:
    from docker.errors import APIError

    try:
        client.images.remove(target, noprune=True)
    except APIError:
        pass  # the push's own error is what the user needs to read


def pull_by_digest(ref: str, client: Any, progress: Progress | None = None) -> str:
    """Make ``REPOSITORY@sha256:…`` local (pulling only when it is not); return its image id."""
    from docker.errors import APIError, ImageNotFound

    progress = progress or NullProgress()
    repository, digest = parse_digest_ref(ref)
    try:
        return str(client.images.get(ref).id)
    except ImageNotFound:
        pass
    host = registry_of(repository)
    progress.step(f"Pulling {ref}")
    try:
        transfer = follow(client.api.pull(repository, tag=digest, stream=True, decode=True), progress)
    except APIError as error:
        raise RegistryError(explain(host, "serve", ref, engine_reason(error))) from None
    if transfer.error:
        raise RegistryError(explain(host, "serve", ref, transfer.error))
    try:
        return str(client.images.get(ref).id)
    except ImageNotFound:
        raise RegistryError(f"The registry {host} answered, but {ref} is still not on this machine; pull it again.") from None


def launch_ref(client: Any, ref: str, progress: Progress | None = None, **options: Any) -> Any:
    """`envcapsule launch REF`: pull by digest when the image is not local, then launch it as for a notebook."""
    from envcapsule.run import launch

    pull_by_digest(ref, client, progress)
    return launch(client, ref.strip(), progress=progress, **options)


def record_push(folder: Path, entry: dict[str, str]) -> Path:
    """Keep the latest push per registry location in ``push.json`` (written atomically)."""
    path = folder / PUSH_RECORD
    try:
        pushes = [p for p in json.loads(path.read_text())["pushes"] if p.get("registry") != entry["registry"]]
    except (OSError, ValueError, KeyError, TypeError):
        pushes = []
    stamp = datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    pushes.append({**entry, "pushed": stamp})
    write_json(path, {"pushes": pushes})
    return path


def recorded_pushes(folder: Path) -> list[dict[str, str]]:
    try:
        return list(json.loads((folder / PUSH_RECORD).read_text())["pushes"])
    except (OSError, ValueError, KeyError, TypeError):
        return []


def explain(registry: str, action: str, what: str, reason: str) -> str:
    """One sentence for a refused push (``action="accept"``) or pull (``action="serve"``)."""
    reason = (reason.strip().splitlines() or ["no reason given"])[0][:200]
    lowered = reason.lower()
    if re.search(r"unauthorized|authentication required|no basic auth credentials|denied|forbidden|\b40[13]\b", lowered):
        return (
            f"The registry {registry} refused to {action} {what} ({reason}); log in with `docker login {registry}` "
            "(envcapsule uses the Docker credentials) and try again."
        )
    if "http response to https client" in lowered:
        return (
            f"The registry {registry} speaks plain HTTP and the Docker engine expects HTTPS ({reason}); serve it over TLS "
            "or add it to the engine's insecure-registries."
        )
    network = ("connection refused", "no such host", "dial tcp", "timeout", "unreachable", "server misbehaving", "eof")
    if any(word in lowered for word in network):
        return f"The registry {registry} cannot be reached ({reason}); check its address, that it is running and the network, then try again."
    if action == "serve" and any(word in lowered for word in ("manifest unknown", "not found", "does not exist")):
        return (
            f"The registry {registry} has no image {what} ({reason}); check the digest, or push it first with `envcapsule push`."
        )
    if action == "accept":
        return (
            f"The registry {registry} refused to accept {what} ({reason}); check the name, and that `docker login {registry}` "
            "gives you the right to push there, then try again."
        )
    return f"The registry {registry} refused to {action} {what} ({reason}); check the name and your access, then try again."


def _is_host(component: str) -> bool:
    """Docker's rule: a first component with a dot or a port, or localhost, names a registry host."""
    return "." in component or ":" in component or component == "localhost"
