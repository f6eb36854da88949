"""MNIST from the official IDX files, and the paper's 7-vs-9 task.

The folder may hold ``train-images-idx3-ubyte`` / ``train-labels-idx1-ubyte``
and ``t10k-images-idx3-ubyte`` / ``t10k-labels-idx1-ubyte``, each gzipped
(``.gz``) or not; every complete pair found is used.

Pure numpy; imports no deep-learning framework.

Reference:
    LeCun, Cortes, Burges, "The MNIST database of handwritten digits",
    http://yann.lecun.com/exdb/mnist/ (the IDX format is described there).
"""

from __future__ import annotations

import gzip
import os
import pathlib
import struct
import zlib

import numpy as np

from kernelkit.data.paths import (
    check_sizes,
    draw_disjoint,
    fetch_hint,
    require_file,
    resolve_data_dir,
)
from kernelkit.errors import DataError

__all__ = ["load_mnist", "load_mnist_7v9", "read_idx"]

#: IDX type codes (third byte of the magic number) and their big-endian dtypes.
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_SPLITS = ("train", "t10k")
#: Pixels cropped on each side in the 7-vs-9 task (28 x 28 -> 24 x 24).
CROP = 2


def read_idx(path: str | os.PathLike[str], ndim: int | None = None) -> np.ndarray:
    """Read one IDX file (gzipped or not, recognised by its content).

    Args:
        path: The file.
        ndim: The number of dimensions expected (3 for images, 1 for labels);
            ``None`` accepts any.

    Returns:
        A writable array of the file's dtype and shape.

    Raises:
        DataError: Missing file, broken gzip stream, bad magic number, other
            dimensionality than ``ndim``, or a size that disagrees with the
            header; the message names the file.

    Example:
        >>> path = "../shared/data/mnist/t10k-labels-idx1-ubyte.gz"
        >>> labels = read_idx(path, ndim=1)  # doctest: +SKIP
        >>> labels.shape  # doctest: +SKIP
        (10000,)
    """
    path = require_file(pathlib.Path(path), "mnist", "IDX file")
    name = f"'{path}'"
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as err:
        raise DataError(
            f"Cannot read {name} ({type(err).__name__}: {err}); {fetch_hint('mnist')}."
        ) from err
    if len(raw) < 4 or raw[:2] != b"\x00\x00" or raw[2] not in _IDX_DTYPES:
        raise DataError(
            f"{name} is not an IDX file: bad magic number {raw[:4].hex() or '(empty)'}; "
            f"{fetch_hint('mnist')}."
        )
    n_dims = raw[3]
    if ndim is not None and n_dims != ndim:
        raise DataError(
            f"{name}: magic number {raw[:4].hex()} says {n_dims} dimension(s), expected {ndim}."
        )
    start = 4 + 4 * n_dims
    if len(raw) < start:
        raise DataError(f"{name} is truncated inside its header; {fetch_hint('mnist')}.")
    shape = struct.unpack(f">{n_dims}I", raw[4:start])
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - start != expected:
        raise DataError(
            f"{name}: header says shape {shape} ({expected} bytes of data) but the file "
            f"holds {len(raw) - start} (truncated or corrupt); {fetch_hint('mnist')}."
        )
    array = np.frombuffer(raw, dtype=dtype, offset=start).reshape(shape)
    return array.astype(dtype.newbyteorder("="))  # native byte order, and a writable copy


def _find(folder: pathlib.Path, stem: str) -> pathlib.Path | None:
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _read_pair(
    images_path: pathlib.Path, labels_path: pathlib.Path
) -> tuple[np.ndarray, np.ndarray]:
    images, labels = read_idx(images_path, ndim=3), read_idx(labels_path, ndim=1)
    if images.dtype != np.uint8 or images.shape[1:] != (28, 28):
        raise DataError(
            f"'{images_path}': expected 28 x 28 unsigned-byte images, got "
            f"{images.shape[1:]} of {images.dtype}."
        )
    if labels.dtype != np.uint8 or (labels.size and labels.max() > 9):
        raise DataError(f"'{labels_path}': labels must be unsigned bytes 0..9.")
    if images.shape[0] != labels.shape[0]:
        raise DataError(
            f"'{images_path}' holds {images.shape[0]} images but '{labels_path}' "
            f"holds {labels.shape[0]} labels."
        )
    return images, labels


def load_mnist(root: str | os.PathLike[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """All images and labels of the IDX pairs present, train pair first.

    Args:
        root: The folder with the IDX files; ``None`` resolves it with
            `resolve_data_dir` (``$KERNELKIT_DATA/mnist``, then the cache).

    Returns:
        ``(images, labels)``: uint8 arrays of shapes ``(N, 28, 28)`` and ``(N,)``.

    Raises:
        DataError: No complete pair, a file of a pair missing, or a corrupt file.

    Example:
        >>> images, labels = load_mnist("../shared/data/mnist")  # doctest: +SKIP
        >>> images.shape  # doctest: +SKIP
        (10000, 28, 28)
    """
    folder = resolve_data_dir("mnist", root)
    parts = []
    for split in _SPLITS:
        stems = (f"{split}-images-idx3-ubyte", f"{split}-labels-idx1-ubyte")
        found = [_find(folder, stem) for stem in stems]
        if found[0] is None and found[1] is None:
            continue
        if None in found:
            stem, partner = (stems[0], found[1]) if found[0] is None else (stems[1], found[0])
            raise DataError(
                f"Missing IDX file '{folder / stem}'[.gz], the partner of "
                f"'{partner}'; {fetch_hint('mnist')}."
            )
        parts.append(_read_pair(*found))
    if not parts:
        raise DataError(
            f"No MNIST IDX files in '{folder}': looked for "
            f"{{train,t10k}}-{{images-idx3,labels-idx1}}-ubyte[.gz]; {fetch_hint('mnist')}."
        )
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def load_mnist_7v9(
    root: str | os.PathLike[str] | None = None,
    n_train: int = 1000,
    n_test: int = 1000,
    seed: int = 0,
    center: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The paper's MNIST task: 7 (label +1) against 9 (label -1).

    Every 7 and 9 of the available IDX pairs is pooled; ``n_train`` and
    ``n_test`` images are drawn from the pool at random (seeded, disjoint).
    Each image is cropped by `CROP` = 2 pixels on each side (28 x 28 -> 24 x 24,
    576 features), pixels are divided by 255 into ``[0, 1]``, and then, with
    ``center=True``, the training set's mean image is subtracted from both
    sets (so training features have mean 0; values lie in ``[-1, 1]``).

    Args:
        root: The folder with the IDX files (see `load_mnist`).
        n_train: Training images.
        n_test: Test images.
        seed: Seed of the draw.
        center: Subtract the training mean image.

    Returns:
        ``(X_train, y_train, X_test, y_test)``, float64; ``X`` of shape
        ``(n, 576)``, ``y`` in ``{+1, -1}``.

    Raises:
        InputError: Bad sizes, or fewer 7s and 9s than asked for (the message
            says how many there are).
        DataError: Missing or corrupt files.

    Example:
        >>> Xtr, ytr, Xte, yte = load_mnist_7v9("../shared/data/mnist", 100, 100)  # doctest: +SKIP
        >>> Xtr.shape, set(ytr.tolist())  # doctest: +SKIP
        ((100, 576), {-1.0, 1.0})
    """
    check_sizes(n_train, n_test)
    images, labels = load_mnist(root)
    keep = np.flatnonzero((labels == 7) | (labels == 9))
    rng = np.random.default_rng(seed)
    train, test = draw_disjoint(keep.size, n_train, n_test, rng, "images of 7 and 9")
    X = images[keep, CROP:-CROP, CROP:-CROP].reshape(keep.size, -1) / 255.0
    y = np.where(labels[keep] == 7, 1.0, -1.0)
    X_train, X_test = X[train], X[test]
    if center:
        mean = X_train.mean(axis=0)
        X_train, X_test = X_train - mean, X_test - mean
    return X_train, y[train], X_test, y[test]
