"""Which wheel goes into which kernel layer: the very large alone, stable first, so a small change never moves them."""

from __future__ import annotations

from envcapsule.image.context import kernel_layers
from envcapsule.image.files import MAX_OWN_LAYERS, InstallPlan, LockedFile

MB = 1024 * 1024


def wheel(name: str, megabytes: float) -> LockedFile:
    return LockedFile(name, "1.0", f"{name.replace('-', '_')}-1.0-py3-none-any.whl", "a" * 64, int(megabytes * MB))


def layers(*files: LockedFile) -> dict[str, list[str]]:
    return {layer: [f.name for f in chosen] for layer, chosen in kernel_layers(InstallPlan(files, ())).items()}


def test_each_very_large_wheel_has_a_layer_of_its_own_cuda_libraries_first() -> None:
    plan = layers(wheel("torch", 900), wheel("six", 0.01), wheel("nvidia-cudnn-cu12", 600), wheel("numpy", 16))
    assert plan == {
        "kernel-wheel-nvidia-cudnn-cu12": ["nvidia-cudnn-cu12"],
        "kernel-wheel-torch": ["torch"],
        "kernel-large": ["numpy"],
        "kernel-rest": ["six"],
    }


def test_a_new_package_leaves_the_other_layers_as_they_were() -> None:
    before = layers(wheel("torch", 900), wheel("numpy", 16), wheel("six", 0.01))
    after = layers(wheel("torch", 900), wheel("numpy", 16), wheel("six", 0.01), wheel("tabulate", 0.05))
    changed = {layer for layer in after if after[layer] != before.get(layer)}
    assert changed == {"kernel-rest"}


def test_the_number_of_layers_has_a_bound() -> None:
    plan = layers(*(wheel(f"nvidia-lib{i:02d}", 150) for i in range(MAX_OWN_LAYERS + 3)))
    assert len(plan) == MAX_OWN_LAYERS + 1
    assert plan["kernel-large"] == [f"nvidia-lib{i:02d}" for i in range(MAX_OWN_LAYERS, MAX_OWN_LAYERS + 3)]


def test_a_small_environment_keeps_two_layers() -> None:
    assert list(layers(wheel("numpy", 16), wheel("six", 0.01))) == ["kernel-large", "kernel-rest"]


def test_the_capsules_own_wheels_go_last_so_editing_one_rebuilds_only_their_layer() -> None:
    own = LockedFile("mypkg", "0.1", "mypkg-0.1-py3-none-any.whl", "b" * 64, 6 * MB, vendored="vendor/mypkg-0.1-py3-none-any.whl")
    before = layers(wheel("numpy", 16), wheel("six", 0.01), own)
    assert list(before) == ["kernel-large", "kernel-rest", "kernel-local"]
    assert before["kernel-local"] == ["mypkg"]  # 6 MB, yet not in the large layer that numpy's install fills
    edited = LockedFile(own.name, "0.2", "mypkg-0.2-py3-none-any.whl", "c" * 64, own.size, vendored=own.vendored)
    old = kernel_layers(InstallPlan((wheel("numpy", 16), wheel("six", 0.01), own), ()))
    new = kernel_layers(InstallPlan((wheel("numpy", 16), wheel("six", 0.01), edited), ()))
    assert {layer for layer in new if new[layer] != old[layer]} == {"kernel-local"}
