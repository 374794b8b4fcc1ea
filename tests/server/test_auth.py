"""Every route refuses a request that carries no token: 403 with a sentence, and the core is never called."""

from __future__ import annotations

import pytest

from tests.server.conftest import Api, payload
from tests.server.fake_core import FakeCore

ROUTES = [
    ("GET", "status", None),
    ("POST", "snapshot", {"path": "work/analysis.ipynb"}),
    ("POST", "build", {"path": "work/analysis.ipynb"}),
    ("POST", "launch", {"path": "work/analysis.ipynb"}),
    ("POST", "stop", {"container": "c0ffee"}),
    ("POST", "verify", {"path": "work/analysis.ipynb"}),
    ("GET", "share", None),
    ("GET", "jobs/0123abcd", None),
    ("GET", "jobs/0123abcd/events", None),
    ("DELETE", "jobs/0123abcd", None),
]


@pytest.mark.parametrize(("method", "route", "body"), ROUTES, ids=[f"{m} {r}" for m, r, _ in ROUTES])
async def test_a_request_without_a_token_is_refused(
    api: Api, fake_core: FakeCore, notebook: str, method: str, route: str, body: object
) -> None:
    response = await api(
        route, method, body, headers={"Authorization": ""}, params={"path": notebook} if method == "GET" else None
    )
    assert response.code == 403
    assert payload(response)["error"]
    assert fake_core.calls == []


async def test_a_request_with_a_wrong_token_is_refused(api: Api, fake_core: FakeCore, notebook: str) -> None:
    response = await api("status", headers={"Authorization": "token not-the-token"}, params={"path": notebook})
    assert response.code == 403
    assert fake_core.calls == []


async def test_the_same_request_with_the_token_is_answered(api: Api, fake_core: FakeCore, notebook: str) -> None:
    response = await api("status", params={"path": notebook})
    assert response.code == 200
    assert [name for name, _ in fake_core.calls] == ["status"]
