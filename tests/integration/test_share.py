"""Sharing on a real engine: binder/Dockerfile built from the repository root and started as BinderHub starts it,
push to a real registry on 127.0.0.1 and launch by digest, and export -> remove -> import -> launch.

The binder build runs without the package index: a folder of exactly the locked files
(taken from envcapsule's wheel cache) is served on 127.0.0.1 and handed to pip through the
Dockerfile's PIP_FIND_LINKS / PIP_NO_INDEX build arguments; pip still checks every hash
in binder/requirements.txt, so the image holds the capsule's lock exactly as on Binder.
"""

from __future__ import annotations

import functools
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from envcapsule.capsule import read_capsule
from tests.conftest import require
from tests.integration.conftest import BASE_IMAGE, http_status, installed, run
from tests.support import REGISTRY_BINARY, free_port, wait_for

pytestmark = pytest.mark.integration
ROOT = Path(__file__).parents[2]
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.org",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.org",
}


def envcapsule(*args: str | Path, cache: Path) -> dict[str, Any]:
    env = {**os.environ, "ENVCAPSULE_CACHE_DIR": str(cache)}
    return json.loads(run(sys.executable, "-m", "envcapsule", *args, "--json", env=env))


def git(root: Path, *args: str) -> str:
    return run("git", "-C", root, *args, env={**os.environ, **GIT_ENV}).strip()


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("shared") / "project"
    (root / "notebooks").mkdir(parents=True)
    shutil.copy(ROOT / "notebooks" / "data-analysis.ipynb", root / "notebooks" / "sharing.ipynb")
    git(root, "init", "--quiet", "--initial-branch=main")
    git(root, "remote", "add", "origin", "git@github.com:octo/sharing.git")
    return root


@pytest.fixture(scope="module")
def built_ids(docker_client: Any) -> Iterator[set[str]]:
    """Every id the capsule's image had in this module (rebuilt after a test removed it): all removed at the end."""
    ids: set[str] = set()
    yield ids
    for image_id in ids:
        remove_image(docker_client, image_id)


@pytest.fixture(scope="module")
def built(repository: Path, kernel_env: Path, shared_cache: Path, built_ids: set[str]) -> dict[str, Any]:
    envcapsule("snapshot", repository / "notebooks" / "sharing.ipynb", "--python", kernel_env, cache=shared_cache)
    return ensure_built(repository, shared_cache, built_ids)


def ensure_built(repository: Path, shared_cache: Path, built_ids: set[str]) -> dict[str, Any]:
    """The capsule's image, built again if an earlier test removed it (reused at once otherwise)."""
    result = envcapsule("build", repository / "notebooks" / "sharing.ipynb", "--base-image", BASE_IMAGE, cache=shared_cache)
    built_ids.add(result["image_id"])
    return result


def remove_image(client: Any, image_id: str) -> None:
    import docker.errors

    try:
        client.images.remove(image_id, force=True)
    except docker.errors.ImageNotFound:
        pass


# --- binder/ ---------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def locked_files(
    repository: Path, built: dict[str, Any], shared_cache: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A find-links folder on 127.0.0.1 with exactly the files binder/ pins (vendored wheels come from the capsule)."""
    from envcapsule.share import export_binder

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ENVCAPSULE_CACHE_DIR", str(shared_cache))
        export_binder(repository / "notebooks" / "sharing.ipynb")
    folder = tmp_path_factory.mktemp("find-links")
    for name in ("requirements.txt", "server-requirements.txt"):
        for sha in re.findall(r"--hash=sha256:([0-9a-f]{64})", (repository / "binder" / name).read_text()):
            for cached in (shared_cache / "wheels" / sha[:2] / sha).glob("*"):
                target = folder / cached.name
                if not target.exists():
                    os.link(cached, target)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def binder_image(repository: Path, locked_files: str, docker_client: Any) -> Iterator[str]:
    """binder/Dockerfile, committed and built with the repository root as context, the offline base standing in."""
    git(repository, "add", "--all")
    git(repository, "commit", "--quiet", "-m", "Binder")
    tag = f"envcapsule-test/binder:{secrets.token_hex(4)}"
    created: list[str] = []
    stream = docker_client.api.build(
        path=str(repository),
        dockerfile="binder/Dockerfile",
        tag=tag,
        buildargs={"BASE_IMAGE": BASE_IMAGE, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": locked_files},
        network_mode="host",  # the find-links folder is on the host's loopback
        rm=True,
        forcerm=True,
        pull=False,
        decode=True,
    )
    log: list[str] = []
    for chunk in stream:
        assert "error" not in chunk, chunk["error"] + "\n" + "".join(log[-30:])
        line = str(chunk.get("stream", ""))
        log.append(line)
        created += re.findall(r"---> ([0-9a-f]{12})\b", line)
    image_id = docker_client.images.get(tag).id
    yield image_id
    remove_image(docker_client, image_id)
    for stage in reversed(created):  # the builder stages' untagged images, newest first; shared ones stay
        try:
            if not docker_client.images.get(stage).tags:
                docker_client.images.remove(stage)
        except Exception:  # noqa: BLE001 - already gone with its child, or still a parent of another image
            pass


def test_binder_image_serves_jupyter_as_binderhub_starts_it(
    binder_image: str, repository: Path, kernel_env: Path, docker_client: Any
) -> None:
    token = secrets.token_hex(16)
    command = [
        "jupyter",
        "notebook",
        "--ip=0.0.0.0",
        "--port=8888",
        f"--NotebookApp.token={token}",
        "--NotebookApp.base_url=/user/octo/",
    ]
    container = docker_client.containers.run(binder_image, command, detach=True, ports={"8888/tcp": ("127.0.0.1", None)})
    try:
        container.reload()
        port = container.attrs["NetworkSettings"]["Ports"]["8888/tcp"][0]["HostPort"]
        base = f"http://127.0.0.1:{port}/user/octo"
        wait_for(f"{base}/api/status?token={token}")
        assert http_status(f"{base}/api/status") == 403
        assert http_status(f"{base}/api/contents/notebooks/sharing.ipynb?token={token}") == 200  # the repository in $HOME
        assert container.exec_run(["id", "-u"]).output.decode().strip() == "1000"
        assert container.exec_run(["sh", "-c", "echo $HOME"]).output.decode().strip() == "/home/jovyan"
        listing = container.exec_run(
            ["pip", "--python", "/opt/envcapsule/kernel/bin/python", "list", "--format=json", "--disable-pip-version-check"]
        ).output.decode()
        inside = {item["name"].lower().replace("_", "-"): item["version"] for item in json.loads(listing)}
        assert inside == installed(kernel_env)
        assert container.exec_run(["jupyterhub-singleuser", "--version"]).exit_code == 0
    finally:
        container.remove(force=True, v=True)


def test_the_link_is_pinned_to_the_commit_that_holds_binder(repository: Path, binder_image: str, shared_cache: Path) -> None:
    from envcapsule.share import share_binder

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ENVCAPSULE_CACHE_DIR", str(shared_cache))
        result = share_binder(repository / "notebooks" / "sharing.ipynb")
    commit = git(repository, "rev-parse", "HEAD")
    assert (
        result.to_json()["link"] == f"https://mybinder.org/v2/gh/octo/sharing/{commit}?urlpath=lab/tree/notebooks/sharing.ipynb"
    )
    assert git(repository, "status", "--porcelain") == ""  # exporting again changed nothing: the committed folder is current
    assert result.warnings == [
        f"Commit {commit[:12]} is not on origin (as of the last fetch), so the link will not resolve yet; push it with `git push origin HEAD`."
    ]


# --- registry ----------------------------------------------------------------------------------------------------------


def test_a_registry_that_cannot_be_reached_is_one_sentence(
    built: dict[str, Any], built_ids: set[str], repository: Path, shared_cache: Path, docker_client: Any
) -> None:
    from envcapsule.share import RegistryError, push

    ensure_built(repository, shared_cache, built_ids)
    with pytest.raises(RegistryError, match=r"^The registry 127\.0\.0\.1:\d+ cannot be reached \(.*\); check its address"):
        push(repository / "notebooks" / "sharing.capsule", f"127.0.0.1:{free_port()}/team", docker_client)


# --- archive -----------------------------------------------------------------------------------------------------------


def test_export_remove_import_launch(
    built: dict[str, Any], built_ids: set[str], repository: Path, shared_cache: Path, docker_client: Any, tmp_path: Path
) -> None:
    from envcapsule.image.build import build
    from envcapsule.run import launch, stop
    from envcapsule.share import export_archive, import_archive

    image = ensure_built(repository, shared_cache, built_ids)
    archive = tmp_path / "sharing.tar"
    export_archive(repository / "notebooks" / "sharing.ipynb", archive, docker_client)
    remove_image(docker_client, image["image_id"])

    airgapped = tmp_path / "airgapped"
    airgapped.mkdir()
    result = import_archive(archive, docker_client, destination=airgapped)
    assert result.image_id == image["image_id"] and result.image == image["image"]
    assert result.launch_command == f"envcapsule launch {airgapped / 'sharing.ipynb'}"
    assert read_capsule(result.capsule).capsule_hash == image["capsule_hash"]
    assert build(result.capsule, client=docker_client).reused  # the launch command finds the loaded image, no build
    launched = launch(docker_client, result.image)
    try:
        assert http_status(f"http://127.0.0.1:{launched.port}/api/status?token={launched.token}") == 200
    finally:
        stop(docker_client, [launched.container])


def test_push_then_launch_by_digest_without_the_local_image(
    built: dict[str, Any], built_ids: set[str], repository: Path, registry: str, shared_cache: Path, docker_client: Any
) -> None:
    import docker.errors

    from envcapsule.run import stop
    from envcapsule.share import launch_ref, push

    image = ensure_built(repository, shared_cache, built_ids)
    capsule_dir = repository / "notebooks" / "sharing.capsule"
    before = read_capsule(capsule_dir).capsule_hash
    ref = push(capsule_dir, f"{registry}/team", docker_client)
    assert re.fullmatch(rf"{re.escape(registry)}/team/sharing@sha256:[0-9a-f]{{64}}", ref)
    assert json.loads((capsule_dir / "push.json").read_text())["pushes"][0]["ref"] == ref
    assert read_capsule(capsule_dir).capsule_hash == before

    remove_image(docker_client, image["image_id"])
    with pytest.raises(docker.errors.ImageNotFound):
        docker_client.images.get(ref)
    launched = launch_ref(docker_client, ref)
    try:
        assert http_status(f"http://127.0.0.1:{launched.port}/api/status?token={launched.token}") == 200
        assert docker_client.images.get(ref).id == image["image_id"]  # the same image, by content
    finally:
        stop(docker_client, [launched.container])


# --- what a colleague sent ---------------------------------------------------------------------------------------------


def test_an_archive_whose_image_would_move_another_tag_is_refused(
    built: dict[str, Any], built_ids: set[str], repository: Path, shared_cache: Path, docker_client: Any, tmp_path: Path
) -> None:
    import hashlib
    import io
    import tarfile

    from envcapsule.share import ArchiveError, export_archive, import_archive

    ensure_built(repository, shared_cache, built_ids)
    archive = tmp_path / "sharing.tar"
    export_archive(repository / "notebooks" / "sharing.ipynb", archive, docker_client)
    victim = f"sec-victim-{secrets.token_hex(4)}:latest"
    docker_client.images.get(BASE_IMAGE).tag(*victim.split(":"))
    try:
        hostile = tmp_path / "hostile.tar"
        with tarfile.open(archive) as source, tarfile.open(hostile, "w") as copy:
            image_tar = source.extractfile("image.tar").read()  # type: ignore[union-attr]
            with tarfile.open(fileobj=io.BytesIO(image_tar)) as saved:
                members = [(m, saved.extractfile(m).read() if m.isfile() else None) for m in saved.getmembers()]  # type: ignore[union-attr]
            rewritten = io.BytesIO()
            with tarfile.open(fileobj=rewritten, mode="w") as out:
                for member, data in members:
                    if member.name == "manifest.json":
                        entries = json.loads(data)  # type: ignore[arg-type]
                        entries[0]["RepoTags"].append(victim)
                        data = json.dumps(entries).encode()
                        member.size = len(data)
                    out.addfile(member, io.BytesIO(data) if data is not None else None)
            image_tar = rewritten.getvalue()
            manifest = json.loads(source.extractfile("envcapsule-archive.json").read())  # type: ignore[union-attr]
            for entry in manifest["files"]:
                if entry["path"] == "image.tar":
                    entry.update(size=len(image_tar), sha256=hashlib.sha256(image_tar).hexdigest())
            for member in source.getmembers():
                data = source.extractfile(member).read()  # type: ignore[union-attr]
                data = {"image.tar": image_tar, "envcapsule-archive.json": json.dumps(manifest).encode()}.get(member.name, data)
                member.size = len(data)
                copy.addfile(member, io.BytesIO(data))
        destination = tmp_path / "colleague"
        destination.mkdir()

        with pytest.raises(ArchiveError, match=rf"would also tag {re.escape(victim)}\), so nothing was loaded"):
            import_archive(hostile, docker_client, destination=destination)

        assert docker_client.images.get(victim).id == docker_client.images.get(BASE_IMAGE).id
        assert list(destination.iterdir()) == []
    finally:
        docker_client.images.remove(victim)


@pytest.fixture(scope="module")
def locked_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A registry that wants a login (htpasswd, with no user this engine has credentials for)."""
    require(REGISTRY_BINARY.exists(), "Debian's docker-registry package (/usr/bin/docker-registry) is needed for the push test")
    folder = tmp_path_factory.mktemp("locked-registry")
    (folder / "htpasswd").write_text("")
    port = free_port()
    (folder / "config.yml").write_text(
        "version: 0.1\n"
        "log:\n  level: warn\n"
        f"storage:\n  filesystem:\n    rootdirectory: {folder / 'data'}\n"
        f"auth:\n  htpasswd:\n    realm: envcapsule-test\n    path: {folder / 'htpasswd'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    with (folder / "registry.log").open("w") as log:
        process = subprocess.Popen(
            [str(REGISTRY_BINARY), "serve", str(folder / "config.yml")], stdout=log, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 30
        while http_status_or_none(f"http://127.0.0.1:{port}/v2/") != 401:
            assert time.monotonic() < deadline and process.poll() is None, (folder / "registry.log").read_text()
            time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def http_status_or_none(url: str) -> int | None:
    try:
        return http_status(url)
    except OSError:
        return None


def test_a_push_without_credentials_names_docker_login_and_leaves_no_tag(
    built: dict[str, Any], built_ids: set[str], repository: Path, locked_registry: str, shared_cache: Path, docker_client: Any
) -> None:
    from envcapsule.share import RegistryError, push

    image = ensure_built(repository, shared_cache, built_ids)
    capsule_dir = repository / "notebooks" / "sharing.capsule"
    (capsule_dir / "push.json").unlink(missing_ok=True)

    with pytest.raises(RegistryError) as raised:
        push(capsule_dir, f"{locked_registry}/team", docker_client)

    message = str(raised.value)
    assert f"log in with `docker login {locked_registry}`" in message and "\n" not in message, message
    assert not any(tag.startswith(locked_registry) for tag in docker_client.images.get(image["image_id"]).tags)
    assert not (capsule_dir / "push.json").exists()


def test_snapshotting_again_keeps_the_build_and_push_records(
    built: dict[str, Any],
    built_ids: set[str],
    repository: Path,
    registry: str,
    kernel_env: Path,
    shared_cache: Path,
    docker_client: Any,
) -> None:
    from envcapsule.share import push

    ensure_built(repository, shared_cache, built_ids)
    capsule_dir = repository / "notebooks" / "sharing.capsule"
    push(capsule_dir, f"{registry}/records", docker_client)
    kept = {name: (capsule_dir / name).read_bytes() for name in ("build.json", "push.json", "Dockerfile")}

    again = envcapsule("snapshot", repository / "notebooks" / "sharing.ipynb", "--python", kernel_env, cache=shared_cache)

    assert again["capsule_hash"] == built["capsule_hash"]
    assert {name: (capsule_dir / name).read_bytes() for name in kept} == kept
    from envcapsule.atomic import current_umask

    assert (capsule_dir / "build.json").stat().st_mode & 0o777 == 0o666 & ~current_umask()  # the umask's mode, not mkstemp's
