"""The integration suite's helpers live in tests.support and its session fixtures in tests/conftest.py."""

from tests.support import BASE_IMAGE, PACKAGES, debian_venv, http_status, installed, local_project, run

__all__ = ["BASE_IMAGE", "PACKAGES", "debian_venv", "http_status", "installed", "local_project", "run"]
