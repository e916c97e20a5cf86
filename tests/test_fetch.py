"""Fetching published files: mirror folders, resumed downloads over HTTP, offline errors, the hash policy."""
import hashlib
import http.server
import threading

import pytest

from denoise_core.errors import WeightsError
from denoise_core.weights import Source
from denoise_core.weights import download as fetch
from denoise_core.weights.download import OfflineError

DATA = bytes(range(256)) * 4096  # 1 MiB
DIGEST = hashlib.sha256(DATA).hexdigest()
OTHER = hashlib.sha256(b"other").hexdigest()


@pytest.fixture
def mirror(tmp_path):
    folder = tmp_path / "usb"
    folder.mkdir()
    (folder / "model.pth").write_bytes(DATA)
    return folder


def source(sha=DIGEST, trust="pinned", url="https://example.invalid/releases/model.pth"):
    return Source(url, sha, trust)


class RangeHandler(http.server.BaseHTTPRequestHandler):
    """Serves ``DATA`` at any path and honours ``Range: bytes=N-``; records what it sent."""

    sent: list[int] = []

    def do_GET(self):  # noqa: N802 (the http.server interface)
        start = int(self.headers.get("Range", "bytes=0-")[6:-1] or 0)
        body = DATA[start:]
        RangeHandler.sent.append(len(body))  # before the client can have read it all and looked
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    RangeHandler.sent = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RangeHandler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}/releases/model.pth"
    httpd.shutdown()
    httpd.server_close()


def test_a_mirror_file_lands_whole_with_its_record_and_is_not_copied_twice(tmp_path, mirror):
    seen = []
    got = fetch.fetch(source(), tmp_path / "cache", mirror=mirror, progress=lambda done, total: seen.append(done))
    assert got.path.read_bytes() == DATA and got.sha256 == DIGEST and got.hash == "pinned"
    assert seen[-1] == len(DATA) and len(seen) == 1  # one 1 MiB chunk
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["index.json", "model.pth"]
    record = fetch.read_index(tmp_path / "cache")["model.pth"]
    assert record["sha256"] == DIGEST and record["from"] == f"mirror {mirror.resolve()}"
    (mirror / "model.pth").unlink()
    assert fetch.fetch(source(), tmp_path / "cache", mirror=mirror).path == got.path  # already there: no copy


def test_the_mirror_comes_from_the_environment(tmp_path, mirror, monkeypatch):
    monkeypatch.setenv(fetch.MIRROR_ENV, str(mirror))
    assert fetch.fetch(source(), tmp_path / "cache").hash == "pinned"


def test_a_partial_file_is_resumed_from_the_mirror(tmp_path, mirror):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "model.pth.partial").write_bytes(DATA[:300_000])
    seen = []
    got = fetch.fetch(source(), cache, mirror=mirror, progress=lambda done, total: seen.append((done, total)))
    assert got.path.read_bytes() == DATA and seen == [(len(DATA), len(DATA))]
    assert not (cache / "model.pth.partial").exists()


def test_a_partial_download_is_resumed_with_a_range_request(tmp_path, server):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "model.pth.partial").write_bytes(DATA[:400_000])
    got = fetch.fetch(source(url=server), cache)
    assert got.path.read_bytes() == DATA and RangeHandler.sent == [len(DATA) - 400_000]
    assert fetch.read_index(cache)["model.pth"]["from"] == server


def test_offline_without_a_mirror_says_how_to_use_one(tmp_path):
    with pytest.raises(OfflineError, match=r"cannot reach 127\.0\.0\.1:9 .*offline\? .*--mirror DIR.*"
                                           + fetch.MIRROR_ENV):
        fetch.fetch(source(url="http://127.0.0.1:9/releases/model.pth"), tmp_path / "cache", timeout=5)


def test_a_file_missing_from_the_mirror_is_named(tmp_path):
    with pytest.raises(WeightsError, match="model.pth: not in the mirror folder"):
        fetch.fetch(source(), tmp_path / "cache", mirror=tmp_path)


def test_a_pinned_mismatch_is_refused_even_with_trust(tmp_path, mirror):
    for trust in (False, True):
        with pytest.raises(WeightsError, match=f"sha256 {DIGEST} is not the pinned {OTHER}"):
            fetch.fetch(source(OTHER), tmp_path / "cache", mirror=mirror, trust=trust)
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == []


def test_an_expected_mismatch_names_both_hashes_and_is_accepted_only_deliberately(tmp_path, mirror):
    with pytest.raises(WeightsError, match=f"sha256 {DIGEST} differs from the published {OTHER}.*--trust"):
        fetch.fetch(source(OTHER, "expected"), tmp_path / "cache", mirror=mirror)
    assert not (tmp_path / "cache" / "model.pth").exists()
    got = fetch.fetch(source(OTHER, "expected"), tmp_path / "cache", mirror=mirror, trust=True)
    assert got.hash == "trusted" and fetch.cached(source(OTHER, "expected"), tmp_path / "cache") == got


def test_an_unpublished_hash_is_recorded_at_first_use_and_a_changed_file_refused(tmp_path, mirror):
    unknown = Source("https://example.invalid/model.pth")
    first = fetch.fetch(unknown, tmp_path / "cache", mirror=mirror)
    assert first.hash == "first use" and fetch.read_index(tmp_path / "cache")["model.pth"]["sha256"] == DIGEST
    first.path.write_bytes(b"changed")  # damaged in the cache: fetched again, and the mirror's copy changed too
    (mirror / "model.pth").write_bytes(b"other")
    with pytest.raises(WeightsError, match=f"sha256 {OTHER} differs from the {DIGEST} recorded at its first"):
        fetch.fetch(unknown, tmp_path / "cache", mirror=mirror)
    assert fetch.fetch(unknown, tmp_path / "cache", mirror=mirror, trust=True).hash == "trusted"


def test_an_unreadable_index_is_one_clear_error(tmp_path):
    (tmp_path / "index.json").write_text("[1, 2")
    with pytest.raises(WeightsError, match="unreadable download index.*delete it"):
        fetch.read_index(tmp_path)


def test_a_source_states_its_trust_consistently():
    with pytest.raises(ValueError):
        Source("https://example.invalid/a.pth", "", "pinned")
    with pytest.raises(ValueError):
        Source("https://example.invalid/a.pth", DIGEST, "unknown")
    assert Source("https://example.invalid/dir/a.pth").filename == "a.pth"
