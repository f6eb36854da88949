"""Download the benchmark data sets from their canonical sources into a local cache.

Only the standard library is used (urllib, hashlib, tarfile, zipfile): this
module imports no Keras and no backend, so ``kernelkit data fetch`` starts
instantly.

Every suite is fetched the same way:

1. each file is streamed in chunks into a private staging folder created
   inside the cache folder (``<cache>/.<name>.tmp-XXXX/``), reporting
   progress;
2. its checksum is verified when one is known; where none is published, the
   sha256 computed here is recorded beside the file (``<file>.sha256``) and in
   the manifest, and nothing pretends to have verified it;
3. archives are extracted inside the staging folder, which then gets a manifest
   (``.kernelkit-fetch.json``, the completion marker);
4. the staging folder is renamed into place (``<cache>/<name>/``).

Any failure removes the staging folder, so the cache holds either the old
state or the complete new one, never a partial download. A folder with a
manifest is complete, and a later fetch skips it unless ``force=True``.

Example:
    >>> from kernelkit.data.fetch import fetch
    >>> path = fetch("mnist")                     # doctest: +SKIP
    >>> sorted(p.name for p in path.glob("*.gz"))  # doctest: +SKIP
    ['t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz', ...]
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import os
import re
import shutil
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import urllib.response
import warnings
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from kernelkit.data.paths import SUITE_SUBDIRS
from kernelkit.data.paths import cache_dir as default_cache_dir
from kernelkit.errors import DataError, InputError

__all__ = [
    "SOURCES",
    "MANIFEST_NAME",
    "Resource",
    "Source",
    "fetch",
    "data_path",
    "is_fetched",
    "read_manifest",
    "parse_checksum",
    "UnverifiedDownloadWarning",
]

logger = logging.getLogger(__name__)

#: Name of the completion marker written last into a fetched folder.
MANIFEST_NAME = ".kernelkit-fetch.json"


class UnverifiedDownloadWarning(UserWarning):
    """A file was downloaded without a known checksum; its sha256 was recorded instead."""


ProgressCallback = Callable[[int, "int | None"], None]

_CHUNK = 1 << 20
_DIGEST_LENGTHS = {"md5": 32, "sha256": 64}
_USER_AGENT = "kernelkit-data-fetch/0.1 (+python urllib)"


@dataclass(frozen=True)
class Resource:
    """One file of a suite, with the checksum its publisher gives for it.

    Args:
        filename: Name of the file at the source, and in the cache.
        checksum: ``"sha256:<hex>"`` or ``"md5:<hex>"``, or ``None`` where no
            checksum is published (the computed sha256 is then recorded).
    """

    filename: str
    checksum: str | None


@dataclass(frozen=True)
class Source:
    """Where a suite comes from and where it goes in the cache.

    Args:
        suite: Name used on the command line (``uci``, ``mnist``, ``higgs``).
        folder: Folder of the cache that receives the suite.
        base_url: URL of the folder holding ``files`` (ends with ``/``).
        files: The files to download.
        extract: Whether the (single) file is an archive to unpack into ``folder``.
        checksum_origin: Where the pinned checksums come from, in words.
    """

    suite: str
    folder: str
    base_url: str
    files: tuple[Resource, ...]
    extract: bool
    checksum_origin: str

    def url_of(self, resource: Resource, url: str | None = None) -> str:
        """The URL of one file, honouring the ``url`` override of :func:`fetch`."""
        if url is None:
            return self.base_url + resource.filename
        if len(self.files) == 1:
            return url
        return url.rstrip("/") + "/" + resource.filename


SOURCES: dict[str, Source] = {
    "uci": Source(
        suite="uci",
        folder=SUITE_SUBDIRS["uci"],
        base_url="http://persoal.citius.usc.es/manuel.fernandez.delgado/papers/jmlr/",
        files=(Resource("data.tar.gz", None),),
        extract=True,
        checksum_origin="none published by the authors; the sha256 is recorded at download",
    ),
    "mnist": Source(
        suite="mnist",
        folder=SUITE_SUBDIRS["mnist"],
        base_url="https://ossci-datasets.s3.amazonaws.com/mnist/",
        files=(
            Resource("train-images-idx3-ubyte.gz", "md5:f68b3c2dcbeaaa9fbdd348bbdeb94873"),
            Resource("train-labels-idx1-ubyte.gz", "md5:d53e105ee54ea40749a09fcbcd1e9432"),
            Resource("t10k-images-idx3-ubyte.gz", "md5:9fb629c4189551a2d022fa330f9573f3"),
            Resource("t10k-labels-idx1-ubyte.gz", "md5:ec29112dd5afa0611ce80d1b7f02629c"),
        ),
        extract=False,
        checksum_origin="md5s pinned from torchvision.datasets.MNIST.resources",
    ),
    "higgs": Source(
        suite="higgs",
        folder=SUITE_SUBDIRS["higgs"],
        base_url="http://opendata.cern.ch/record/328/files/",
        files=(Resource("atlas-higgs-challenge-2014-v2.csv.gz", None),),
        extract=False,
        checksum_origin="none pinned (CERN Open Data record 328); the sha256 is recorded "
                        "at download",
    ),
}


def _source(suite: str) -> Source:
    try:
        return SOURCES[suite]
    except KeyError:
        raise InputError(f"unknown data suite {suite!r}; choose one of {sorted(SOURCES)}") from None


def data_path(suite: str, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The folder a suite is (or will be) fetched into.

    Args:
        suite: ``"uci"``, ``"mnist"`` or ``"higgs"``.
        cache_dir: Cache root; default ``$KERNELKIT_CACHE``, else ``~/.cache/kernelkit``.

    Returns:
        ``<cache_dir>/<folder>`` as an absolute path, e.g. ``~/.cache/kernelkit/uci121``.

    Example:
        >>> data_path("uci", "/tmp/cache").as_posix()
        '/tmp/cache/uci121'
    """
    root = default_cache_dir() if cache_dir is None else Path(cache_dir).expanduser().absolute()
    return root / _source(suite).folder


def is_fetched(suite: str, cache_dir: str | os.PathLike[str] | None = None) -> bool:
    """Whether a complete copy of ``suite`` (one with a manifest) is in the cache.

    Example:
        >>> is_fetched("higgs", "/nonexistent")
        False
    """
    return (data_path(suite, cache_dir) / MANIFEST_NAME).is_file()


def read_manifest(path: str | os.PathLike[str]) -> dict | None:
    """The manifest of a fetched folder, or ``None`` if the folder is incomplete.

    The manifest lists, per file, its URL, the checksum it was verified against
    (``None`` if none was known) and the sha256 computed at download.

    Example:
        >>> read_manifest("/nonexistent") is None
        True
    """
    marker = Path(path) / MANIFEST_NAME
    if not marker.is_file():
        return None
    return json.loads(marker.read_text(encoding="utf-8"))


def parse_checksum(spec: str) -> tuple[str, str]:
    """Split ``"sha256:<hex>"`` or ``"md5:<hex>"`` into (algorithm, lower-case hex).

    Raises:
        InputError: For any other algorithm or a hex digest of the wrong length.

    Example:
        >>> parse_checksum("MD5:9FB629C4189551A2D022FA330F9573F3")
        ('md5', '9fb629c4189551a2d022fa330f9573f3')
    """
    algo, _, digest = spec.strip().partition(":")
    algo, digest = algo.lower(), digest.lower()
    length = _DIGEST_LENGTHS.get(algo)
    if length is None or not re.fullmatch(f"[0-9a-f]{{{length}}}", digest):
        raise InputError(f"bad checksum {spec!r}: expected 'sha256:<64 hex>' or 'md5:<32 hex>'")
    return algo, digest


def _expected_checksums(
    source: Source, checksum: str | Mapping[str, str | None] | None
) -> dict[str, str | None]:
    """Per-file expected checksums: the registry's, updated by the override."""
    expected = {r.filename: r.checksum for r in source.files}
    if checksum is None:
        return expected
    if isinstance(checksum, str):
        if len(source.files) != 1:
            raise InputError(
                f"suite {source.suite!r} has {len(source.files)} files: give the checksum "
                "override as a mapping {filename: 'algo:hex'}")
        checksum = {source.files[0].filename: checksum}
    unknown = set(checksum) - set(expected)
    if unknown:
        raise InputError(f"no file {sorted(unknown)} in suite {source.suite!r}; "
                         f"its files are {sorted(expected)}")
    expected.update(checksum)
    for spec in expected.values():
        if spec is not None:
            parse_checksum(spec)
    return expected


def _open(url: str, timeout: float) -> http.client.HTTPResponse | urllib.response.addinfourl:
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    return urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 (http/https/file only)


def _content_length(response: http.client.HTTPResponse | urllib.response.addinfourl) -> int | None:
    value = response.headers.get("Content-Length")
    return int(value) if value and value.isdigit() else None


def _stream(url: str, dest: Path, progress: ProgressCallback | None, timeout: float,
            algorithms: set[str]) -> dict[str, str]:
    """Stream ``url`` into ``dest``; return the hex digests of the bytes written.

    Raises:
        DataError: On an HTTP error, a refused or cut connection, a timeout or a
            short read; the message names the URL and the reason.
    """
    hashers = {algo: hashlib.new(algo, usedforsecurity=False) for algo in algorithms}
    done = 0
    try:
        with _open(url, timeout) as response, dest.open("wb") as out:
            total = _content_length(response)
            if progress is not None:
                progress(0, total)
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                for hasher in hashers.values():
                    hasher.update(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
    except urllib.error.HTTPError as err:
        raise DataError(f"download of {url} failed: HTTP {err.code} {err.reason}") from err
    except urllib.error.URLError as err:
        raise DataError(f"download of {url} failed: {err.reason}") from err
    except (OSError, http.client.HTTPException) as err:
        reason = "timed out" if isinstance(err, TimeoutError) else f"{type(err).__name__}: {err}"
        raise DataError(f"download of {url} failed after {done} bytes: {reason}") from err
    if total is not None and done != total:
        raise DataError(f"download of {url} failed: connection closed after {done} of "
                        f"{total} bytes")
    return {algo: hasher.hexdigest() for algo, hasher in hashers.items()}


def _download(url: str, dest: Path, expected: str | None, progress: ProgressCallback | None,
              timeout: float) -> str:
    """Download and verify one file; return its sha256.

    Raises:
        DataError: If the download fails or the digest is not the expected one.
    """
    algo, digest = parse_checksum(expected) if expected else ("sha256", None)
    digests = _stream(url, dest, progress, timeout, {"sha256", algo})
    if digest is not None and digests[algo] != digest:
        dest.unlink(missing_ok=True)
        raise DataError(f"checksum mismatch for {url}: expected {algo}:{digest}, "
                        f"got {algo}:{digests[algo]}")
    return digests["sha256"]


def _extract(archive: Path, dest: Path, url: str) -> None:
    """Unpack a tar (any compression) or zip archive into ``dest``, refusing unsafe paths."""
    try:
        if tarfile.is_tarfile(archive):
            with tarfile.open(archive) as tar:
                if hasattr(tarfile, "data_filter"):
                    tar.extractall(dest, filter="data")
                else:  # Python < 3.10.12 / 3.11.4: check member paths ourselves
                    _check_members(tar.getnames(), url)
                    tar.extractall(dest)
        elif zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                _check_members(zf.namelist(), url)
                zf.extractall(dest)
        else:
            raise DataError(f"{url} is neither a tar nor a zip archive")
    except DataError:
        raise
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError) as err:
        raise DataError(f"cannot extract the archive from {url}: {err}") from err
    if not any(dest.iterdir()):
        raise DataError(f"the archive from {url} is empty")


def _check_members(names: list[str], url: str) -> None:
    for name in names:
        parts = Path(name).parts
        if Path(name).is_absolute() or ".." in parts:
            raise DataError(f"the archive from {url} has an unsafe member path {name!r}")


def _unwrap(tree: Path) -> Path:
    """The folder holding the data sets: ``tree``, or its only subfolder if it wraps them.

    Archives are packed either as ``abalone/ ...`` or as ``data/abalone/ ...``;
    a lone folder is unwrapped unless it is itself a data set (holds ``<name>.*``).
    """
    entries = list(tree.iterdir())
    if len(entries) == 1 and entries[0].is_dir():
        only = entries[0]
        if not any(p.stem == only.name for p in only.iterdir()):
            return only
    return tree


def _write_sha256(folder: Path, filename: str, sha256: str) -> None:
    (folder / f"{filename}.sha256").write_text(f"{sha256}  {filename}\n", encoding="utf-8")


def _write_manifest(folder: Path, source: Source, records: list[dict]) -> None:
    manifest = {"suite": source.suite, "fetched_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "files": records}
    (folder / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def _populate(source: Source, staging: Path, url: str | None,
              expected: dict[str, str | None], progress: ProgressCallback | None,
              timeout: float) -> Path:
    """Download (and unpack) ``source`` inside ``staging``; return the finished tree."""
    downloads = staging / "downloads"
    tree = staging / "tree"
    downloads.mkdir()
    tree.mkdir()
    records = []
    for resource in source.files:
        file_url = source.url_of(resource, url)
        part = downloads / f"{resource.filename}.part"
        sha256 = _download(file_url, part, expected[resource.filename], progress, timeout)
        if source.extract:
            _extract(part, tree, file_url)
            tree = _unwrap(tree)
        else:
            part.replace(tree / resource.filename)
        if expected[resource.filename] is None:
            _write_sha256(tree, resource.filename, sha256)
        records.append({"name": resource.filename, "url": file_url,
                        "checksum": expected[resource.filename], "sha256": sha256})
    _write_manifest(tree, source, records)
    return tree


def _swap_into_place(tree: Path, target: Path, staging: Path) -> None:
    """Rename ``tree`` to ``target``; an existing ``target`` is moved aside, then removed.

    Each step is one ``os.replace``: an interruption leaves the old folder, or
    the new complete one (or, between the two renames, the old one parked in
    the staging folder, while ``target`` is absent and a new fetch starts over).
    """
    old = staging / "old"
    if target.exists():
        os.replace(target, old)
    try:
        os.replace(tree, target)
    except OSError:
        if old.exists():
            os.replace(old, target)
        raise


def fetch(
    suite: str,
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    url: str | None = None,
    checksum: str | Mapping[str, str | None] | None = None,
    force: bool = False,
    progress: ProgressCallback | None = None,
    timeout: float = 60,
) -> Path:
    """Download a data suite from its canonical source into the cache.

    Args:
        suite: ``"uci"`` (Fernández-Delgado et al.'s 121 data sets, unpacked
            into ``uci121/``), ``"mnist"`` (the four IDX ``.gz`` files) or
            ``"higgs"`` (the CERN Open Data Higgs challenge CSV).
        cache_dir: Cache root; default ``$KERNELKIT_CACHE``, else ``~/.cache/kernelkit``.
        url: A mirror. For a one-file suite (uci, higgs), the URL of that file;
            for a several-file suite (mnist), the base URL to which each file
            name is appended. ``file://`` URLs work too.
        checksum: Expected digest(s), replacing the registry's. A string
            ``"sha256:<hex>"`` / ``"md5:<hex>"`` for a one-file suite; for any
            suite, a mapping ``{filename: "algo:hex"}`` (files not named keep the
            registry's checksum). With a mirror ``url`` and no override, the
            registry's checksums still apply.
        force: Download again even if a complete copy is present.
        progress: Called as ``progress(done_bytes, total_bytes_or_None)``; once
            with ``done_bytes == 0`` at the start of each file.
        timeout: Seconds to wait for the server on connect and on each read.

    Returns:
        The folder holding the data, ``<cache_dir>/<uci121|mnist|higgs>``.

    Raises:
        InputError: Unknown suite or malformed checksum.
        DataError: HTTP error, refused or cut connection, timeout, short read,
            checksum mismatch or unreadable archive; the message names the URL
            (and, for a mismatch, the expected and actual digests). Nothing is
            left in the cache.

    Warns:
        UnverifiedDownloadWarning: For each file without a known checksum,
            giving the sha256 computed and where it is recorded.

    Example:
        >>> path = fetch("higgs", "/tmp/kk-cache")        # doctest: +SKIP
        >>> (path / "atlas-higgs-challenge-2014-v2.csv.gz").is_file()  # doctest: +SKIP
        True
    """
    source = _source(suite)
    expected = _expected_checksums(source, checksum)
    target = data_path(suite, cache_dir)
    if not force and is_fetched(suite, cache_dir):
        logger.info("%s is already in %s; skipping (force=True downloads again)", suite, target)
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{source.folder}.tmp-", dir=target.parent))
    except OSError as err:
        raise DataError(f"cannot write to the cache folder {target.parent}: {err}") from err
    try:
        tree = _populate(source, staging, url, expected, progress, timeout)
        _swap_into_place(tree, target, staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _warn_unverified(target)
    return target


def _warn_unverified(target: Path) -> None:
    """Say, for each file fetched without a known checksum, where its sha256 is recorded."""
    for record in (read_manifest(target) or {}).get("files", []):
        if record["checksum"] is None:
            warnings.warn(
                f"{record['url']} has no published checksum and was not verified; its "
                f"sha256 is {record['sha256']} (recorded in "
                f"{target / (record['name'] + '.sha256')})", UnverifiedDownloadWarning,
                stacklevel=3)
