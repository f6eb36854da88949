"""A first run after ``pip install -e ".[jax]"``: one-line messages, never a traceback.

Builds ONE fresh virtual environment per test session with only the jax extra
(no tensorflow, no torch), from pip's cache and the configured package index.
It needs the package registry: if pip cannot install, the test fails (it is
never skipped). About a minute from pip's cache; marked ``install``.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import venv

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.install


@pytest.fixture(scope="session")
def jax_only(tmp_path_factory) -> dict:
    """A fresh venv holding kernelkit[jax]; returns its bin folder and a clean environment."""
    root = tmp_path_factory.mktemp("fresh")
    env_dir = root / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    bin_dir = env_dir / "bin"
    install = subprocess.run(
        # --no-compile: byte-compiling jax, scipy, pandas... is most of an install's time.
        [str(bin_dir / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
         "--no-compile", "-e", f"{REPO}[jax]"], capture_output=True, text=True, timeout=900)
    assert install.returncode == 0, (
        f"pip could not install kernelkit[jax] into a fresh venv (it needs the package "
        f"registry):\n{install.stderr[-3000:]}")
    home = root / "home"
    home.mkdir()
    drop = ("KERAS_BACKEND", "KERAS_HOME", "PYTHONPATH", "VIRTUAL_ENV", "KERNELKIT_CACHE")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(HOME=str(home), KERNELKIT_DATA=str(root / "no-data"),
               PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}")
    return {"bin": bin_dir, "env": env, "root": root}


def _run(jax_only: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(jax_only["bin"] / "kernelkit"), *args], capture_output=True,
                          text=True, env=jax_only["env"], cwd=jax_only["root"], timeout=300)


def _no_traceback(out: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in out.stdout + out.stderr, out.stderr


def test_the_fresh_venv_has_only_jax(jax_only):
    code = "import importlib.util as u; print([u.find_spec(m) is None for m in ('tensorflow', 'torch', 'jax')])"
    out = subprocess.run([str(jax_only["bin"] / "python"), "-c", code], capture_output=True,
                         text=True, env=jax_only["env"], timeout=60)
    assert out.stdout.strip() == "[True, True, False]", out.stdout + out.stderr


def test_info_uses_jax_and_says_so(jax_only):
    out = _run(jax_only, "info")
    _no_traceback(out)
    assert out.returncode == 0, out.stderr
    assert "jax" in out.stdout and "float64 available" in out.stdout
    # One line says which backend (a framework may add its own log lines on some machines).
    notes = [line for line in out.stderr.splitlines() if line.startswith("kernelkit:")]
    assert len(notes) == 1 and "using the jax backend" in notes[0], out.stderr
    assert "tensorflow, is not installed" in notes[0]


def test_bench_uci_without_data_is_one_line(jax_only):
    out = _run(jax_only, "bench", "uci", "--out", str(jax_only["root"] / "uci-out"))
    _no_traceback(out)
    assert out.returncode == 1
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "kernelkit data fetch uci" in lines[0], out.stderr


def test_bench_with_a_missing_backend_names_the_pip_command(jax_only):
    out = _run(jax_only, "bench", "synthetic", "--backend", "torch")
    _no_traceback(out)
    assert out.returncode == 1
    assert out.stderr.strip() == ('Error: the torch backend is not installed (--backend asks '
                                  'for it): pip install "kernelkit[torch]"'), out.stderr


def test_library_picks_jax_and_warns_once(jax_only):
    code = ("import warnings, kernelkit as kk\n"
            "with warnings.catch_warnings(record=True) as w:\n"
            "    warnings.simplefilter('always')\n"
            "    kk.kare; kk.NTK\n"
            "print(kk.backends.BACKEND, sum('KERAS_BACKEND=jax' in str(x.message) for x in w))\n")
    out = subprocess.run([str(jax_only["bin"] / "python"), "-c", code], capture_output=True,
                         text=True, env=jax_only["env"], timeout=300)
    _no_traceback(out)
    assert out.stdout.split() == ["jax", "1"], out.stdout + out.stderr

