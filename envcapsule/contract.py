"""The image contract (DESIGN §4) in one place: who runs, where things live, which port, which labels.

The images follow the convention Binder, JupyterHub and repo2docker images share. Every
module that renders, builds, runs or reads an image takes these names from here.
"""

from __future__ import annotations

# --- who runs, and where --------------------------------------------------------------------------
NB_USER = "jovyan"
NB_UID = 1000
NB_GID = 1000
JOVYAN = f"{NB_UID}:{NB_GID}"
HOME = f"/home/{NB_USER}"
WORK_DIR = f"{HOME}/work"  # where `launch --mount` binds the notebook's folder
PORT = 8888  # JupyterLab listens here inside the container

# --- the environments and the files envcapsule puts in -------------------------------------------
ROOT = "/opt/envcapsule"
SERVER_PREFIX = f"{ROOT}/server"  # JupyterLab, Notebook, jupyterhub-singleuser
KERNEL_PREFIX = f"{ROOT}/kernel"  # exactly the capsule's locked distributions
PYTHON_PREFIX = f"{ROOT}/python"  # a standalone CPython, for a base image without one
CONDA_INSTALLER_PREFIX = f"{ROOT}/conda-installer"
SERVER_PYTHON = f"{SERVER_PREFIX}/bin/python"
ENTRYPOINT = "/usr/local/bin/envcapsule-entrypoint"
TOKEN_DIR = "/tmp/envcapsule"  # the launched server's token file, readable by uid 1000 only
TOKEN_FILE = f"{TOKEN_DIR}/jupyter-token"
SBOM_PATH = f"{ROOT}/sbom.cdx.json"  # the capsule's sbom.cdx.json, as the image's last file

# --- labels: images are trusted by these, never by their tags ------------------------------------
CAPSULE_HASH_LABEL = "envcapsule.capsule-hash"
FILES_HASH_LABEL = "envcapsule.files-hash"
NOTEBOOK_LABEL = "envcapsule.notebook"
CAPSULE_DIR_LABEL = "envcapsule.capsule-dir"
PYTHON_LABEL = "envcapsule.python"  # the image's Python (the capture's is in the capsule)
PYTHON_BUILD_LABEL = "envcapsule.python-build"
BASE_IMAGE_LABEL = "envcapsule.base-image"
SYSTEM_PACKAGES_LABEL = "envcapsule.system-packages"  # what the system layer installed: name=version, space separated
PLATFORM_LABEL = "envcapsule.platform"  # linux/amd64 or linux/arm64: what the image runs on
CUDA_LABEL = "envcapsule.cuda"
MIN_DRIVER_LABEL = "envcapsule.min-driver"
CONDA_PLATFORM_LABEL = "envcapsule.conda-platform"
SBOM_SHA256_LABEL = "envcapsule.sbom-sha256"  # the sha256 of the file at SBOM_PATH
SERVER_LOCK_LABEL = "envcapsule.server-lock-sha256"
SERVER_PROFILE_LABEL = "envcapsule.server"  # full or minimal: which server environment the image carries

# --- labels on containers ----------------------------------------------------------------------------
MANAGED_LABEL = "envcapsule.managed"
PORT_LABEL = "envcapsule.port"  # the port Jupyter listens on inside the container
VERIFY_LABEL = "envcapsule.verify"
GPU_TRIAL_LABEL = "envcapsule.gpu-trial"
