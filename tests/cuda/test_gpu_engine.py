"""GPU requests against the real Docker engine of a machine without GPUs: Docker's own refusal, as envcapsule says it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from envcapsule.contract import GPU_TRIAL_LABEL, MANAGED_LABEL
from envcapsule.cuda import NO_GPU_ENGINE, GpuError, gpu_trial, registered_gpu_support
from envcapsule.run import launch
from tests.conftest import require
from tests.integration.conftest import BASE_IMAGE


@pytest.fixture(scope="module")
def gpu_less_engine() -> Iterator[Any]:
    """The real engine, when it has the test image and no way to give GPUs that this machine can see."""
    import docker.errors

    try:
        from envcapsule.engine import connect

        client = connect(timeout=30)
    except Exception as error:  # noqa: BLE001 - any failure means no engine for these tests
        require(False, f"a running Docker engine is needed ({error}); run scripts/docker-setup")
        raise
    try:
        try:
            client.images.get(BASE_IMAGE)
        except docker.errors.ImageNotFound:
            require(False, f"the offline base image {BASE_IMAGE} is needed; run scripts/docker-setup")
        require(
            registered_gpu_support(client) is None and not shutil.which("nvidia-container-runtime-hook"),
            "these tests need an engine that cannot give containers GPUs; this one may (a runtime, CDI devices or the hook)",
        )
        yield client
    finally:
        client.close()


@pytest.fixture
def created(gpu_less_engine: Any, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every container created through the SDK during the test, as the engine returned it."""
    from docker.models.containers import ContainerCollection

    seen: list[Any] = []
    create = ContainerCollection.create

    def recording_create(self: ContainerCollection, *args: Any, **kwargs: Any) -> Any:
        container = create(self, *args, **kwargs)
        seen.append(container)
        return container

    monkeypatch.setattr(ContainerCollection, "create", recording_create)
    return seen


def remaining(client: Any, container: Any, label: str) -> list[Any]:
    return list(client.containers.list(all=True, filters={"id": container.id, "label": f"{label}=true"}))


def test_a_gpu_launch_is_refused_by_docker_in_one_sentence_and_leaves_nothing(
    gpu_less_engine: Any, created: list[Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))

    with pytest.raises(GpuError) as raised:
        launch(gpu_less_engine, BASE_IMAGE, gpus=["all"], timeout=10)

    assert str(raised.value) == NO_GPU_ENGINE.sentence()
    assert "`--gpus none`" in str(raised.value)
    assert 'could not select device driver "" with capabilities: [[gpu]]' in str(raised.value.__cause__)
    [container] = created
    assert container.labels[MANAGED_LABEL] == "true"
    assert remaining(gpu_less_engine, container, MANAGED_LABEL) == []


def test_doctors_gpu_trial_reports_the_refusal_and_leaves_nothing(gpu_less_engine: Any, created: list[Any]) -> None:
    check = gpu_trial(gpu_less_engine, BASE_IMAGE)

    assert not check.ok
    assert check.sentence() == NO_GPU_ENGINE.sentence()
    assert "`--gpus none`" in check.sentence()
    [container] = created
    assert container.labels[GPU_TRIAL_LABEL] == "true"
    assert remaining(gpu_less_engine, container, GPU_TRIAL_LABEL) == []
