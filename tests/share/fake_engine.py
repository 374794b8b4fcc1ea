"""A fake Docker client for the share/ tests: images that can be tagged, pushed, pulled, saved and loaded."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from docker.errors import APIError, ImageNotFound

IMAGE_ID = "sha256:" + "1" * 64
DIGEST = "sha256:" + "d" * 64


def saved_image(tags: list[str], labels: dict[str, str], layers: bytes = b"layers " * 1000) -> tuple[str, bytes]:
    """(image id, `docker save` output) of an image with ``labels``: manifest.json, its config, one layer."""
    config = json.dumps({"config": {"Labels": labels}, "rootfs": {"type": "layers"}}).encode()
    digest = hashlib.sha256(config).hexdigest()
    manifest = json.dumps([{"Config": f"{digest}.json", "RepoTags": tags, "Layers": ["layer/layer.tar"]}]).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in (("layer/layer.tar", layers), (f"{digest}.json", config), ("manifest.json", manifest)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return f"sha256:{digest}", buffer.getvalue()


@dataclass
class FakeImage:
    id: str
    tags: list[str]
    payload: bytes = b"docker save output"
    repo_digests: list[str] = field(default_factory=list)

    @property
    def attrs(self) -> dict[str, Any]:
        return {"RootFS": {"Layers": ["sha256:a", "sha256:b", "sha256:a"]}, "RepoDigests": self.repo_digests}

    def tag(self, repository: str, tag: str) -> bool:
        if f"{repository}:{tag}" not in self.tags:
            self.tags.append(f"{repository}:{tag}")
        return True

    def save(self, chunk_size: int = 4, named: str | bool = False) -> Iterator[bytes]:
        assert named, "images are saved with their name, so that loading restores the tag"
        for start in range(0, len(self.payload), chunk_size):
            yield self.payload[start : start + chunk_size]


class FakeImages:
    def __init__(self, engine: FakeEngine) -> None:
        self.engine = engine

    def get(self, name: str) -> FakeImage:
        for image in self.engine.images_by_id.values():
            if name in (image.id, *image.tags, *image.repo_digests):
                return image
        raise ImageNotFound(f"No such image: {name}")

    def remove(self, image: str, force: bool = False, noprune: bool = False) -> None:
        """Like `docker rmi TAG` on an image with other tags: only the tag goes."""
        found = self.get(image)
        found.tags = [tag for tag in found.tags if tag != image]

    def load(self, data: IO[bytes]) -> list[FakeImage]:
        """Like `docker load`: every tag in the tar's manifest.json is moved onto the loaded image."""
        payload = data.read()
        self.engine.loaded.append(payload)
        if self.engine.load_error:
            raise APIError(self.engine.load_error)
        with tarfile.open(fileobj=io.BytesIO(payload)) as archive:
            entry = json.loads(archive.extractfile("manifest.json").read())[0]  # type: ignore[union-attr]
        tags = list(entry.get("RepoTags") or [])
        for other in self.engine.images_by_id.values():
            other.tags = [tag for tag in other.tags if tag not in tags]
        image = FakeImage("sha256:" + entry["Config"].removesuffix(".json"), tags, payload)
        self.engine.images_by_id[image.id] = image
        return [image]


class FakeApi:
    def __init__(self, engine: FakeEngine) -> None:
        self.engine = engine

    def push(self, repository: str, tag: str, stream: bool, decode: bool) -> Iterator[dict[str, Any]]:
        self.engine.pushed.append(f"{repository}:{tag}")
        yield {"status": f"The push refers to repository [{repository}]"}
        yield {"status": "Preparing", "progressDetail": {}, "id": "aaaa"}
        yield {"status": "Pushing", "progressDetail": {"current": 1, "total": 2}, "id": "aaaa"}
        if self.engine.push_error:
            yield {"errorDetail": {"message": self.engine.push_error}, "error": self.engine.push_error}
            return
        yield {"status": "Pushed", "progressDetail": {}, "id": "aaaa"}
        yield {"status": "Layer already exists", "progressDetail": {}, "id": "bbbb"}
        yield {"status": f"{tag}: digest: {DIGEST} size: 1234"}
        yield {"progressDetail": {}, "aux": {"Tag": tag, "Digest": DIGEST, "Size": 1234}}
        image = self.engine.images.get(f"{repository}:{tag}")
        image.repo_digests.append(f"{repository}@{DIGEST}")

    def pull(self, repository: str, tag: str, stream: bool, decode: bool) -> Iterator[dict[str, Any]]:
        self.engine.pulled.append(f"{repository}@{tag}")
        if self.engine.pull_error:
            raise APIError(self.engine.pull_error)
        yield {"status": f"Pulling from {repository}", "id": tag}
        yield {"status": "Pull complete", "progressDetail": {}, "id": "aaaa"}
        yield {"status": f"Digest: {tag}"}
        self.engine.images_by_id["sha256:" + "2" * 64] = FakeImage("sha256:" + "2" * 64, [], repo_digests=[f"{repository}@{tag}"])


class FakeEngine:
    def __init__(self) -> None:
        self.images_by_id: dict[str, FakeImage] = {}
        self.images = FakeImages(self)
        self.api = FakeApi(self)
        self.pushed: list[str] = []
        self.pulled: list[str] = []
        self.loaded: list[bytes] = []
        self.push_error = ""
        self.pull_error = ""
        self.load_error = ""

    def add_image(self, tag: str, payload: bytes = b"docker save output", image_id: str = IMAGE_ID) -> FakeImage:
        image = FakeImage(image_id, [tag], payload)
        self.images_by_id[image.id] = image
        return image

    def add_saved_image(self, tag: str, labels: dict[str, str]) -> FakeImage:
        """An image whose `save` gives what `docker save` would: its id is its config's digest."""
        image_id, payload = saved_image([tag], labels)
        return self.add_image(tag, payload, image_id)


class RecordingProgress:
    def __init__(self) -> None:
        self.steps: list[tuple[str, int | None]] = []
        self.advanced: list[str] = []
        self.lines: list[str] = []

    def step(self, description: str, total: int | None = None) -> None:
        self.steps.append((description, total))

    def advance(self, item: str = "") -> None:
        self.advanced.append(item)

    def log(self, line: str) -> None:
        self.lines.append(line)


def stream_of(data: bytes) -> IO[bytes]:
    return io.BytesIO(data)
