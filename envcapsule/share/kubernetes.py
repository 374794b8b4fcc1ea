"""A KubeSpawner profile for a capsule's pushed image: one ``singleuser.profileList`` entry of Zero to JupyterHub.

The image is named by the digest that ``envcapsule push`` recorded in ``push.json``, so every
user of the profile runs the same bytes. push.json is data from someone else (DESIGN §7): its
reference must match the image-reference grammar and carry a digest before it reaches a profile.
envcapsule schedules nothing; the hub's KubeSpawner starts the pod.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from envcapsule import grammar
from envcapsule.atomic import atomic_writer
from envcapsule.capsule import Capsule, read_capsule
from envcapsule.contract import NB_GID, NB_UID
from envcapsule.cuda import is_cuda_capsule, min_driver_for
from envcapsule.errors import ShareError
from envcapsule.share.registry import is_digest_ref, normalize_registry, recorded_pushes

HEADER = "# Written by `envcapsule share --jupyterhub`"
GPU_RESOURCE = "nvidia.com/gpu"
DRIVER_LABEL = "nvidia.com/cuda.driver.major"  # set on GPU nodes by NVIDIA GPU feature discovery
DRIVER_VERSION = re.compile(r"[0-9]+(?:\.[0-9]+){0,2}")


@dataclass(frozen=True)
class JupyterHubProfile:
    """The profile of one capsule image for KubeSpawner, and the file it was written to (if any)."""

    notebook: str  # the notebook's path inside the image's $HOME
    capsule: Path
    ref: str  # REGISTRY/NAMESPACE/NAME@sha256:...
    entry: Mapping[str, Any]  # one item of singleuser.profileList
    notes: tuple[str, ...] = ()
    written: Path | None = field(default=None, compare=False)

    def values(self) -> dict[str, Any]:
        """Helm values for Zero to JupyterHub that offer this profile."""
        return {"singleuser": {"profileList": [dict(self.entry)]}}

    def to_yaml(self) -> str:
        comments = [
            HEADER + f" for {self.notebook}.",
            "# Pass it to Helm with --values, or copy the entry into your profileList.",
        ]
        comments += [f"# {note}" for note in self.notes]
        return "\n".join(comments) + "\n" + render_yaml(self.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "capsule": str(self.capsule),
            "notebook": self.notebook,
            "profile": dict(self.entry),
            "values": self.values(),
            "notes": list(self.notes),
            "written": str(self.written) if self.written else None,
        }


def jupyterhub_profile(capsule_dir: Path, *, registry: str | None = None) -> JupyterHubProfile:
    """The profile of the image pushed from ``capsule_dir`` (to ``registry`` where several were pushed)."""
    capsule = read_capsule(capsule_dir)
    notebook = _notebook(capsule)
    ref = pushed_ref(capsule.folder, registry, Path(notebook).name)
    repository = ref.split("@", 1)[0]
    override: dict[str, Any] = {
        "image": ref,
        "image_pull_policy": "IfNotPresent",  # a digest never changes, so one pull per node is enough
        "cmd": ["jupyterhub-singleuser"],  # under a hub, not the image's own `jupyter lab` with a token
        "uid": NB_UID,
        "gid": NB_GID,
        "fs_gid": NB_GID,  # a volume mounted at ~/work is writable by jovyan
        "allow_privilege_escalation": False,
        "default_url": f"/lab/tree/{quote(notebook)}",
    }
    notes: list[str] = []
    description = f"{notebook} in its captured environment ({_environment(capsule)}), image {_short(ref)}"
    if is_cuda_capsule(capsule.manifest):
        override["extra_resource_limits"] = {GPU_RESOURCE: "1"}
        driver = _min_driver(capsule)
        description += f"; one NVIDIA GPU, driver {driver} or newer" if driver else "; one NVIDIA GPU"
        notes.append(gpu_note(driver))
    entry = {
        "display_name": Path(notebook).stem,
        "slug": repository.rsplit("/", 1)[-1],
        "description": description,
        "kubespawner_override": override,
    }
    return JupyterHubProfile(notebook, capsule.folder, ref, entry, tuple(notes))


def pushed_ref(folder: Path, registry: str | None, notebook: str = "NOTEBOOK") -> str:
    """The digest reference of push.json's push (to ``registry``, when given), checked against the grammar."""
    push_again = f"push it with `envcapsule push {notebook} --registry REGISTRY/NAMESPACE`"
    pushes = [p for p in recorded_pushes(folder) if isinstance(p, Mapping)]
    if registry is not None:
        location = normalize_registry(registry)
        chosen = [p for p in pushes if p.get("registry") == location]
        if not chosen:
            pushed_to = ", ".join(sorted({str(p.get("registry")) for p in pushes})) or "nowhere yet"
            raise ShareError(
                f"The capsule {folder.name} has no image pushed to {location} (pushed to: {pushed_to})",
                f"push it there first with `envcapsule push {notebook} --registry {location}`",
            )
    elif len(pushes) > 1:
        locations = ", ".join(sorted(str(p.get("registry")) for p in pushes))
        raise ShareError(
            f"The capsule {folder.name} was pushed to {len(pushes)} registries ({locations})",
            "say which one the cluster pulls from with {option:registry}",
        )
    else:
        chosen = pushes
    if not chosen:
        raise ShareError(
            f"The capsule {folder.name} has no pushed image, and a profile names its image by digest", push_again + " first"
        )
    ref = chosen[-1].get("ref")
    if not isinstance(ref, str) or not grammar.IMAGE_REFERENCE.fullmatch(ref):
        raise ShareError(f"push.json in {folder.name} names {_shown(ref)}, which is not an image reference", push_again)
    if not is_digest_ref(ref):
        raise ShareError(
            f"push.json in {folder.name} names {ref}, which is not pinned by a digest, and profiles pin digests", push_again
        )
    return ref


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:60] + "..."


def gpu_note(driver: str | None) -> str:
    """What KubeSpawner cannot check itself: the nodes' driver (node labels from NVIDIA GPU feature discovery)."""
    if driver is None:
        return "GPU nodes need the NVIDIA device plugin and a driver recent enough for the capsule's CUDA."
    major = driver.split(".", 1)[0]
    return (
        f"GPU nodes need the NVIDIA device plugin and driver {driver} or newer; with GPU feature discovery, "
        f"pick them with a node_affinity_required on {DRIVER_LABEL} Gt {int(major) - 1}."
    )


def write_profile(profile: JupyterHubProfile, output: Path, *, force: bool = False) -> JupyterHubProfile:
    """Write the profile's Helm values to ``output`` atomically; a file envcapsule did not write needs ``force``."""
    if output.is_dir():
        raise ShareError(f"{output} is a folder", "pass a file name for the profile, such as profile.yaml")
    if output.exists() and not force and not written_by_envcapsule(output):
        raise ShareError(f"{output} exists and was not written by envcapsule", "pass {option:force} to replace it")
    try:
        with atomic_writer(output, "w", encoding="utf-8") as stream:
            stream.write(profile.to_yaml())
    except OSError as error:
        raise ShareError(f"Cannot write {output} ({error.strerror})", "choose a folder you can write to") from None
    return JupyterHubProfile(profile.notebook, profile.capsule, profile.ref, profile.entry, profile.notes, written=output)


def written_by_envcapsule(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8") as stream:
            return stream.readline().startswith(HEADER)
    except (OSError, UnicodeDecodeError):
        return False


def render_yaml(value: Any, indent: int = 0) -> str:
    """Block-style YAML whose every scalar is written as JSON (JSON scalars are YAML): nothing from a capsule is unquoted."""
    pad = " " * indent
    if isinstance(value, Mapping):
        lines = []
        for key, item in value.items():
            if _is_block(item):
                lines.append(f"{pad}{_key(key)}:\n{render_yaml(item, indent + 2)}")
            else:
                lines.append(f"{pad}{_key(key)}: {json.dumps(item)}\n")
        return "".join(lines)
    if isinstance(value, list):
        lines = []
        for item in value:
            if isinstance(item, Mapping) and item:
                inner = render_yaml(item, indent + 2)
                lines.append(f"{pad}- {inner[indent + 2 :]}")
            else:
                lines.append(f"{pad}- {json.dumps(item)}\n")
        return "".join(lines)
    return f"{pad}{json.dumps(value)}\n"


def _key(key: object) -> str:
    """A plain key where YAML reads it back as the same string, JSON-quoted otherwise."""
    text = str(key)
    return text if _PLAIN_KEY.fullmatch(text) and text.lower() not in _YAML_WORDS else json.dumps(text)


_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n"}


def _is_block(value: Any) -> bool:
    return isinstance(value, (Mapping, list)) and bool(value) and not _is_flat_list(value)


def _is_flat_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, (str, int, float, bool)) for item in value)


def _notebook(capsule: Capsule) -> str:
    if not capsule.notebooks:
        raise ShareError(f"The capsule {capsule.folder.name} names no notebook", "snapshot the notebook again")
    return capsule.notebooks[0]  # read_capsule checked it is a relative path


def _environment(capsule: Capsule) -> str:
    version = (capsule.manifest.get("interpreter") or {}).get("version")
    return f"Python {version}" if version else "its locked packages"


def _min_driver(capsule: Capsule) -> str | None:
    cuda = capsule.manifest.get("cuda") or {}
    minimum = cuda.get("min_driver") or (min_driver_for(str(cuda["version"])) if cuda.get("version") else None)
    if minimum is None:
        return None
    return grammar.matching("cuda.min_driver", str(minimum), DRIVER_VERSION, "a driver version such as 525.60.13")


def _short(ref: str) -> str:
    repository, digest = ref.split("@", 1)
    return f"{repository}@{digest[:19]}..."
