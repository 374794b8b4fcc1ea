"""A throwaway image that honours envcapsule's image contract, with a stand-in for JupyterLab.

The stand-in `jupyter` is a python3 http.server that reads `--port` from its command line
and its token from the file `JUPYTER_TOKEN_FILE` names, like JupyterLab does, and answers
/api/status (and /lab/...) with 200 for the right token and 403 otherwise, so that the
launch and readiness code meet a real container without JupyterLab installed.
"""

from __future__ import annotations

import io
import secrets
import tarfile
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from docker import DockerClient

BASE_IMAGE = "envcapsule-test/python:3.11.2-bookworm"

SERVER = """#!/usr/bin/python3
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

options = dict(arg[2:].split("=", 1) for arg in sys.argv[2:] if arg.startswith("--") and "=" in arg)
with open(os.environ["JUPYTER_TOKEN_FILE"]) as token_file:
    token = token_file.read()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        url = urlsplit(self.path)
        given = self.headers.get("Authorization", "") == "token " + token or parse_qs(url.query).get("token") == [token]
        status = 200 if given else 403
        body = b'{"started": "now"}' if status == 200 else b'{"message": "Forbidden"}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        print(format % args, flush=True)


print("fake jupyter serving on port", options["port"], flush=True)
ThreadingHTTPServer((options["ip"], int(options["port"])), Handler).serve_forever()
"""

CRASHING = """#!/bin/sh
echo "[E 00:00:00 ServerApp] Exception while loading config file" >&2
echo "ModuleNotFoundError: No module named 'jupyterlab'" >&2
exit 1
"""

SILENT = """#!/bin/sh
exec sleep 600
"""


def build_image(client: DockerClient, jupyter_script: str, capsule_hash: str, notebook: str = "analysis.ipynb") -> str:
    """Build an image whose `jupyter` is ``jupyter_script``; return its id."""
    dockerfile = f"""FROM {BASE_IMAGE}
RUN useradd --uid 1000 --user-group --create-home --shell /bin/sh jovyan
COPY jupyter /usr/local/bin/jupyter
COPY {notebook} /home/jovyan/{notebook}
RUN chmod 0755 /usr/local/bin/jupyter && chown 1000:1000 /home/jovyan/{notebook}
ENV HOME=/home/jovyan
USER 1000
WORKDIR /home/jovyan
EXPOSE 8888
LABEL envcapsule.capsule-hash="{capsule_hash}" envcapsule.notebook="{notebook}" envcapsule.python="3.11.2"
"""
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as archive:
        for name, text, mode in (("Dockerfile", dockerfile, 0o644), ("jupyter", jupyter_script, 0o755), (notebook, "{}", 0o644)):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            archive.addfile(info, io.BytesIO(data))
    context.seek(0)
    image, _ = client.images.build(fileobj=context, custom_context=True, rm=True, forcerm=True, pull=False)
    return str(image.id)


def test_capsule_hash() -> str:
    return "test" + secrets.token_hex(8)


test_capsule_hash.__test__ = False  # type: ignore[attr-defined]
