"""The index client: page parsing, file:// indexes, find-links, credentials, cache, failures."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from envcapsule.lock import index as index_module
from envcapsule.lock.index import IndexClient, IndexFile, IndexLookupError, default_cache_dir
from envcapsule.lock.simple_api import (
    parse_html_page,
    parse_json_page,
    parse_page,
    split_credentials,
)
from tests.fakeindex import FakeIndex

PAGE = "https://example.org/simple/demo/"
INDEX = "https://example.org/simple"
DIGEST = "ab" * 32


@pytest.fixture
def fake() -> Iterator[FakeIndex]:
    with FakeIndex() as index:
        yield index


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Quick retries, and no proxy from the environment between the client and the fake."""
    monkeypatch.setattr(index_module, "_RETRY_BACKOFF", (0.01, 0.02))
    for variable in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(variable, raising=False)
        monkeypatch.delenv(variable.lower(), raising=False)


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def client_for(urls: list[str], cache_dir: Path, **options: object) -> IndexClient:
    return IndexClient(urls, cache_dir=cache_dir, **options)  # type: ignore[arg-type]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# -- parsing ---------------------------------------------------------------------------------


def test_json_page_gives_hashes_sizes_and_absolute_urls() -> None:
    page = """{"meta": {"api-version": "1.1"}, "name": "demo", "files": [
        {"filename": "demo-1.0-py3-none-any.whl", "url": "../../files/demo-1.0-py3-none-any.whl",
         "hashes": {"sha256": "UPPERCASE_DIGEST"}, "requires-python": ">=3.8", "size": 123,
         "upload-time": "2024-01-02T03:04:05.000000Z", "yanked": false},
        {"filename": "demo-0.9.tar.gz", "url": "https://files.example.org/demo-0.9.tar.gz#frag",
         "hashes": {}, "yanked": "broken build"}
    ]}""".replace("UPPERCASE_DIGEST", DIGEST.upper())

    files = parse_json_page(page, PAGE, INDEX)

    assert files == [
        IndexFile(
            filename="demo-1.0-py3-none-any.whl",
            url="https://example.org/files/demo-1.0-py3-none-any.whl",
            sha256=DIGEST,
            size=123,
            index=INDEX,
            requires_python=">=3.8",
            yanked=False,
            upload_time="2024-01-02T03:04:05.000000Z",
        ),
        IndexFile(
            filename="demo-0.9.tar.gz",
            url="https://files.example.org/demo-0.9.tar.gz",
            sha256=None,
            size=None,
            index=INDEX,
            requires_python=None,
            yanked=True,
            upload_time=None,
        ),
    ]


def test_html_page_resolves_hrefs_and_reads_data_attributes() -> None:
    page = f"""<!DOCTYPE html><html><body>
    <a href="../../files/demo-1.0-py3-none-any.whl#sha256={DIGEST}"
       data-requires-python="&gt;=3.8,&lt;4">demo-1.0-py3-none-any.whl</a><br/>
    <A HREF='https://u:tok@files.example.org/demo-1.1%2Blocal.tar.gz#md5=00&amp;sha256={DIGEST}'
       data-yanked="">demo-1.1+local.tar.gz</A>
    <a data-requires-python=">=3.9" href="demo-1.2.zip">raw &gt; inside quotes</a>
    <a name="no-href">nothing</a>
    </body></html>"""

    files = parse_html_page(page, PAGE, INDEX)

    assert [(f.filename, f.url, f.sha256, f.requires_python, f.yanked) for f in files] == [
        (
            "demo-1.0-py3-none-any.whl",
            "https://example.org/files/demo-1.0-py3-none-any.whl",
            DIGEST,
            ">=3.8,<4",
            False,
        ),
        (
            "demo-1.1+local.tar.gz",
            "https://u:tok@files.example.org/demo-1.1%2Blocal.tar.gz",  # IndexClient redacts it, remembering the real one
            DIGEST,
            None,
            True,
        ),
        ("demo-1.2.zip", "https://example.org/simple/demo/demo-1.2.zip", None, ">=3.9", False),
    ]
    assert all(f.index == INDEX and f.size is None for f in files)


def test_html_page_honours_base_href() -> None:
    page = '<html><head><base href="https://mirror.example.net/pkgs/"></head>'
    page += '<body><a href="demo-1.0.tar.gz">demo-1.0.tar.gz</a></body></html>'

    (file,) = parse_html_page(page, PAGE, INDEX)

    assert file.url == "https://mirror.example.net/pkgs/demo-1.0.tar.gz"


def test_a_broken_anchor_does_not_hide_the_next_one() -> None:
    page = '<a href="broken-1.0.tar.gz>broken</a>\n<a href="ok-1.0.tar.gz">ok</a>'

    files = parse_html_page(page, PAGE, INDEX)

    assert [f.filename for f in files] == ["ok-1.0.tar.gz"]


def test_content_type_chooses_the_parser() -> None:
    json_page = b'{"files": [{"filename": "a-1.tar.gz", "url": "a-1.tar.gz", "hashes": {}}]}'
    html_page = b'<a href="b-1.tar.gz">b-1.tar.gz</a>'

    as_json = parse_page(json_page, "application/vnd.pypi.simple.v1+json", PAGE, INDEX)
    as_html = parse_page(html_page, "text/html; charset=utf-8", PAGE, INDEX)

    assert [f.filename for f in as_json + as_html] == ["a-1.tar.gz", "b-1.tar.gz"]


def test_credentials_are_split_off_urls() -> None:
    url = "https://us%40er:p%3Ass@host.example:8443/simple"

    assert split_credentials(url) == ("https://host.example:8443/simple", ("us@er", "p:ss"))
    assert split_credentials("https://host.example/simple") == ("https://host.example/simple", None)


# -- remote indexes --------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["auto", "html", "json"])
def test_fake_index_files_are_found_as_json_or_html(mode: str, cache_dir: Path, fake: FakeIndex) -> None:
    fake.mode = mode  # type: ignore[assignment]
    wheel = fake.add_file("demo", "demo-1.0-py3-none-any.whl", requires_python=">=3.8")
    sdist = fake.add_file("demo", "demo-1.0.tar.gz", yanked="oops", upload_time="2024-05-06T07:08:09Z")

    with client_for([fake.url], cache_dir) as client:
        files = client.project_files("demo")

    assert [(f.filename, f.url, f.sha256, f.index) for f in files] == [
        (wheel.filename, wheel.url, wheel.sha256, fake.url),
        (sdist.filename, sdist.url, sdist.sha256, fake.url),
    ]
    assert [(f.requires_python, f.yanked, f.upload_time) for f in files] == [
        (">=3.8", False, None),
        (None, True, "2024-05-06T07:08:09Z"),
    ]
    # PEP 691 v1.1 carries sizes; HTML pages do not.
    assert [f.size for f in files] == ([wheel.size, sdist.size] if mode != "html" else [None, None])


def test_project_names_are_normalised_for_the_url(cache_dir: Path, fake: FakeIndex) -> None:
    fake.add_file("Zope.Interface", "zope.interface-6.0.tar.gz")

    with client_for([fake.url], cache_dir) as client:
        files = client.project_files("Zope_Interface")

    assert [f.filename for f in files] == ["zope.interface-6.0.tar.gz"]
    assert fake.requests == [("GET", "/simple/zope-interface/")]


def test_a_project_missing_from_one_index_is_empty_there(cache_dir: Path, fake: FakeIndex) -> None:
    with FakeIndex() as other:
        wheel = other.add_file("demo", "demo-1.0-py3-none-any.whl")
        with client_for([fake.url, other.url], cache_dir) as client:
            files = client.project_files("demo")
            assert client.unavailable == set()

    assert [(f.filename, f.index) for f in files] == [(wheel.filename, other.url)]
    assert fake.statuses == [404]


def test_a_missing_project_is_remembered_too(cache_dir: Path, fake: FakeIndex) -> None:
    with client_for([fake.url], cache_dir) as client:
        assert client.project_files("nothing-here") == []
    fake.reset_requests()

    with client_for([fake.url], cache_dir) as client:
        assert client.project_files("nothing-here") == []

    assert fake.requests == []


# -- file:// indexes and find-links ----------------------------------------------------------


def write_file_index(root: Path) -> tuple[str, bytes]:
    """A pip-style file:// index: simple/<name>/index.html pointing into files/."""
    content = b"pretend wheel"
    (root / "files").mkdir(parents=True)
    (root / "files" / "absl_py-2.5.0-py3-none-any.whl").write_bytes(content)
    page = root / "simple" / "absl-py"
    page.mkdir(parents=True)
    digest = hashlib.sha256(content).hexdigest()
    href = f"../../files/absl_py-2.5.0-py3-none-any.whl#sha256={digest}"
    (page / "index.html").write_text(f'<!DOCTYPE html><a href="{href}">absl_py</a>\n')
    return (root / "simple").as_uri(), content


def test_file_index_pages_are_read_from_disk(tmp_path: Path, cache_dir: Path) -> None:
    index_url, content = write_file_index(tmp_path / "pypi")

    with client_for([index_url], cache_dir) as client:
        (file,) = client.project_files("absl_py")
        assert client.project_files("not-there") == []

    wheel = tmp_path / "pypi" / "files" / "absl_py-2.5.0-py3-none-any.whl"
    assert file.url == wheel.as_uri()
    assert file.sha256 == hashlib.sha256(content).hexdigest()
    assert file.size == len(content)
    assert file.index == index_url


def test_find_links_directory_files_are_hashed_once(tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    links = tmp_path / "wheels"
    links.mkdir()
    (links / "demo-1.0-py3-none-any.whl").write_bytes(b"one")
    (links / "demo-1.0.tar.gz").write_bytes(b"two")
    (links / "other-2.0-py3-none-any.whl").write_bytes(b"three")
    (links / "README.txt").write_text("not a distribution")
    (links / "demo-notaversion-x.whl").write_bytes(b"bad name")
    hashed: list[Path] = []
    real_hash = index_module._hash_file

    def counting_hash(path: Path) -> str:
        hashed.append(path)
        return real_hash(path)

    monkeypatch.setattr(index_module, "_hash_file", counting_hash)

    for _ in range(2):  # the second client finds the hashes in the disk cache
        with IndexClient([], [str(links)], cache_dir=cache_dir) as client:
            files = client.project_files("demo")

    assert [(f.filename, f.sha256, f.size, f.index) for f in files] == [
        ("demo-1.0-py3-none-any.whl", hashlib.sha256(b"one").hexdigest(), 3, str(links)),
        ("demo-1.0.tar.gz", hashlib.sha256(b"two").hexdigest(), 3, str(links)),
    ]
    assert files[0].url == (links / "demo-1.0-py3-none-any.whl").as_uri()
    assert sorted(p.name for p in hashed) == ["demo-1.0-py3-none-any.whl", "demo-1.0.tar.gz"]


def test_a_changed_find_links_file_is_hashed_again(tmp_path: Path, cache_dir: Path) -> None:
    wheel = tmp_path / "demo-1.0-py3-none-any.whl"
    wheel.write_bytes(b"first")
    with IndexClient([], [str(tmp_path)], cache_dir=cache_dir) as client:
        (before,) = client.project_files("demo")

    wheel.write_bytes(b"second build")
    os.utime(wheel, ns=(1, 1))
    with IndexClient([], [str(tmp_path)], cache_dir=cache_dir) as client:
        (after,) = client.project_files("demo")

    assert before.sha256 == hashlib.sha256(b"first").hexdigest()
    assert after.sha256 == hashlib.sha256(b"second build").hexdigest()


def test_find_links_page_is_filtered_by_project(cache_dir: Path, fake: FakeIndex) -> None:
    wheel = fake.add_file("demo", "demo-1.0-py3-none-any.whl")
    fake.add_file("other", "other-1.0-py3-none-any.whl")

    with IndexClient([], [fake.find_links_url], cache_dir=cache_dir) as client:
        demo = client.project_files("demo")
        nothing = client.project_files("missing")

    assert [(f.filename, f.sha256, f.index) for f in demo] == [(wheel.filename, wheel.sha256, fake.find_links_url)]
    assert nothing == []
    assert fake.requests == [("GET", "/links/")]  # read once per client


# -- credentials -----------------------------------------------------------------------------


def test_credentials_are_sent_but_never_stored(cache_dir: Path) -> None:
    with FakeIndex(auth=("alice", "s3cret-token")) as fake:
        wheel = fake.add_file("demo", "demo-1.0-py3-none-any.whl", content=b"12345")
        with client_for([fake.url_with_auth()], cache_dir) as client:
            (file,) = client.project_files("demo")
            size = client.file_size(file.url)  # same host: the index's credentials apply

    assert (file.url, file.index, size) == (wheel.url, fake.url, 5)
    stored = b"".join(p.read_bytes() for p in cache_dir.rglob("*") if p.is_file())
    assert b"demo-1.0-py3-none-any.whl" in stored
    assert b"alice" not in stored and b"s3cret" not in stored


def test_netrc_credentials_are_used(tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    netrc_file = tmp_path / "netrc"
    netrc_file.write_text("machine 127.0.0.1 login alice password s3cret\n")
    monkeypatch.setenv("NETRC", str(netrc_file))
    with FakeIndex(auth=("alice", "s3cret")) as fake:
        fake.add_file("demo", "demo-1.0-py3-none-any.whl")
        with client_for([fake.url], cache_dir) as client:
            assert len(client.project_files("demo")) == 1


def test_missing_credentials_give_a_clear_error(tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    with (
        FakeIndex(auth=("alice", "s3cret")) as fake,
        client_for([fake.url], cache_dir) as client,
        pytest.raises(IndexLookupError) as failure,
    ):
        client.project_files("demo")

    assert str(failure.value).startswith(f"The package index {fake.url} refused access (HTTP 401)")


# -- cache -----------------------------------------------------------------------------------


def publish(fake: FakeIndex, count: int) -> dict[str, str]:
    """``count`` projects with one wheel each; returns project -> expected sha256."""
    return {f"proj{n}": fake.add_file(f"proj{n}", f"proj{n}-1.0-py3-none-any.whl").sha256 for n in range(count)}


def test_warm_cache_makes_no_requests(cache_dir: Path, fake: FakeIndex) -> None:
    expected = publish(fake, 5)
    with client_for([fake.url], cache_dir) as client:
        cold = client.many_project_files(expected)
    fake.reset_requests()

    with client_for([fake.url], cache_dir) as client:
        warm = client.many_project_files(expected)

    assert fake.requests == []
    assert warm == cold
    assert {name: [f.sha256 for f in files] for name, files in warm.items()} == {
        name: [digest] for name, digest in expected.items()
    }


def test_an_expired_page_is_revalidated(cache_dir: Path, fake: FakeIndex) -> None:
    fake.add_file("demo", "demo-1.0-py3-none-any.whl")
    with client_for([fake.url], cache_dir) as client:
        first = client.project_files("demo")
    fake.reset_requests()

    with client_for([fake.url], cache_dir, page_ttl=0) as client:
        again = client.project_files("demo")
    revalidation = fake.log[0]
    fake.add_file("demo", "demo-1.1-py3-none-any.whl")
    with client_for([fake.url], cache_dir, page_ttl=0) as client:
        changed = client.project_files("demo")

    assert again == first
    assert revalidation.status == 304 and revalidation.headers["if-none-match"].startswith('"')
    assert fake.statuses == [304, 200]
    assert [f.filename for f in changed] == [
        "demo-1.0-py3-none-any.whl",
        "demo-1.1-py3-none-any.whl",
    ]


def test_offline_uses_any_cached_page_and_reports_the_rest(tmp_path: Path, cache_dir: Path, fake: FakeIndex) -> None:
    fake.add_file("cached", "cached-1.0-py3-none-any.whl")
    fake.add_file("uncached", "uncached-1.0-py3-none-any.whl")
    file_index, _ = write_file_index(tmp_path / "pypi")
    with client_for([fake.url], cache_dir) as client:
        client.project_files("cached")
    fake.reset_requests()

    with client_for([fake.url, file_index], cache_dir, offline=True, page_ttl=0) as client:
        found = client.many_project_files(["cached", "uncached", "absl-py"])
        unavailable = client.unavailable

    assert fake.requests == []
    assert [f.filename for f in found["cached"]] == ["cached-1.0-py3-none-any.whl"]
    assert found["uncached"] == []
    assert [f.filename for f in found["absl-py"]] == ["absl_py-2.5.0-py3-none-any.whl"]
    assert unavailable == {"uncached", "absl-py"}  # absl-py: the remote index was never asked


def test_default_cache_dir_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ENVCAPSULE_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "envcapsule" / "index"

    monkeypatch.setenv("ENVCAPSULE_CACHE_DIR", str(tmp_path / "own"))
    assert default_cache_dir() == tmp_path / "own" / "index"


def test_a_damaged_cache_file_is_a_miss(cache_dir: Path, fake: FakeIndex) -> None:
    fake.add_file("demo", "demo-1.0-py3-none-any.whl")
    with client_for([fake.url], cache_dir) as client:
        client.project_files("demo")
    for page in cache_dir.rglob("*.json"):
        page.write_text("{not json")

    with client_for([fake.url], cache_dir) as client:
        assert len(client.project_files("demo")) == 1

    assert fake.statuses == [200, 200]


# -- failures --------------------------------------------------------------------------------


def test_an_unreachable_index_names_itself_and_what_to_do(cache_dir: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/simple"

    with (
        client_for([url], cache_dir, retries=1) as client,
        pytest.raises(IndexLookupError) as failure,
    ):
        client.project_files("demo")

    message = str(failure.value)
    assert message.startswith(f"Could not reach the package index {url} (")
    assert "refused" in message.lower()
    assert message.endswith("check your network or pip configuration, or use --offline.")


def test_server_errors_are_retried(cache_dir: Path, fake: FakeIndex) -> None:
    fake.add_file("demo", "demo-1.0-py3-none-any.whl")
    fake.fail(503, times=2)

    with client_for([fake.url], cache_dir) as client:
        assert len(client.project_files("demo")) == 1

    assert fake.statuses == [503, 503, 200]


def test_persistent_server_errors_end_in_a_lookup_error(cache_dir: Path, fake: FakeIndex) -> None:
    fake.fail(500)

    with (
        client_for([fake.url], cache_dir, retries=1) as client,
        pytest.raises(IndexLookupError, match=r"\(HTTP 500 Internal Server Error\)"),
    ):
        client.project_files("demo")

    assert fake.statuses == [500, 500]


def test_a_dropped_connection_is_a_lookup_error(cache_dir: Path, fake: FakeIndex) -> None:
    fake.drop_connections = True

    with (
        client_for([fake.url], cache_dir, retries=0) as client,
        pytest.raises(IndexLookupError, match="Could not reach the package index"),
    ):
        client.project_files("demo")


def test_transport_seam_needs_no_server(cache_dir: Path) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.headers["Accept"].startswith("application/vnd.pypi.simple.v1+json")
        body = {"files": [{"filename": "demo-1.0.tar.gz", "url": "demo-1.0.tar.gz", "hashes": {}}]}
        return httpx.Response(200, json=body, headers={"Content-Type": "application/vnd.pypi.simple.v1+json"})

    transport = httpx.MockTransport(answer)
    with client_for(["https://index.invalid/simple"], cache_dir, transport=transport) as client:
        (file,) = client.project_files("demo")

    assert file.url == "https://index.invalid/simple/demo/demo-1.0.tar.gz"


# -- concurrency -----------------------------------------------------------------------------


def test_many_projects_are_looked_up_concurrently(cache_dir: Path, fake: FakeIndex) -> None:
    expected = publish(fake, 40)
    fake.delay = 0.02
    finished: list[str] = []
    requests_seen: list[int] = []
    caller = threading.current_thread()

    def progress(project: str) -> None:
        assert threading.current_thread() is caller
        finished.append(project)
        requests_seen.append(len(fake.requests))

    with client_for([fake.url], cache_dir, max_workers=8) as client:
        found = client.many_project_files([*expected, "proj0"], progress=progress)

    assert list(found) == list(expected)
    assert {name: [f.sha256 for f in files] for name, files in found.items()} == {
        name: [digest] for name, digest in expected.items()
    }
    assert sorted(finished) == sorted(expected)
    assert requests_seen[0] < len(expected)  # reported as each finishes, not all at the end
    assert 1 < fake.max_in_flight <= 8


def test_one_failing_project_fails_the_batch(cache_dir: Path, fake: FakeIndex) -> None:
    publish(fake, 3)
    fake.fail(500)

    with client_for([fake.url], cache_dir, retries=0) as client, pytest.raises(IndexLookupError):
        client.many_project_files(["proj0", "proj1", "proj2"])


# -- sizes and downloads ---------------------------------------------------------------------


def test_file_size_is_asked_once_and_kept(cache_dir: Path, fake: FakeIndex) -> None:
    wheel = fake.add_file("demo", "demo-1.0-py3-none-any.whl", content=b"x" * 1000)

    with client_for([fake.url], cache_dir) as client:
        assert client.file_size(wheel.url) == 1000
    with client_for([fake.url], cache_dir, offline=True) as client:
        assert client.file_size(wheel.url) == 1000
        assert client.file_size(fake.file_url("unknown.whl")) is None
    with client_for([fake.url], cache_dir) as client:
        assert client.file_size(fake.file_url("unknown.whl")) is None

    assert fake.requests == [
        ("HEAD", "/files/demo-1.0-py3-none-any.whl"),
        ("HEAD", "/files/unknown.whl"),
    ]


def test_fetch_checks_the_hash(tmp_path: Path, cache_dir: Path, fake: FakeIndex) -> None:
    wheel = fake.add_file("demo", "demo-1.0-py3-none-any.whl", content=b"wheel bytes")
    dest = tmp_path / "out" / wheel.filename

    with client_for([fake.url], cache_dir) as client:
        assert client.fetch(wheel.url, dest, wheel.sha256) == dest
        with pytest.raises(IndexLookupError, match="not the expected"):
            client.fetch(wheel.url, tmp_path / "out" / "bad.whl", "0" * 64)

    assert dest.read_bytes() == b"wheel bytes"
    assert sorted(p.name for p in dest.parent.iterdir()) == [wheel.filename]


def test_index_field_is_the_location_as_configured(cache_dir: Path, fake: FakeIndex) -> None:
    fake.add_file("demo", "demo-1.0.tar.gz")

    with client_for([fake.url + "/"], cache_dir) as client:
        (file,) = client.project_files("demo")

    assert file.index == fake.url + "/"
    assert fake.requests == [("GET", "/simple/demo/")]


def test_a_broken_json_page_is_a_lookup_error(cache_dir: Path) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            content=b'{"files": [',
            headers={"Content-Type": "application/vnd.pypi.simple.v1+json"},
        )

    transport = httpx.MockTransport(answer)
    with (
        client_for(["https://index.invalid/simple"], cache_dir, transport=transport) as client,
        pytest.raises(IndexLookupError, match="sent an unreadable page"),
    ):
        client.project_files("demo")


def test_an_unreadable_certificate_bundle_is_named(tmp_path: Path, cache_dir: Path) -> None:
    bundle = tmp_path / "missing.pem"

    with (
        client_for(["https://index.invalid/simple"], cache_dir, cert=str(bundle)) as client,
        pytest.raises(IndexLookupError, match=f"certificate bundle {bundle}"),
    ):
        client.project_files("demo")
