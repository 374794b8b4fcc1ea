"""image.lock: a later build names the pinned base exactly, or says in one sentence why it cannot."""

from __future__ import annotations

from pathlib import Path

import pytest
from docker.errors import APIError, ImageNotFound

from envcapsule.errors import BaseImageError, CapsuleError
from envcapsule.image.base_lock import IMAGE_LOCK, BasePin, pinned_reference, read_pin, write_pin

ID = "sha256:" + "1" * 64
DIGEST = "docker.io/library/python@sha256:" + "2" * 64


class Image:
    def __init__(self, image_id: str) -> None:
        self.id = image_id


class Images:
    """The engine's images by reference; a pull succeeds only for the references in ``pullable``."""

    def __init__(self, local: dict[str, str], pullable: tuple[str, ...] = ()) -> None:
        self.local, self.pullable, self.pulled = dict(local), pullable, []  # type: list[str]

    def get(self, reference: str) -> Image:
        if reference not in self.local:
            raise ImageNotFound(f"No such image: {reference}")
        return Image(self.local[reference])

    def pull(self, reference: str) -> Image:
        if reference not in self.pullable:
            raise APIError(f"pull access denied for {reference}", explanation="manifest unknown")
        self.pulled.append(reference)
        self.local[reference] = ID
        return Image(ID)


class Engine:
    def __init__(self, images: Images) -> None:
        self.images = images


def test_a_pin_is_written_once_and_read_back(tmp_path: Path) -> None:
    pin = BasePin("python:3.11-slim", ID, DIGEST)
    write_pin(tmp_path, pin)
    written = (tmp_path / IMAGE_LOCK).stat().st_mtime_ns
    write_pin(tmp_path, pin)
    assert (tmp_path / IMAGE_LOCK).stat().st_mtime_ns == written
    assert read_pin(tmp_path) == pin
    assert read_pin(tmp_path / "elsewhere") is None


def test_a_pulled_base_is_built_from_its_digest_pulled_when_missing() -> None:
    images = Images({}, pullable=(DIGEST,))
    assert pinned_reference(Engine(images), BasePin("python:3.11-slim", ID, DIGEST)) == DIGEST
    assert images.pulled == [DIGEST]
    assert pinned_reference(Engine(images), BasePin("python:3.11-slim", ID, DIGEST)) == DIGEST
    assert images.pulled == [DIGEST]


def test_a_digest_that_cannot_be_pulled_is_one_sentence_pull_it_or_another_base() -> None:
    with pytest.raises(BaseImageError) as caught:
        pinned_reference(Engine(Images({"python:3.11-slim": ID})), BasePin("python:3.11-slim", ID, DIGEST))
    message = caught.value.message("cli")
    assert message.startswith(
        f"The base image python:3.11-slim is pinned in image.lock to {DIGEST}, which is not on this machine"
    )
    assert f"pull it (`docker pull {DIGEST}`), or pass `--base-image IMAGE` with another image (then pinned instead)." in message
    assert message.count(". ") == 0


def test_a_local_base_is_used_by_name_only_while_the_name_is_the_pinned_image() -> None:
    pin = BasePin("envcapsule-test/python:3.11.2-bookworm", ID)
    assert pinned_reference(Engine(Images({pin.name: ID})), pin) == pin.name
    with pytest.raises(BaseImageError, match=r"is image sha256:333333333333 here, not the image sha256:111111111111"):
        pinned_reference(Engine(Images({pin.name: "sha256:" + "3" * 64})), pin)
    with pytest.raises(
        BaseImageError, match=r"is not on this machine, not the image sha256:111111111111 this capsule was built on"
    ):
        pinned_reference(Engine(Images({})), pin)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[base\n", "is not an image lock"),
        ('[base]\nname = "python:3.11"\n', "is not an image lock"),
        ('[base]\nname = "python:3.11; rm -rf /"\nimage_id = "' + ID + '"\n', "is not an image reference"),
        ('[base]\nname = "python:3.11"\nimage_id = "latest"\n', "is not an image ID"),
        ('[base]\nname = "python:3.11"\nimage_id = "' + ID + '"\ndigest = "python:3.12"\n', "reference by digest"),
    ],
)
def test_a_damaged_image_lock_is_one_sentence(tmp_path: Path, text: str, problem: str) -> None:
    (tmp_path / IMAGE_LOCK).write_text(text)
    with pytest.raises(CapsuleError, match=problem):
        read_pin(tmp_path)
