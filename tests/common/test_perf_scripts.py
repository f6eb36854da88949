"""The benchmark scripts' worker plumbing: each case in its own process, one row each.

Figures are not checked here (benchmarks print them, tests never time
anything); what is checked is that a case runs in a worker of the chosen
backend and its row comes back, and that a malformed case is refused before
any worker starts.
"""

from __future__ import annotations

import subprocess
import sys


def _run(*args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_iterative_perf_runs_a_case_in_a_torch_worker():
    out = _run("kernelkit.benchmarks.iterative_perf", "--backend", "torch",
               "--cases", "gaussian:600")
    lines = out.splitlines()
    assert lines[0].startswith("backend torch, float32, one thread")
    row = next(ln for ln in lines if ln.startswith("gaussian"))
    fields = row.split()
    assert fields[1] == "600" and fields[2] == "gram"
    assert 0.0 < float(fields[-2]) < 1.0  # KARE of the synthetic task's targets


def test_iterative_perf_refuses_a_malformed_case():
    proc = subprocess.run([sys.executable, "-m", "kernelkit.benchmarks.iterative_perf",
                           "--cases", "gaussian:600", "rbf:100"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2
    assert "KIND:N" in proc.stderr and "rbf:100" in proc.stderr and "Traceback" not in proc.stderr


def test_solvers_perf_runs_a_case_in_a_torch_worker():
    out = _run("kernelkit.benchmarks.solvers_perf", "--backends", "torch", "--paths",
               "features", "--sizes", "500", "--dims", "5", "--repeats", "1")
    row = next(ln for ln in out.splitlines() if ln.startswith("torch"))
    fields = row.split()
    assert fields[1:5] == ["features", "500", "5", str(5 * 64 + 64 + 64 + 1)]


def test_iterative_perf_products_only_skips_the_step():
    out = _run("kernelkit.benchmarks.iterative_perf", "--backend", "torch", "--products-only",
               "--cases", "gaussian:600")
    fields = next(ln for ln in out.splitlines() if ln.startswith("gaussian")).split()
    assert fields[:4] == ["gaussian", "600", "gram", "300"]  # rank: half of n
    assert fields[4:7] == ["-", "-", "-"] and fields[-1] == "-"
    assert float(fields[7]) > 0.0 and float(fields[9]) > 0.0  # product, gradient


def test_iterative_perf_step_only_skips_the_parts():
    out = _run("kernelkit.benchmarks.iterative_perf", "--backend", "torch", "--step-only",
               "--cases", "gaussian:600")
    fields = next(ln for ln in out.splitlines() if ln.startswith("gaussian")).split()
    assert fields[:4] == ["gaussian", "600", "gram", "300"]
    assert fields[8:11] == ["-", "-", "-"]  # product, preconditioner, gradient not timed
    assert int(fields[6]) > 0 and 0.0 < float(fields[-2]) < 1.0  # products; KARE
