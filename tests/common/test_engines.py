"""Engines of ``kernelkit bench``: Ray equals local, dead and hung workers, killed drivers.

The Ray tests start one local cluster (127.0.0.1, 2 CPUs, no dashboard) for
the module and stop it at the end, also when a test fails. The units are
Laplace and Gaussian KRR on tiny generated UCI-layout data sets (no download).
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from kernelkit.benchmarks.results import JOURNAL, read_results
from kernelkit.benchmarks.unitrun import FAULT_ENV
from kernelkit.cli.main import main

#: 2 data sets x 10 configurations (validation) + 2 x 2 methods x 4 folds (test): 36 units.
GRID = {"methods": ["laplace", "gaussian"], "laplace": {"bandwidth": [0.5, 1.0, 2.0, 4.0, 8.0]},
        "gaussian": {"bandwidth_scale": [0.25, 0.5, 1.0, 2.0, 4.0]}, "lam_tilde": [1e-3, 1e-1]}
UNITS = 36
KEY = ["dataset", "fold", "split", "method", "config", "lam_tilde", "seed"]


def write_uci(root: pathlib.Path, name: str, n: int = 40, d: int = 3, seed: int = 0) -> None:
    """A small two-class data set in the UCI collection's layout."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = (X[:, 0] + 0.3 * rng.normal(size=n) > 0).astype(int)
    folder = root / name
    folder.mkdir(parents=True)
    (folder / f"{name}.txt").write_text(
        f"n_entradas= {d}\nn_clases= 2\nn_arquivos= 1\nfich1= {name}_R.dat\nn_patrons1= {n}\n")
    header = "\t" + "\t".join(f"f{i + 1}" for i in range(d)) + "\tclase\n"
    body = "".join(f"{i + 1}\t" + "\t".join(f"{v:.6f}" for v in X[i]) + f"\t{y[i]}\n"
                   for i in range(n))
    (folder / f"{name}_R.dat").write_text(header + body)
    order = rng.permutation(n)
    line = lambda idx: " ".join(map(str, idx)) + "\n"  # noqa: E731
    (folder / "conxuntos.dat").write_text(line(order[: n // 2]) + line(order[n // 2:]))
    folds = np.array_split(order, 4)
    (folder / "conxuntos_kfold.dat").write_text("".join(
        line(np.concatenate([f for j, f in enumerate(folds) if j != i])) + line(folds[i])
        for i in range(4)))


@pytest.fixture(scope="module")
def uci(tmp_path_factory) -> tuple[pathlib.Path, str]:
    root = tmp_path_factory.mktemp("uci")
    write_uci(root, "alpha", seed=1)
    write_uci(root, "beta", n=48, d=4, seed=2)
    grid = root.parent / "engines-grid.json"
    grid.write_text(json.dumps(GRID))
    return root, str(grid)


@pytest.fixture(scope="module")
def ray_cluster():
    """A local Ray cluster for this module (its GCS address), always shut down."""
    import ray  # CI installs kernelkit[all], which includes ray: a missing ray fails here

    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1",
             log_to_driver=False, configure_logging=False)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


def _bench(uci, out: pathlib.Path, *extra: str) -> pd.DataFrame:
    root, grid = uci
    result = CliRunner().invoke(main, ["bench", "uci", "--data-dir", str(root), "--grid", grid,
                                       "--out", str(out), "-q", *extra])
    assert result.exit_code == 0, result.output
    return read_results(out).sort_values(KEY).reset_index(drop=True)


def _journal(out: pathlib.Path) -> list[str]:
    return [line for line in (out / JOURNAL).read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def local_table(uci, tmp_path_factory) -> pd.DataFrame:
    return _bench(uci, tmp_path_factory.mktemp("local") / "run")


def test_ray_gives_the_same_rows_as_local(uci, ray_cluster, local_table, tmp_path):
    out = tmp_path / "ray"
    table = _bench(uci, out, "--engine", "ray", "--cpus-per-unit", "1")
    assert len(_journal(out)) == UNITS
    assert (table["status"] == "ok").all() and (local_table["status"] == "ok").all()
    pd.testing.assert_frame_equal(table[KEY + ["value", "unit_id"]],
                                  local_table[KEY + ["value", "unit_id"]])
    assert set(table["engine"]) == {"ray"} and set(local_table["engine"]) == {"local"}
    assert set(table["mem_measure"]) == {"worker-peak"}
    assert set(local_table["mem_measure"]) == {"in-process-growth"}
    assert (table["peak_mem_mb"] > 100).all()   # a worker holds keras and torch
    assert table["host"].str.len().min() > 0 and table["device"].str.startswith("torch").all()


@pytest.mark.parametrize("engine", ["pool", "ray"])
def test_dead_and_hung_workers_are_retried_then_rows(uci, ray_cluster, local_table, tmp_path,
                                                     monkeypatch, engine):
    """One sweep per engine: a unit whose worker dies once (retried, then ok), one
    (not the best of its data set on the validation half, so the choices stay)
    whose worker dies every time (two attempts, then a failed row) and one that
    hangs (killed at --unit-timeout, retried, then a timeout row); the sweep goes on."""
    marker = tmp_path / "died-once"
    faults = [{"match": {"dataset": "alpha", "split": "val", "method": "laplace"},
               "action": "exit", "once": str(marker)},
              {"match": {"dataset": "beta", "split": "val", "method": "gaussian",
                         "config": json.dumps({"bandwidth_scale": 0.25})}, "action": "exit"},
              {"match": {"dataset": "alpha", "split": "test", "method": "laplace", "fold": "2"},
               "action": "sleep:120"}]
    monkeypatch.setenv(FAULT_ENV, json.dumps(faults))
    args = ["--workers", "2"] if engine == "pool" else ["--engine", "ray"]
    out = tmp_path / "run"
    # No wall-clock bound: under load the sweep itself can take minutes. The hung
    # unit (sleep 120 s) not holding the run shows as its timeout row below.
    table = _bench(uci, out, *args, "--unit-timeout", "8")
    assert marker.exists()                            # the first attempt ran and died ...
    assert len(_journal(out)) == UNITS                # one line per unit, none repeated
    failed = table[table["status"] == "failed"]
    assert len(failed) == 1 and failed["dataset"].iloc[0] == "beta"
    assert "died" in failed["reason"].iloc[0] and "tried twice" in failed["reason"].iloc[0]
    hung = table[table["status"] == "timeout"]
    assert len(hung) == 1 and "--unit-timeout 8 s" in hung["reason"].iloc[0]
    assert (hung["dataset"] == "alpha").all() and (hung["fold"] == "2").all()
    ok = table[table["status"] == "ok"].reset_index(drop=True)
    lost = (((local_table["dataset"] == "beta") & (local_table["split"] == "val")
             & (local_table["method"] == "gaussian")
             & (local_table["config"] == json.dumps({"bandwidth_scale": 0.25})))
            | ((local_table["dataset"] == "alpha") & (local_table["split"] == "test")
               & (local_table["method"] == "laplace") & (local_table["fold"] == "2")))
    expected = local_table[~lost].reset_index(drop=True)
    assert len(ok) == len(expected)                   # ... its retry succeeded
    pd.testing.assert_frame_equal(ok[KEY + ["value"]], expected[KEY + ["value"]])


def test_out_of_memory_in_process_is_retried_then_an_oom_row(uci, tmp_path, monkeypatch):
    marker = tmp_path / "oom-once"
    monkeypatch.setenv(FAULT_ENV, json.dumps({"match": {"dataset": "beta", "method": "laplace"},
                                              "action": "oom", "once": str(marker)}))
    table = _bench(uci, tmp_path / "once")
    assert marker.exists() and (table["status"] == "ok").all()
    monkeypatch.setenv(FAULT_ENV, json.dumps({"match": {"dataset": "beta", "method": "laplace",
                                                        "split": "val"}, "action": "oom"}))
    table = _bench(uci, tmp_path / "always")
    bad = table[table["status"] != "ok"]
    assert set(bad["status"]) == {"oom"} and len(bad) == 5        # 5 bandwidths of beta
    assert bad["reason"].str.contains("MemoryError").all()


def test_killed_ray_driver_resumes_on_local(uci, ray_cluster, local_table, tmp_path):
    root, grid = uci
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "kernelkit.cli.main", "bench", "uci", "--data-dir", str(root),
           "--grid", grid, "--out", str(out), "-q", "--engine", "ray", "--address", ray_cluster]
    # Each unit sleeps a little, so that the driver is killed mid-run.
    env = {**os.environ, FAULT_ENV: json.dumps({"match": {}, "action": "sleep:0.3"})}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None:
            if (out / JOURNAL).exists() and len(_journal(out)) >= 3:
                break
            time.sleep(0.05)
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    before = _journal(out)
    assert 3 <= len(before) < UNITS
    table = _bench(uci, out, "--resume")                            # local engine
    after = _journal(out)
    assert after[:len(before)] == before                            # nothing finished was lost
    ids = [json.loads(line)["unit_id"] for line in after]
    assert len(ids) == len(set(ids)) == UNITS                       # nothing repeated
    assert set(table["engine"]) == {"ray", "local"}
    pd.testing.assert_frame_equal(table[KEY + ["value"]], local_table[KEY + ["value"]])


def test_ray_missing_says_how_to_install(uci, tmp_path):
    code = textwrap.dedent(f"""
        import sys
        sys.modules["ray"] = None  # as if not installed
        from kernelkit.cli.main import main
        sys.argv = ["kernelkit", "bench", "uci", "--engine", "ray", "--data-dir",
                    {str(uci[0])!r}, "--out", {str(tmp_path / "o")!r}]
        main()
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 1, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines[-1] == 'Error: --engine ray needs Ray: pip install "kernelkit[ray]"'
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "o").exists()                             # nothing written


def test_a_jax_bench_process_never_loads_tensorflow(uci, tmp_path):
    """Driver and in-process units of every method on JAX: no tensorflow in sys.modules."""
    root, _ = uci
    grid = tmp_path / "grid.json"
    tiny = {"depth": [1], "width": [8], "activation": "gelu", "epochs": 2}
    grid.write_text(json.dumps({
        "methods": ["ntk-kare", "network", "gaussian", "laplace", "rfm"],
        "ntk-kare": {**tiny, "z": 0.1, "learning_rate": [1.0], "optimizer": "sgd"},
        "network": {**tiny, "learning_rate": 1e-3, "batch_size": 16, "optimizer": "adam"},
        "lam_tilde": [1e-1]}))
    code = textwrap.dedent(f"""
        import sys
        from kernelkit.cli.main import main
        try:
            main(["bench", "uci", "--backend", "jax", "--data-dir", {str(root)!r},
                  "--datasets", "alpha", "--grid", {str(grid)!r}, "--out", {str(tmp_path / "o")!r},
                  "-q"], standalone_mode=False)
        finally:
            print("TF-AFTER-RUN", "tensorflow" in sys.modules)
    """)
    # Control, in a fresh process (Keras caches tf.available): the same kind of unit
    # outside a bench process does load TensorFlow, so the check above can fail.
    control = textwrap.dedent("""
        import sys
        import numpy as np
        from kernelkit.benchmarks.methods import Task, run_method
        X = np.random.default_rng(0).normal(size=(20, 3)); y = (X[:, 0] > 0).astype(int)
        run_method("laplace", Task(X, y, X, y, "classification"), {"bandwidth": 1.0}, 0, [0.1])
        print("TF-WITHOUT-GUARD", "tensorflow" in sys.modules)
    """)
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "TF-AFTER-RUN False" in done.stdout, done.stdout
    table = read_results(tmp_path / "o")
    assert (table["status"] == "ok").all() and set(table["method"]) >= {"ntk-kare", "dnn", "rfm"}
    done = subprocess.run([sys.executable, "-c", control], capture_output=True, text=True,
                          timeout=600, env=env)
    assert "TF-WITHOUT-GUARD True" in done.stdout, done.stderr[-3000:]
