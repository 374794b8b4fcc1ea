"""The Kubernetes contract without a cluster: the profile `envcapsule share --jupyterhub` prints, as KubeSpawner runs it.

KubeSpawner itself turns the profile into the pod it would create; the Kubernetes schemas
(kubernetes-validate) accept the manifest; its container runs the image by digest as uid 1000
on port 8888 with jupyterhub-singleuser. Then the same image runs on the real Docker engine the
way the kubelet starts that container (the image's entrypoint, the pod's args, user, groups and
JUPYTERHUB_* environment), and jupyterhub-singleuser answers the hub's health check.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import secrets
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from tests.cli.shell import envcapsule, ok
from tests.support import BASE_IMAGE, require

KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
- name: none
  cluster: {server: "https://127.0.0.1:9"}
contexts:
- name: none
  context: {cluster: none, user: none, namespace: jhub}
current-context: none
users:
- name: none
  user: {token: never-sent}
"""
USER = "octo"
# What the kubelet does with a container spec, for the fields KubeSpawner sets for this profile; anything else fails.
TRANSLATED = {
    "args",
    "env",
    "image",
    "imagePullPolicy",
    "lifecycle",
    "name",
    "ports",
    "resources",
    "securityContext",
    "volumeMounts",
}


@pytest.fixture(scope="module")
def profile(
    tiny_notebook: Path, tiny_capsule: dict[str, Any], shared_cache: Path, registry: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """`envcapsule push` to the test registry, then `envcapsule share --jupyterhub -o FILE` as typed; the file's entry."""
    pushed = ok(
        envcapsule(
            "push", tiny_notebook, "--registry", f"{registry}/k8s", "--base-image", BASE_IMAGE, "--json", cache=shared_cache
        )
    ).json()
    # Written outside the notebook's folder: a file beside the notebook is one of its files (and drift).
    output = tmp_path_factory.mktemp("helm") / "tiny-profile.yaml"
    shared = ok(envcapsule("share", tiny_notebook, "--jupyterhub", "--registry", f"{registry}/k8s", "-o", output))
    assert shared.stdout == f"Profile written: {output} (image {pushed['ref']})\n"
    values = yaml.safe_load(output.read_text())
    [entry] = values["singleuser"]["profileList"]
    assert entry["kubespawner_override"]["image"] == pushed["ref"]
    return dict(entry)


def kubespawner_pod(entry: dict[str, Any], kubeconfig: Path) -> dict[str, Any]:
    """The pod manifest KubeSpawner makes when a user picks ``entry`` (a hub that is never contacted)."""
    require_module("kubespawner", "jupyterhub-kubespawner")
    from jupyterhub.objects import Server
    from kubernetes_asyncio.client import ApiClient
    from kubernetes_asyncio.config import kube_config
    from kubespawner import KubeSpawner

    async def build() -> dict[str, Any]:
        user = SimpleNamespace(name=USER, id=1, url=f"/user/{USER}/", escaped_name=USER)
        hub = SimpleNamespace(public_host="", url="http://hub:8081/hub/", base_url="/hub/", api_url="http://hub:8081/hub/api")
        spawner = KubeSpawner(user=user, hub=hub, profile_list=[entry], namespace="jhub", k8s_api_host="https://127.0.0.1:9")
        spawner.server = Server(base_url=f"/user/{USER}/")
        spawner.user_options = {"profile": entry["slug"]}
        spawner.api_token = "hub-issued-token"
        spawner.oauth_client_id = f"jupyterhub-user-{USER}"
        await spawner.load_user_options()
        pod = await spawner.get_pod_manifest()
        async with ApiClient() as client:
            return dict(client.sanitize_for_serialization(pod))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(kubeconfig))  # read from KUBECONFIG at import
        return asyncio.run(build())


def require_module(module: str, package: str) -> None:
    try:
        __import__(module)
    except ImportError:
        require(False, f"{package} is needed for the Kubernetes contract test (the test extra has it)")


@pytest.fixture(scope="module")
def pod(profile: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    kubeconfig = tmp_path_factory.mktemp("kube") / "config"
    kubeconfig.write_text(KUBECONFIG)
    return kubespawner_pod(profile, kubeconfig)


def test_kubespawner_makes_a_pod_the_kubernetes_schemas_accept(pod: dict[str, Any]) -> None:
    require_module("kubernetes_validate", "kubernetes-validate")
    import kubernetes_validate

    assert (pod["apiVersion"], pod["kind"]) == ("v1", "Pod")
    kubernetes_validate.validate(pod, kubernetes_validate.latest_version(), strict=True)
    broken = json.loads(json.dumps(pod))
    broken["spec"]["containers"][0]["securityContext"]["runAsUser"] = "jovyan"
    with pytest.raises(kubernetes_validate.ValidationError):  # the validation can fail: a user must be a number
        kubernetes_validate.validate(broken, kubernetes_validate.latest_version(), strict=True)


def test_the_container_runs_the_digest_as_jovyan_with_the_single_user_server(
    pod: dict[str, Any], profile: dict[str, Any]
) -> None:
    [container] = pod["spec"]["containers"]
    assert container["image"] == profile["kubespawner_override"]["image"]
    assert "@sha256:" in container["image"] and container["imagePullPolicy"] == "IfNotPresent"
    assert container["args"] == ["jupyterhub-singleuser"] and "command" not in container  # the image's entrypoint stays
    assert container["ports"] == [{"containerPort": 8888, "name": "notebook-port"}]
    assert container["securityContext"] == {"runAsUser": 1000, "runAsGroup": 1000, "allowPrivilegeEscalation": False}
    assert pod["spec"]["securityContext"] == {"fsGroup": 1000}
    assert "limits" not in container["resources"] or "nvidia.com/gpu" not in container["resources"]["limits"]  # not CUDA
    env = {item["name"]: item["value"] for item in container["env"]}
    assert env["JUPYTERHUB_DEFAULT_URL"] == "/lab/tree/tiny.ipynb"
    assert env["JUPYTERHUB_SERVICE_PREFIX"] == f"/user/{USER}/"
    assert env["JUPYTERHUB_SERVICE_URL"] == f"http://0.0.0.0:8888/user/{USER}/"


def test_the_image_answers_the_hub_health_check_as_the_kubelet_starts_it(
    pod: dict[str, Any], registry: str, docker_client: Any
) -> None:
    [container_spec] = pod["spec"]["containers"]
    assert set(container_spec) <= TRANSLATED and not container_spec["volumeMounts"] and not container_spec["lifecycle"]
    repository, digest = container_spec["image"].split("@")
    docker_client.images.pull(repository, tag=digest)  # IfNotPresent on a fresh node: the registry serves the digest
    security = container_spec["securityContext"]
    network = docker_client.networks.create(f"envcapsule-k8s-{secrets.token_hex(4)}")
    started: list[Any] = []
    try:
        started.append(fake_hub(docker_client, container_spec["image"], network))
        container = docker_client.containers.run(
            container_spec["image"],
            container_spec["args"],  # the pod's args after the image's own entrypoint, as the kubelet passes them
            user=f"{security['runAsUser']}:{security['runAsGroup']}",
            group_add=[str(pod["spec"]["securityContext"]["fsGroup"])],
            environment={item["name"]: item["value"] for item in container_spec["env"]},
            security_opt=["no-new-privileges"] if security["allowPrivilegeEscalation"] is False else [],
            ports={f"{container_spec['ports'][0]['containerPort']}/tcp": ("127.0.0.1", None)},
            network=network.name,
            detach=True,
        )
        started.append(container)
        port = published(container)
        status, body, _ = wait_for_answer(container, port, f"/user/{USER}/api")
        assert status == 200 and "version" in json.loads(body)
        status, _, location = get(port, f"/user/{USER}/lab/tree/tiny.ipynb")
        assert status == 302 and "/hub/api/oauth2/authorize" in location  # users are sent to the hub to log in
        assert container.exec_run(["id", "-u"]).output.decode().strip() == "1000"
        assert b"jupyterhub-singleuser" in container.exec_run(["cat", "/proc/1/cmdline"]).output
    finally:
        for item in reversed(started):
            item.remove(force=True, v=True)
        network.remove()


# The hub's API as far as a starting jupyterhub-singleuser asks it: its version (the single-user server checks it).
FAKE_HUB = """\
import http.server, json, jupyterhub
class Hub(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"version": jupyterhub.__version__}).encode()
        self.send_response(200 if self.path.rstrip("/") == "/hub/api" else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)
    do_POST = do_GET
http.server.ThreadingHTTPServer(("0.0.0.0", 8081), Hub).serve_forever()
"""


def fake_hub(docker_client: Any, image: str, network: Any) -> Any:
    """The hub's service name and port on the pod network (`hub:8081`), served from the image's own server environment."""
    hub = docker_client.containers.create(image, ["/opt/envcapsule/server/bin/python", "-c", FAKE_HUB], detach=True)
    network.connect(hub, aliases=["hub"])
    hub.start()
    return hub


def published(container: Any) -> int:
    container.reload()
    return int(container.attrs["NetworkSettings"]["Ports"]["8888/tcp"][0]["HostPort"])


def get(port: int, path: str) -> tuple[int, str, str]:
    """One GET on 127.0.0.1 without following redirects: (status, body, Location)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode(), response.getheader("Location") or ""
    finally:
        connection.close()


def wait_for_answer(container: Any, port: int, path: str, limit: float = 120) -> tuple[int, str, str]:
    """Poll until the server answers, as the hub's health check does; a container that exits fails with its log."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            return get(port, path)
        except OSError:
            container.reload()
            assert container.status in ("created", "running"), container.logs().decode()[-3000:]
            time.sleep(0.5)
    raise AssertionError(f"jupyterhub-singleuser did not answer in {limit} s:\n{container.logs().decode()[-3000:]}")
