"""``kernelkit.data.fetch`` and ``kernelkit data fetch`` against a local HTTP server.

Nothing here touches the network: a ``http.server`` on 127.0.0.1 serves small
archives built in ``tmp_path``.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib
import io
import json
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from kernelkit.cli.data import data
from kernelkit.data.fetch import (MANIFEST_NAME, UnverifiedDownloadWarning, fetch, is_fetched,
                                  read_manifest)
from kernelkit.errors import DataError, InputError

# The module itself, even if kernelkit.data re-exports a function named ``fetch``.
kf = importlib.import_module("kernelkit.data.fetch")
UCI_FILES = ("{n}.txt", "{n}_R.dat", "conxuntos.dat", "conxuntos_kfold.dat")
MNIST_NAMES = [r.filename for r in kf.SOURCES["mnist"].files]
HIGGS_NAME = "atlas-higgs-challenge-2014-v2.csv.gz"


# ---------------------------------------------------------------- fixtures

def _sha256(blob: bytes) -> str:
    return "sha256:" + hashlib.sha256(blob).hexdigest()


def _tar_gz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, blob in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return buffer.getvalue()


def _uci_archive(prefix: str = "", tag: str = "v1") -> bytes:
    """A fake ``data.tar.gz`` with two data sets, optionally under a wrapping folder."""
    members = {}
    for name in ("abalone", "iris"):
        for pattern in UCI_FILES:
            members[f"{prefix}{name}/{pattern.format(n=name)}"] = f"{name} {tag}\n".encode()
    return _tar_gz(members)


class _Server:
    """Routes: path -> bytes; ``/cut/...`` promises more bytes than it sends; ``/slow``."""

    def __init__(self) -> None:
        self.routes: dict[str, bytes] = {}
        self.hits: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                server.hits.append(self.path)
                body = server.routes.get(self.path)
                if self.path == "/slow":
                    time.sleep(1.5)
                if body is None:
                    self.send_error(404, "Not Found")
                    return
                promised = len(body) + (1000 if self.path.startswith("/cut/") else 0)
                self.send_response(200)
                self.send_header("Content-Length", str(promised))
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)

    def serve(self, path: str, body: bytes) -> str:
        self.routes[path] = body
        return self.base + path


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server()
    srv.thread.start()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _assert_empty(cache: Path) -> None:
    """No temp file, no staging folder, no partial data folder."""
    assert not cache.exists() or list(cache.iterdir()) == []


def _cli(*args: str) -> click.testing.Result:
    return CliRunner().invoke(data, list(args))


# ---------------------------------------------------------------- success paths

@pytest.mark.parametrize("prefix", ["", "data/"], ids=["flat", "wrapped"])
def test_uci_verified_extracts_the_layout_marks_it_and_skips_next_time(server, cache, prefix):
    archive = _uci_archive(prefix)
    url = server.serve("/data.tar.gz", archive)
    calls: list[tuple[int, int | None]] = []
    path = fetch("uci", cache, url=url, checksum=_sha256(archive),
                 progress=lambda done, total: calls.append((done, total)))
    assert path == cache / "uci121"
    assert sorted(p.name for p in path.iterdir() if p.is_dir()) == ["abalone", "iris"]
    for name in ("abalone", "iris"):
        assert sorted(p.name for p in (path / name).iterdir()) == sorted(
            pattern.format(n=name) for pattern in UCI_FILES)
    assert calls[0] == (0, len(archive)) and calls[-1] == (len(archive), len(archive))
    manifest = read_manifest(path)
    assert manifest["files"][0]["checksum"] == _sha256(archive)
    assert not (path / "data.tar.gz.sha256").exists()          # verified: nothing to record
    assert sorted(p.name for p in cache.iterdir()) == ["uci121"]  # no staging left over
    assert is_fetched("uci", cache)

    hits = len(server.hits)
    assert fetch("uci", cache, url=url, checksum=_sha256(archive)) == path
    assert len(server.hits) == hits                            # skipped: no request


def test_mnist_url_is_a_base_url_and_checksums_a_mapping(server, cache):
    blobs = {name: gzip.compress(name.encode()) for name in MNIST_NAMES}
    for name, blob in blobs.items():
        server.serve(f"/mirror/mnist/{name}", blob)
    sums = {name: "md5:" + hashlib.md5(blob).hexdigest() for name, blob in blobs.items()}
    path = fetch("mnist", cache, url=server.base + "/mirror/mnist/", checksum=sums)
    assert {n: b for n, b in _tree(path).items() if n != MANIFEST_NAME} == blobs


def test_a_mirror_is_still_checked_against_the_pinned_checksums(server, cache):
    for name in MNIST_NAMES:
        server.serve(f"/m/{name}", gzip.compress(b"not mnist"))
    with pytest.raises(DataError, match="expected md5:f68b3c2dcbeaaa9fbdd348bbdeb94873"):
        fetch("mnist", cache, url=server.base + "/m")
    _assert_empty(cache)


def test_without_a_known_checksum_the_sha256_is_recorded_and_announced(server, cache):
    blob = gzip.compress(b"EventId,Label\n1,s\n")
    url = server.serve("/higgs.csv.gz", blob)
    with pytest.warns(UnverifiedDownloadWarning, match=_sha256(blob)[7:]):
        path = fetch("higgs", cache, url=url)
    assert (path / HIGGS_NAME).read_bytes() == blob
    assert (path / f"{HIGGS_NAME}.sha256").read_text() == f"{_sha256(blob)[7:]}  {HIGGS_NAME}\n"
    record = read_manifest(path)["files"][0]
    assert record["checksum"] is None and record["sha256"] == _sha256(blob)[7:]


def test_the_cache_defaults_to_KERNELKIT_CACHE(server, tmp_path, monkeypatch):
    monkeypatch.setenv("KERNELKIT_CACHE", str(tmp_path / "env-cache"))
    url = server.serve("/h.gz", b"x")
    path = fetch("higgs", url=url, checksum=_sha256(b"x"))
    assert path == tmp_path / "env-cache" / "higgs"
    result = _cli("fetch", "higgs", "--url", url)
    assert result.exit_code == 0 and "look in this cache by default" in result.stdout


# ---------------------------------------------------------------- failures leave nothing

def test_bad_checksum_raises_naming_url_expected_and_actual(server, cache):
    archive = _uci_archive()
    url = server.serve("/data.tar.gz", archive)
    wrong = "sha256:" + "0" * 64
    with pytest.raises(DataError) as info:
        fetch("uci", cache, url=url, checksum=wrong)
    message = str(info.value)
    assert url in message and wrong in message and _sha256(archive) in message
    _assert_empty(cache)


def test_a_cut_connection_raises_and_leaves_nothing(server, cache):
    url = server.serve("/cut/data.tar.gz", _uci_archive())
    with pytest.raises(DataError, match=r"connection closed after \d+ of \d+ bytes") as info:
        fetch("uci", cache, url=url)
    assert url in str(info.value)
    _assert_empty(cache)


def test_http_404_raises(server, cache):
    with pytest.raises(DataError, match="HTTP 404") as info:
        fetch("higgs", cache, url=server.base + "/missing.csv.gz")
    assert "/missing.csv.gz" in str(info.value)
    _assert_empty(cache)


def test_a_refused_connection_and_a_timeout_raise(server, cache):
    server.routes["/slow"] = b"late"
    with pytest.raises(DataError, match="timed out"):
        fetch("higgs", cache, url=server.base + "/slow", timeout=0.3)
    server.httpd.shutdown()
    server.httpd.server_close()
    with pytest.raises(DataError, match="refused"):
        fetch("higgs", cache, url=server.base + "/gone", timeout=2)
    _assert_empty(cache)


def test_an_unsafe_or_corrupt_archive_raises(server, cache):
    evil = server.serve("/evil.tar.gz", _tar_gz({"../evil.txt": b"x"}))
    with pytest.raises(DataError, match="extract"):
        fetch("uci", cache, url=evil)
    junk = server.serve("/junk.tar.gz", b"not an archive")
    with pytest.raises(DataError, match="neither a tar nor a zip"):
        fetch("uci", cache, url=junk)
    _assert_empty(cache)
    assert not (cache.parent / "evil.txt").exists()


def test_a_failure_during_extraction_leaves_the_old_copy_untouched(server, cache, monkeypatch):
    old_archive, new_archive = _uci_archive(tag="old"), _uci_archive(tag="new")
    url = server.serve("/data.tar.gz", old_archive)
    old = _tree(fetch("uci", cache, url=url, checksum=_sha256(old_archive)))

    def half_extract(archive: Path, dest: Path, url: str) -> None:
        (dest / "abalone").mkdir()
        (dest / "abalone" / "abalone.txt").write_text("half")
        raise DataError(f"cannot extract the archive from {url}: disk full")

    server.serve("/data.tar.gz", new_archive)
    monkeypatch.setattr(kf, "_extract", half_extract)
    with pytest.raises(DataError, match="disk full"):
        fetch("uci", cache, url=url, checksum=_sha256(new_archive), force=True)
    assert _tree(cache / "uci121") == old
    assert sorted(p.name for p in cache.iterdir()) == ["uci121"]

    monkeypatch.undo()
    new = _tree(fetch("uci", cache, url=url, checksum=_sha256(new_archive), force=True))
    assert new["abalone/abalone.txt"] == b"abalone new\n"
    assert sorted(p.name for p in cache.iterdir()) == ["uci121"]


def test_bad_arguments_raise_input_error(cache):
    with pytest.raises(InputError, match="unknown data suite"):
        fetch("cifar", cache)
    with pytest.raises(InputError, match="bad checksum"):
        fetch("higgs", cache, checksum="crc32:1234")
    with pytest.raises(InputError, match="mapping"):
        fetch("mnist", cache, checksum="md5:" + "0" * 32)
    with pytest.raises(InputError, match="no file"):
        fetch("mnist", cache, checksum={"other.gz": None})
    _assert_empty(cache)


# ---------------------------------------------------------------- command line

def test_cli_prints_where_the_data_is_and_how_to_use_it(server, cache):
    archive = _uci_archive()
    url = server.serve("/data.tar.gz", archive)
    result = _cli("fetch", "uci", "--cache-dir", str(cache), "--url", url,
                  "--checksum", _sha256(archive))
    assert result.exit_code == 0, result.output
    target = str(cache / "uci121")
    assert f"uci data is in {target}" in result.stdout
    assert f"--data-dir {target}" in result.stdout
    assert f"KERNELKIT_DATA={cache}\n" in result.stdout   # the root holding uci121/

    again = _cli("fetch", "uci", "--cache-dir", str(cache), "--url", url, "--quiet")
    assert again.exit_code == 0 and again.stdout == target + "\n"


def test_cli_reports_an_unverified_download(server, cache):
    blob = b"EventId\n"
    url = server.serve("/h.csv.gz", blob)
    result = _cli("fetch", "higgs", "--cache-dir", str(cache), "--url", url, "--quiet")
    assert result.exit_code == 0, result.output
    assert _sha256(blob)[7:] in result.stderr and "not verified" in result.stderr


def test_cli_expected_errors_are_one_line_and_exit_1(server, cache):
    url = server.serve("/data.tar.gz", _uci_archive())
    wrong = "md5:" + "0" * 32
    result = _cli("fetch", "uci", "--cache-dir", str(cache), "--url", url, "--checksum", wrong,
                  "--quiet")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"expected {wrong}, got md5:" in lines[0] and url in lines[0]
    _assert_empty(cache)

    missing = _cli("fetch", "higgs", "--cache-dir", str(cache), "--url", server.base + "/x")
    assert missing.exit_code == 1 and "HTTP 404" in missing.stderr


@pytest.mark.parametrize("args", [
    ["fetch", "cifar"],
    ["fetch", "uci", "--bogus"],
    ["fetch", "uci", "--checksum", "crc32:00"],
    ["fetch", "mnist", "--checksum", "md5:" + "0" * 32, "--checksum", "t10k=md5:" + "0" * 32],
    ["fetch", "mnist", "--checksum", "md5:" + "0" * 32],
    ["fetch", "higgs", "--timeout", "0"],
])
def test_cli_bad_options_exit_2(cache, args):
    result = _cli(*args, "--cache-dir", str(cache))
    assert result.exit_code == 2, result.output
    _assert_empty(cache)


def test_the_data_command_imports_no_keras():
    code = ("import sys; from kernelkit.cli.data import data; "
            "print(sorted(m for m in ('keras', 'jax', 'torch', 'tensorflow') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_the_manifest_records_suite_and_urls(server, cache):
    url = server.serve("/h.gz", b"abc")
    path = fetch("higgs", cache, url=url, checksum=_sha256(b"abc"))
    manifest = json.loads((path / MANIFEST_NAME).read_text())
    assert manifest["suite"] == "higgs" and manifest["files"][0]["url"] == url


def test_cli_takes_one_checksum_per_file_for_mnist(server, cache):
    blobs = {name: gzip.compress(name.encode()) for name in MNIST_NAMES}
    args = []
    for name, blob in blobs.items():
        server.serve(f"/mnist/{name}", blob)
        args += ["--checksum", f"{name}={_sha256(blob)}"]
    result = _cli("fetch", "mnist", "--cache-dir", str(cache), "--url", server.base + "/mnist",
                  "--quiet", *args)
    assert result.exit_code == 0, result.output
    assert sorted((cache / "mnist").glob("*.gz")) == sorted(cache / "mnist" / n for n in blobs)


def test_a_file_url_works_as_a_mirror(tmp_path, cache):
    blob = gzip.compress(b"EventId\n")
    local = tmp_path / HIGGS_NAME
    local.write_bytes(blob)
    path = fetch("higgs", cache, url=local.as_uri(), checksum=_sha256(blob))
    assert (path / HIGGS_NAME).read_bytes() == blob


def test_an_unwritable_cache_is_a_data_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(DataError, match="cannot write to the cache folder"):
        fetch("higgs", blocker / "cache", url="http://127.0.0.1:9/never")
