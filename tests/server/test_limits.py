"""A real Jupyter server bounds what one request can make envcapsule do: body size, path length, odd input.

Every refusal is JSON with one sentence and a 4xx status, and the core is never called.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import pytest

from envcapsule.server.base import MAX_BODY_BYTES
from envcapsule.server.paths import MAX_PATH_CHARS, PathRefused, confined_notebook
from tests.server.conftest import Api, payload
from tests.server.fake_core import FakeCore


async def raw_post(port: int, target: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, dict[str, Any]]:
    """POST over a plain socket, sending ``headers`` as given (a Content-Length may promise more than is sent)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    writer.write(f"POST {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}\r\n".encode() + body)
    await writer.drain()
    try:
        # A hang detector, not a timing: a server that waited for the promised body would never answer.
        answer = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 60)
        status = int(answer.split(b" ", 2)[1])
        length = int(next(line.split(b":", 1)[1] for line in answer.split(b"\r\n") if line.lower().startswith(b"content-length")))
        body_read = await asyncio.wait_for(reader.readexactly(length), 60)
    finally:
        writer.close()
    return status, json.loads(body_read)


async def test_a_body_larger_than_the_limit_is_refused_from_its_length_before_it_is_read(
    api: Api, fake_core: FakeCore, notebook: str, jp_http_port: int, jp_base_url: str, jp_auth_header: dict[str, str]
) -> None:  # ``api`` starts the server listening
    headers = {**jp_auth_header, "Content-Type": "application/json", "Content-Length": str(10 * 1024 * 1024)}

    status, answer = await raw_post(jp_http_port, f"{jp_base_url}envcapsule/api/snapshot", headers, b'{"path": "')

    assert status == 413
    assert answer == {"error": "The request body is larger than 64 KB; send only the fields the API describes."}
    assert fake_core.calls == []


async def test_a_body_just_over_the_limit_is_refused_and_one_within_it_is_read(
    api: Api, fake_core: FakeCore, notebook: str
) -> None:
    padding = "x" * MAX_BODY_BYTES

    over = await api("snapshot", "POST", {"path": notebook, "padding": padding})
    within = await api("stop", "POST", {"container": "c0ffee", "padding": padding[: MAX_BODY_BYTES // 2]})

    assert over.code == 413 and "larger than 64 KB" in payload(over)["error"]
    assert (within.code, payload(within)) == (200, {"stopped": ["c0ffee"]})
    assert [call for call, _ in fake_core.calls] == ["stop"]


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("work/" + "a/" * 30_000 + "analysis.ipynb", "longer than 4096 characters"),  # 60 KB: within the body limit
        ("work/" + "n" * 300 + ".ipynb", "longer than 255 bytes"),
        ("work/" + "é" * 200 + ".ipynb", "longer than 255 bytes"),  # 200 characters, 400 bytes
    ],
)
async def test_long_paths_and_names_are_a_sentence_not_a_500(
    api: Api, fake_core: FakeCore, notebook: str, path: str, words: str
) -> None:
    posted = await api("snapshot", "POST", {"path": path})
    asked = await api("status", params={"path": path[:8000]})

    assert posted.code == 400 and words in payload(posted)["error"]
    assert asked.code == 400 and payload(asked)["error"].startswith(("The notebook path", "A name in the notebook path"))
    assert fake_core.calls == []


async def test_invalid_utf8_in_the_body_or_the_query_is_a_sentence(api: Api, fake_core: FakeCore, notebook: str) -> None:
    in_body = await api("snapshot", "POST", raw=b'{"path": "work/\xff.ipynb"}')
    in_query = await api("status", params={"path": b"work/\xff.ipynb"})

    assert (in_body.code, payload(in_body)["error"]) == (
        400,
        'The request body is not valid UTF-8; send a JSON object such as {"path": "analysis.ipynb"}.',
    )
    assert (in_query.code, payload(in_query)["error"]) == (
        400,
        "The path argument is not valid UTF-8; percent-encode the notebook path as UTF-8.",
    )
    assert fake_core.calls == []


@pytest.mark.parametrize("base_image", ["python:3.12\nRUN id", "python:3.12\r", "x" * 2000, "python\x00"])
async def test_a_base_image_with_a_line_break_or_too_long_is_a_sentence(
    api: Api, fake_core: FakeCore, notebook: str, base_image: str
) -> None:
    response = await api("build", "POST", {"path": notebook, "base_image": base_image})

    assert response.code == 400
    assert payload(response) == {
        "error": "The field 'base_image' must be a non-empty string of at most 1024 characters, on one line."
    }
    assert fake_core.calls == []


async def test_deeply_nested_json_is_a_sentence(api: Api, fake_core: FakeCore) -> None:
    response = await api("snapshot", "POST", raw="[" * 30_000 + "]" * 30_000)

    assert response.code == 400 and "not valid JSON" in payload(response)["error"]


async def test_a_long_job_id_is_a_short_404(api: Api, fake_core: FakeCore) -> None:
    response = await api("jobs/" + "j" * 50_000)

    assert response.code == 404
    assert len(payload(response)["error"]) < 200


class UntouchableRoot(os.PathLike[str]):
    """A root folder that fails the test if anything looks at it."""

    def __fspath__(self) -> str:
        raise AssertionError("the file system was asked about a path that its length refuses")


@pytest.mark.parametrize("relative", ["a/" * (MAX_PATH_CHARS // 2) + "x.ipynb", "work/" + "n" * 256 + ".ipynb"])
def test_a_path_over_the_limits_is_refused_before_the_file_system_is_asked(relative: str) -> None:
    with pytest.raises(PathRefused) as refused:
        confined_notebook(UntouchableRoot(), relative)

    assert refused.value.status == 400
