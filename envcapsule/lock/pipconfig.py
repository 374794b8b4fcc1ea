"""The pip configuration envcapsule looks packages up with: the kernel's own, credentials included."""

from __future__ import annotations

import os

from envcapsule.facts import PipConfig


def lookup_config(reported: PipConfig) -> PipConfig:
    """The kernel's pip configuration with credentials, re-read here: the probe's report never holds them."""
    from envcapsule.probe import read_pip_config

    if not reported.config_files and not any(k.startswith("PIP_") for k in os.environ):
        return reported
    full = read_pip_config(redact=False, config_files=list(reported.config_files))
    return PipConfig(
        index_url=full["index_url"],
        extra_index_urls=tuple(full["extra_index_urls"]),
        find_links=tuple(full["find_links"]),
        no_index=bool(full["no_index"]),
        cert=full.get("cert"),
        trusted_hosts=tuple(full.get("trusted_hosts", ())),
        config_files=reported.config_files,
    )
