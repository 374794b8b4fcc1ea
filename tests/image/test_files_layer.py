"""The notebook's files get a layer of their own, after the environments and before the notebook."""

from __future__ import annotations

import dataclasses

from envcapsule.image.dockerfile import ImageSpec, render_dockerfile

SPEC = ImageSpec(
    base_image="python:3.11.2-slim-bookworm",
    capsule_hash="c" * 64,
    notebook="analysis.ipynb",
    capsule_dir="analysis.capsule",
    python_version="3.11.2",
    created="2026-11-21T00:00:00Z",
)


def test_the_files_layer_sits_between_the_environments_and_the_notebook() -> None:
    text = render_dockerfile(dataclasses.replace(SPEC, notebook_files=True))
    files = text.index("COPY --chown=1000:1000 files/ /home/jovyan/")
    assert text.rindex("COPY --from=kernel-rest") < files < text.index("COPY --chown=1000:1000 home/ /home/jovyan/")
    assert files < text.index("LABEL ")


def test_no_files_no_layer() -> None:
    assert "files/" not in render_dockerfile(SPEC)
    conda = render_dockerfile(dataclasses.replace(SPEC, conda=True, notebook_files=True))
    assert conda.index("COPY --chown=1000:1000 files/") < conda.index("COPY --chown=1000:1000 home/")
