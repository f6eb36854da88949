"""The built wheel installs only ``kernelkit`` and imports its mapped subpackages."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_wheel_installs_only_kernelkit(tmp_path):
    wheel_dir, target = tmp_path / "wheel", tmp_path / "site"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(wheel_dir), str(ROOT)],
        capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr[-3000:]
    wheels = list(wheel_dir.glob("kernelkit-*.whl"))
    assert len(wheels) == 1
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
         str(wheels[0])], capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr[-3000:]
    top_level = {p.name for p in target.iterdir() if not p.name.endswith(".dist-info")}
    assert top_level - {"bin"} == {"kernelkit"}, top_level
    code = (
        "import kernelkit, kernelkit.backends, kernelkit.cli, kernelkit.benchmarks, "
        "kernelkit.benchmarks.perf, pathlib;"
        "mods = [kernelkit, kernelkit.backends, kernelkit.cli, kernelkit.benchmarks];"
        f"assert all(pathlib.Path(m.__file__).is_relative_to({str(target)!r}) for m in mods);"
        "print(kernelkit.backends.BACKEND, kernelkit.NTK.__name__)"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.split()[-1] == "NTK"
