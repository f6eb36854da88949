"""The data loaders (UCI collection, MNIST IDX, Higgs CSV) and data-folder resolution.

Backend-independent: runs once. The real data are read from ``../shared/data``
beside the checkout; corrupt files are small fixtures written into ``tmp_path``.
"""

from __future__ import annotations

import gzip
import pathlib
import re
import shutil
import struct
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from kernelkit.data.higgs import NON_FEATURE_COLUMNS, higgs_files, load_higgs, read_higgs
from kernelkit.data.mnist import load_mnist, load_mnist_7v9, read_idx
from kernelkit.data.paths import SUITE_SUBDIRS, cache_dir, resolve_data_dir
from kernelkit.data.uci import (
    UCIScaler,
    iter_uci,
    list_uci_datasets,
    load_uci,
    select_uci_datasets,
)
from kernelkit.errors import DataError, InputError

ROOT = (pathlib.Path(__file__).resolve().parents[2] / ".." / "shared" / "data").resolve()
UCI, MNIST, HIGGS = ROOT / "uci121", ROOT / "mnist", ROOT / "higgs"
BROKEN = ["adult", "connect-4", "miniboone", "musk-2"]

requires_data = pytest.mark.skipif(
    not ROOT.is_dir(), reason=f"shared data folder {ROOT} not found beside the checkout"
)


def _metadata(name: str) -> dict[str, str]:
    lines = (UCI / name / f"{name}.txt").read_text().splitlines()
    return {k.strip(): v.strip() for k, _, v in (line.partition("=") for line in lines) if v}


def _copy_uci(tmp_path: pathlib.Path, name: str = "balloons") -> pathlib.Path:
    """A one-data-set collection in tmp_path; returns the data set's folder."""
    shutil.copytree(UCI / name, tmp_path / "uci" / name)
    return tmp_path / "uci" / name


# --------------------------------------------------------------------------- paths


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    monkeypatch.delenv("KERNELKIT_DATA", raising=False)
    monkeypatch.setenv("KERNELKIT_CACHE", str(tmp_path / "cache"))
    return tmp_path


def test_suite_subdirs_and_cache_dir(monkeypatch, tmp_path):
    assert dict(SUITE_SUBDIRS) == {"uci": "uci121", "mnist": "mnist", "higgs": "higgs"}
    monkeypatch.setenv("KERNELKIT_CACHE", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    monkeypatch.delenv("KERNELKIT_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "kernelkit"


def test_resolve_data_dir_order(clean_env, monkeypatch):
    tmp = clean_env
    explicit, env_root, cached = tmp / "mine", tmp / "root", tmp / "cache"
    for folder in (explicit, env_root / "uci121", cached / "uci121"):
        folder.mkdir(parents=True)
    assert resolve_data_dir("uci") == cached / "uci121"
    monkeypatch.setenv("KERNELKIT_DATA", str(env_root))
    assert resolve_data_dir("uci") == env_root / "uci121"
    assert resolve_data_dir("uci", explicit) == explicit
    # An explicit folder that does not exist is an error, never a fall-through.
    with pytest.raises(DataError, match="nowhere"):
        resolve_data_dir("uci", tmp / "nowhere")
    # $KERNELKIT_DATA without this suite's folder falls through to the cache.
    (env_root / "uci121").rmdir()
    assert resolve_data_dir("uci") == cached / "uci121"
    with pytest.raises(InputError, match="unknown|Unknown"):
        resolve_data_dir("cifar")


def test_resolve_data_dir_error_says_what_and_how(clean_env, monkeypatch):
    monkeypatch.setenv("KERNELKIT_DATA", str(clean_env / "root"))
    with pytest.raises(DataError) as info:
        resolve_data_dir("mnist")
    message = str(info.value)
    assert str(clean_env / "root" / "mnist") in message
    assert str(clean_env / "cache" / "mnist") in message
    for remedy in ("kernelkit data fetch mnist", "--data-dir", "KERNELKIT_DATA"):
        assert remedy in message
    assert isinstance(info.value, OSError)


@requires_data
def test_loaders_find_data_through_kernelkit_data(clean_env, monkeypatch):
    monkeypatch.setenv("KERNELKIT_DATA", str(ROOT))
    assert "abalone" in list_uci_datasets()
    assert load_uci(None, "balloons").n == 16


def test_loaders_import_no_framework():
    code = (
        "import sys, kernelkit.data.paths, kernelkit.data.uci, kernelkit.data.mnist, "
        "kernelkit.data.higgs\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'keras', 'jax', 'torch', 'tensorflow'})\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------- UCI


@requires_data
def test_data_sets_with_a_separate_test_file():
    from kernelkit.data.uci import uci_with_test_file

    expected = {d.name for d in UCI.iterdir() if (d / f"{d.name}.txt").is_file()
                and any(line.startswith("fich2=")
                        for line in (d / f"{d.name}.txt").read_text().splitlines())}
    found = uci_with_test_file(UCI)
    assert found == expected and len(found) == 19  # as the data README says
    assert "iris" not in found


@requires_data
def test_list_finds_the_collection(tmp_path):
    names = list_uci_datasets(UCI)
    assert len(names) >= 100 and names == sorted(names)
    assert {"abalone", "iris", *BROKEN} <= set(names)
    # Only folders holding <name>.txt are data sets.
    (tmp_path / "empty-folder").mkdir()
    shutil.copytree(UCI / "iris", tmp_path / "iris")
    assert list_uci_datasets(tmp_path) == ["iris"]


@requires_data
@pytest.mark.parametrize("name", ["acute-inflammation", "balloons", "iris", "abalone"])
def test_load_small_data_sets_match_metadata(name):
    meta = _metadata(name)
    ds = load_uci(UCI, name)
    assert ds.name == name and ds.path == UCI / name
    assert ds.X.dtype == np.float64 and ds.y.dtype == np.int64
    assert ds.X.shape == (int(meta["n_patrons1"]), int(meta["n_entradas"])) == (ds.n, ds.d)
    assert ds.n_classes == int(meta["n_clases"])
    assert ds.y.min() >= 0 and ds.y.max() < ds.n_classes
    train, val = ds.validation
    assert (len(train), len(val)) == (int(meta["n_patrons_entrena"]), int(meta["n_patrons_valida"]))
    assert len(ds.folds) == 4
    for tr, te in [ds.validation, *ds.folds]:
        both = np.concatenate([tr, te])
        assert both.min() >= 0 and both.max() < ds.n
        assert np.intersect1d(tr, te).size == 0
    assert not ds.has_test_file
    with pytest.raises(AttributeError):
        ds.name = "other"  # frozen


@requires_data
def test_data_set_with_a_test_file():
    ds = load_uci(UCI, "statlog-shuttle")
    assert ds.has_test_file and ds.X.shape == (43500, 9) and ds.n_classes == 7


@requires_data
@pytest.mark.parametrize("name", BROKEN)
def test_broken_data_sets_raise_data_error_naming_the_file(name):
    fich1 = _metadata(name)["fich1"]
    with pytest.raises(DataError, match="Missing data file") as info:
        load_uci(UCI, name)
    assert str(UCI / name / fich1) in str(info.value)
    assert "kernelkit data fetch uci" in str(info.value)


@requires_data
def test_iter_uci_reports_and_skips_broken_data_sets():
    reported = []
    datasets = iter_uci(
        UCI, ["adult", "balloons", "musk-*"], on_error=lambda n, e: reported.append((n, e))
    )
    loaded = [ds.name for ds in datasets]
    assert loaded == ["balloons", "musk-1"]
    assert [n for n, _ in reported] == ["adult", "musk-2"]
    assert all(isinstance(e, DataError) and str(UCI / n) in str(e) for n, e in reported)
    with pytest.warns(UserWarning, match="connect-4"):
        assert [ds.name for ds in iter_uci(UCI, ["connect-4", "iris"])] == ["iris"]


@requires_data
def test_globs_and_unknown_names():
    assert select_uci_datasets(UCI, "monks-*") == ["monks-1", "monks-2", "monks-3"]
    assert select_uci_datasets(UCI, ["iris", "ir?s", "balloons"]) == ["iris", "balloons"]
    assert select_uci_datasets(UCI) == list_uci_datasets(UCI)
    with pytest.raises(InputError, match="no-such-set.*e.g.") as info:
        iter_uci(UCI, ["iris", "no-such-set"])  # raised at once, not on iteration
    assert "abalone" in str(info.value)
    with pytest.raises(DataError, match="irsi.*Did you mean iris"):
        load_uci(UCI, "irsi")
    # The root one level too high (the folder holding uci121/) is named in the error.
    with pytest.raises(DataError, match="holds no UCI data set.*did you mean.*uci121"):
        iter_uci(ROOT)
    with pytest.raises(DataError, match="did you mean.*uci121"):
        load_uci(ROOT, "iris")


def _truncate(folder: pathlib.Path) -> None:
    path = folder / "balloons_R.dat"
    text = path.read_text()
    path.write_text(text[: len(text) // 2].rsplit("\t", 2)[0])


def _garble(folder: pathlib.Path) -> None:
    path = folder / "balloons_R.dat"
    path.write_text(path.read_text().replace("0.968246", "O.968246", 1))


def _drop_last_column(folder: pathlib.Path) -> None:
    path = folder / "balloons_R.dat"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(line.rsplit("\t", 1)[0] for line in lines) + "\n")


def _extra_field(folder: pathlib.Path) -> None:
    path = folder / "balloons_R.dat"
    lines = path.read_text().splitlines()
    lines[3] += "\t7"
    path.write_text("\n".join(lines) + "\n")


def _drop_rows(folder: pathlib.Path) -> None:
    path = folder / "balloons_R.dat"
    path.write_text("\n".join(path.read_text().splitlines()[:-2]) + "\n")


def _bad_class(folder: pathlib.Path) -> None:
    path = folder / "balloons_R.dat"
    lines = path.read_text().splitlines()
    lines[1] = lines[1].rsplit("\t", 1)[0] + "\t2"  # n_clases=2: classes 0..1
    path.write_text("\n".join(lines) + "\n")


def _index_out_of_range(folder: pathlib.Path) -> None:
    path = folder / "conxuntos_kfold.dat"
    lines = path.read_text().splitlines()
    lines[3] += " 16"  # 16 rows: 0..15
    path.write_text("\n".join(lines) + "\n")


def _index_overlap(folder: pathlib.Path) -> None:
    path = folder / "conxuntos.dat"
    first, second = path.read_text().splitlines()[:2]
    path.write_text(f"{first}\n{second} {first.split()[0]}\n")


def _index_missing(folder: pathlib.Path) -> None:
    (folder / "conxuntos_kfold.dat").unlink()


def _index_garbled(folder: pathlib.Path) -> None:
    (folder / "conxuntos.dat").write_text("1 2 x\n3 4\n")


def _wrong_n_entradas(folder: pathlib.Path) -> None:
    path = folder / "balloons.txt"
    path.write_text(path.read_text().replace("n_entradas= 4", "n_entradas= 5"))


@requires_data
@pytest.mark.parametrize(
    "corrupt, file, message",
    [
        (_truncate, "balloons_R.dat", "missing or non-finite|rows"),
        (_garble, "balloons_R.dat", "Cannot parse"),
        (_drop_last_column, "balloons_R.dat", "columns; expected 6"),
        (_extra_field, "balloons_R.dat", "Cannot parse"),
        (_drop_rows, "balloons_R.dat", "n_patrons1=16"),
        (_bad_class, "balloons_R.dat", "class 2"),
        (_index_out_of_range, "conxuntos_kfold.dat", "index 16 is out of range"),
        (_index_overlap, "conxuntos.dat", "share"),
        (_index_missing, "conxuntos_kfold.dat", "Missing index file"),
        (_index_garbled, "conxuntos.dat", "not a list of integers"),
        (_wrong_n_entradas, "balloons_R.dat", "n_entradas=5"),
    ],
)
def test_corrupt_files_raise_data_error_naming_them(tmp_path, corrupt, file, message):
    folder = _copy_uci(tmp_path)
    assert load_uci(tmp_path / "uci", "balloons").n == 16  # the copy itself is fine
    corrupt(folder)
    with pytest.raises(DataError, match=message) as info:
        load_uci(tmp_path / "uci", "balloons")
    assert str(folder / file) in str(info.value)
    reported = []
    assert list(iter_uci(tmp_path / "uci", on_error=lambda n, e: reported.append(n))) == []
    assert reported == ["balloons"]


def _scaler_oracle(train: np.ndarray, test: np.ndarray, clip: bool) -> np.ndarray:
    """The paper's preprocessing, written out column by column."""
    out = np.empty_like(test)
    for j in range(train.shape[1]):
        col, t = train[:, j], test[:, j]
        if clip:
            lo, hi = np.percentile(col, 5), np.percentile(col, 95)
            clipped = np.minimum(np.maximum(col, lo), hi)
            sd = clipped.std() or 1.0
            out[:, j] = (np.minimum(np.maximum(t, lo), hi) - clipped.mean()) / sd
        else:
            iqr = np.percentile(col, 75) - np.percentile(col, 25)
            out[:, j] = (t - np.median(col)) / (iqr or 1.0)
    return out


@pytest.mark.parametrize("n, clip", [(150, True), (100, True), (99, False), (20, False)])
def test_uci_scaler_matches_numpy_oracle(n, clip):
    rng = np.random.default_rng(n)
    train = rng.standard_t(2, size=(n, 4))
    train[:, 2] = 3.0  # a constant feature gets the scale 1
    test = 5 * rng.standard_t(2, size=(30, 4))
    scaler = UCIScaler().fit(train)
    assert scaler.clipped_ is clip and scaler.scale_[2] == 1.0
    for fitted, X in ((scaler.transform(test), test), (scaler.fit_transform(train), train)):
        np.testing.assert_allclose(fitted, _scaler_oracle(train, X, clip), rtol=1e-12, atol=1e-12)
    if clip:
        assert np.allclose(scaler.transform(train).mean(0), 0)
    # The threshold is a parameter.
    assert UCIScaler(min_n_for_clip=n + 1).fit(train).clipped_ is False


def test_uci_scaler_rejects_bad_input():
    scaler = UCIScaler().fit(np.ones((5, 2)))
    with pytest.raises(InputError, match="3 features"):
        scaler.transform(np.ones((4, 3)))
    with pytest.raises(InputError, match="NaN"):
        UCIScaler().fit([[np.nan, 1.0]])
    with pytest.raises(InputError):
        UCIScaler(clip_percentiles=(95, 5)).fit(np.ones((200, 1)))


# --------------------------------------------------------------------------- MNIST


def _decode_idx_by_hand(path: pathlib.Path) -> np.ndarray:
    raw = gzip.open(path).read() if path.suffix == ".gz" else path.read_bytes()
    magic, n = struct.unpack(">II", raw[:8])
    if magic == 0x803:
        rows, cols = struct.unpack(">II", raw[8:16])
        return np.array(list(raw[16:]), dtype=np.uint8).reshape(n, rows, cols)
    assert magic == 0x801
    return np.array(list(raw[8:]), dtype=np.uint8)


@pytest.fixture(scope="module")
def mnist_by_hand():
    return (
        _decode_idx_by_hand(MNIST / "t10k-images-idx3-ubyte.gz"),
        _decode_idx_by_hand(MNIST / "t10k-labels-idx1-ubyte.gz"),
    )


@requires_data
def test_mnist_idx_decoding_matches_by_hand(mnist_by_hand):
    images, labels = load_mnist(MNIST)
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    np.testing.assert_array_equal(images, mnist_by_hand[0])
    np.testing.assert_array_equal(labels, mnist_by_hand[1])


@requires_data
def test_mnist_7v9_task():
    X, y, Xt, yt = load_mnist_7v9(MNIST, 1000, 1000, seed=0)
    assert X.shape == Xt.shape == (1000, 576) and X.dtype == np.float64
    assert set(np.unique(y)) == set(np.unique(yt)) == {-1.0, 1.0}
    np.testing.assert_allclose(X.mean(axis=0), 0, atol=1e-12)  # centred on the training mean
    X0, y0, Xt0, yt0 = load_mnist_7v9(MNIST, 1000, 1000, seed=0, center=False)
    np.testing.assert_array_equal(y, y0)
    np.testing.assert_allclose(Xt, Xt0 - X0.mean(axis=0), atol=1e-12)
    assert X0.min() >= 0 and X0.max() <= 1
    X1, y1, _, _ = load_mnist_7v9(MNIST, 1000, 1000, seed=1)
    assert not np.array_equal(y, y1)
    np.testing.assert_array_equal(load_mnist_7v9(MNIST, 1000, 1000, seed=0)[0], X)


@requires_data
def test_mnist_7v9_draw_is_disjoint_and_crop_correct(mnist_by_hand):
    images, labels = mnist_by_hand
    pool = np.flatnonzero((labels == 7) | (labels == 9))
    X, y, Xt, yt = load_mnist_7v9(MNIST, 1500, pool.size - 1500, seed=3, center=False)
    # Train and test together are exactly the pool, each image once: disjoint.
    expected = images[pool, 2:26, 2:26].reshape(pool.size, 576) / 255.0
    got = np.concatenate([X, Xt])
    order = lambda a: a[np.lexsort(a.T[::-1])]  # noqa: E731
    np.testing.assert_array_equal(order(got), order(expected))
    # One image decoded by hand: its 24 x 24 centre, with label +1 for a 7.
    first_seven = np.flatnonzero(labels == 7)[0]
    row = images[first_seven][2:-2, 2:-2].ravel() / 255.0
    match = np.flatnonzero((got == row).all(axis=1))
    assert match.size == 1 and np.concatenate([y, yt])[match[0]] == 1.0
    with pytest.raises(InputError, match=f"only {pool.size} are available"):
        load_mnist_7v9(MNIST, 2000, 100)
    with pytest.raises(InputError, match="n_train"):
        load_mnist_7v9(MNIST, 0, 10)


def _write_idx(path: pathlib.Path, raw: bytes) -> None:
    path.write_bytes(gzip.compress(raw) if path.suffix == ".gz" else raw)


@requires_data
def test_mnist_uncompressed_files_and_corrupt_idx(tmp_path, mnist_by_hand):
    images, labels = mnist_by_hand
    head_images = struct.pack(">IIII", 0x803, 50, 28, 28) + images[:50].tobytes()
    head_labels = struct.pack(">II", 0x801, 50) + labels[:50].tobytes()
    img, lab = tmp_path / "t10k-images-idx3-ubyte", tmp_path / "t10k-labels-idx1-ubyte.gz"
    _write_idx(img, head_images)
    _write_idx(lab, head_labels)
    got_images, got_labels = load_mnist(tmp_path)  # one plain and one gzipped file
    np.testing.assert_array_equal(got_images, images[:50])
    np.testing.assert_array_equal(got_labels, labels[:50])

    cases = [
        (img, b"\x00\x00\x09\x03" + head_images[4:], "bad magic|dimension|28 x 28"),
        (img, b"\x12\x34\x08\x03" + head_images[4:], "bad magic"),
        (img, head_images[:-100], "truncated or corrupt"),
        (lab, struct.pack(">II", 0x801, 51) + labels[:50].tobytes(), "truncated or corrupt"),
        (lab, struct.pack(">II", 0x803, 50) + labels[:50].tobytes(), "3 dimension"),
    ]
    for path, raw, message in cases:
        good = path.read_bytes()
        _write_idx(path, raw)
        with pytest.raises(DataError, match=message) as info:
            load_mnist(tmp_path)
        assert str(path) in str(info.value)
        path.write_bytes(good)
    lab.write_bytes(gzip.compress(head_labels)[:40])  # broken gzip stream
    with pytest.raises(DataError, match=re.escape(str(lab))):
        read_idx(lab)
    lab.unlink()
    with pytest.raises(DataError, match="partner"):
        load_mnist(tmp_path)
    img.unlink()
    with pytest.raises(DataError, match="No MNIST IDX files"):
        load_mnist(tmp_path)


# --------------------------------------------------------------------------- Higgs


@requires_data
def test_higgs_features_exclude_leaky_columns():
    X, y, names = read_higgs(HIGGS)
    assert len(names) == 30 and not set(names) & set(NON_FEATURE_COLUMNS)
    assert not (X == -999.0).any() and set(np.unique(y)) == {-1.0, 1.0}
    raw = pd.concat([pd.read_csv(p) for p in sorted(HIGGS.glob("*.csv"))], ignore_index=True)
    features = [c for c in raw.columns if c not in NON_FEATURE_COLUMNS]
    complete = raw[~(raw[features] == -999.0).any(axis=1)]
    assert len(complete) == X.shape[0]
    np.testing.assert_array_equal(X, complete[features].to_numpy())
    # No column of X is (a copy of) any excluded column; Weight alone separates the classes.
    for column in ("EventId", "Weight", "KaggleWeight"):
        values = complete[column].to_numpy(dtype=float)
        assert not any(np.allclose(X[:, j], values) for j in range(X.shape[1]))
    np.testing.assert_array_equal(y, np.where(complete["Label"] == "s", 1.0, -1.0))


@requires_data
def test_higgs_task_draw_and_scaling():
    X, y, Xt, yt = load_higgs(HIGGS, 1000, 1000, seed=0)
    assert X.shape == Xt.shape == (1000, 30)
    assert set(np.unique(y)) == set(np.unique(yt)) == {-1.0, 1.0}
    assert y.sum() == 0 and yt.sum() == 0  # balanced
    np.testing.assert_array_equal(np.abs(X).max(axis=0), 1.0)  # in [-1, 1], and reaches it
    rows = {r.tobytes() for r in X}
    assert not any(r.tobytes() in rows for r in Xt)  # disjoint
    _, y_random, _, _ = load_higgs(HIGGS, 1000, 1000, seed=0, balanced=False)
    assert y_random.sum() != 0
    with pytest.raises(InputError, match="only 1105 are available"):
        load_higgs(HIGGS, 1500, 1000)


def _higgs_frame(label: str, first_id: int, rows: list[list[float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["DER_a", "PRI_b", "PRI_zero"])
    frame.insert(0, "EventId", range(first_id, first_id + len(rows)))
    frame["Weight"], frame["Label"] = 9.0, label
    frame["KaggleSet"], frame["KaggleWeight"] = "t", 1.0
    return frame


def test_higgs_scaling_uses_training_factors_and_files(tmp_path):
    signal = [[2.0, -8.0, 0.0]] * 6 + [[-999.0, 1.0, 0.0]]
    background = [[-4.0, 1.0, 0.0]] * 6 + [[1.0, -999.0, 0.0]]
    _higgs_frame("s", 0, signal).to_csv(tmp_path / "sig.csv", index=False)
    _higgs_frame("b", 100, background).to_csv(tmp_path / "bg.csv.gz", index=False)
    X, y, Xt, yt = load_higgs(tmp_path, 4, 4, seed=0)
    factors = np.array([4.0, 8.0, 1.0])  # max |x| over training rows (both classes); zero -> 1
    for A, labels in ((X, y), (Xt, yt)):
        expected = np.where(labels[:, None] > 0, [2.0, -8.0, 0.0], [-4.0, 1.0, 0.0]) / factors
        np.testing.assert_array_equal(A, expected)
    with pytest.raises(InputError, match="only 6 are available"):
        load_higgs(tmp_path, 8, 6)
    # A full Kaggle file, when present, is read alone.
    _higgs_frame("b", 500, [[1.0, 1.0, 1.0]] * 4).to_csv(tmp_path / "training.csv", index=False)
    assert [p.name for p in higgs_files(tmp_path)] == ["training.csv"]
    (tmp_path / "training.csv").unlink()
    # Overlapping files (one event twice) would leak test events into training.
    _higgs_frame("s", 0, signal[:1]).to_csv(tmp_path / "sig2.csv", index=False)
    with pytest.raises(DataError, match="appears twice"):
        read_higgs(tmp_path)
    (tmp_path / "sig2.csv").unlink()
    # A CSV without labels or features, and an unparsable one, name their path.
    pd.DataFrame({"EventId": [1], "Weight": [1.0]}).to_csv(tmp_path / "other.csv", index=False)
    with pytest.raises(DataError, match="other.csv.*not a labelled Higgs file"):
        read_higgs(tmp_path)
    (tmp_path / "other.csv").write_text("EventId,DER_a,PRI_b,PRI_zero,Label\n1,x,2,0,s\n")
    with pytest.raises(DataError, match="other.csv"):
        read_higgs(tmp_path)
    (tmp_path / "other.csv").unlink()
    (tmp_path / "sig.csv").write_text("EventId,DER_a,PRI_b,PRI_zero,Label\n1,1,2,0,q\n")
    with pytest.raises(DataError, match="labels must be"):
        read_higgs(tmp_path)


def test_higgs_empty_folder(tmp_path):
    with pytest.raises(DataError, match="No Higgs CSV file.*kernelkit data fetch higgs"):
        load_higgs(tmp_path)
