# JupyterHub with DockerSpawner, serving an envcapsule image: one container per user.
#
# Push the capsule's image once (`envcapsule push analysis.ipynb --registry REGISTRY/NAMESPACE --json`)
# and set ENVCAPSULE_IMAGE to the `ref` it prints, REGISTRY/NAMESPACE/NAME@sha256:..., so every user
# gets exactly that image. Run with: ENVCAPSULE_IMAGE=... jupyterhub -f jupyterhub_config.py
import os

c = get_config()  # noqa: F821 - JupyterHub provides get_config() to its config files

# A placeholder in the right form; the real ref comes from `envcapsule push`.
ENVCAPSULE_IMAGE = os.environ.get("ENVCAPSULE_IMAGE", "registry.example.org/team/analysis@sha256:" + "0" * 64)
NOTEBOOK = os.environ.get("ENVCAPSULE_NOTEBOOK", "analysis.ipynb")

c.JupyterHub.spawner_class = "dockerspawner.DockerSpawner"
c.DockerSpawner.image = ENVCAPSULE_IMAGE
c.DockerSpawner.pull_policy = "ifnotpresent"  # a digest never changes, so one pull per host is enough

# envcapsule images start JupyterLab on their own; under a hub they must start the single-user server
# instead, which authenticates users against the hub. It is in the image's server environment.
c.DockerSpawner.cmd = ["jupyterhub-singleuser"]
c.DockerSpawner.notebook_dir = "/home/jovyan"
c.DockerSpawner.default_url = f"/lab/tree/{NOTEBOOK}"

# The image runs as jovyan (uid 1000); keep the launch defaults of `envcapsule launch`.
c.DockerSpawner.extra_host_config = {"cap_drop": ["ALL"], "security_opt": ["no-new-privileges"], "init": True}

# Each user's own work survives restarts in ~/work; the capsule's notebook stays as the image has it.
c.DockerSpawner.volumes = {"jupyterhub-user-{username}": "/home/jovyan/work"}
c.DockerSpawner.remove = True

# The hub and the user containers share a Docker network (create it with `docker network create jupyterhub`).
c.DockerSpawner.network_name = "jupyterhub"
c.JupyterHub.hub_ip = "0.0.0.0"
