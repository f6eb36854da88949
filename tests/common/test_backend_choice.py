"""The choice of the Keras backend (kernelkit._backend_choice), without importing frameworks."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from kernelkit import _backend_choice as choice
from kernelkit.cli.main import main
from kernelkit.errors import BackendError


@pytest.fixture
def world(monkeypatch, tmp_path):
    """A process where keras is not imported yet, no KERAS_BACKEND, no keras.json and
    only the frameworks in ``installed`` (a set the test fills)."""
    installed: set[str] = set()
    monkeypatch.setattr(choice, "is_installed", lambda name: name in installed)
    monkeypatch.setattr(choice, "imported_backend", lambda: None)
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    return installed


def test_keras_default_when_it_is_installed(world):
    world.update({"jax", "tensorflow"})
    picked = choice.choose_backend()
    assert (picked.name, picked.automatic) == ("tensorflow", True)


def test_first_installed_when_the_default_is_missing(world):
    world.update({"torch", "jax"})
    picked = choice.choose_backend()
    assert picked.name == "jax" and "tensorflow, is not installed" in picked.reason
    assert "jax" in picked.note() and "\n" not in picked.note()


def test_keras_json_is_keras_default(world, tmp_path):
    (tmp_path / "keras-home").mkdir()
    (tmp_path / "keras-home" / "keras.json").write_text(json.dumps({"backend": "torch"}))
    world.update({"torch", "jax", "tensorflow"})
    assert choice.choose_backend().name == "torch"


@pytest.mark.parametrize("how", ["--backend", "KERAS_BACKEND"])
def test_missing_backend_names_the_pip_command(world, monkeypatch, how):
    world.add("jax")
    if how == "KERAS_BACKEND":
        monkeypatch.setenv("KERAS_BACKEND", "torch")
    with pytest.raises(BackendError, match=r'pip install "kernelkit\[torch\]"') as err:
        choice.choose_backend("torch" if how == "--backend" else None)
    assert how in str(err.value) and "\n" not in str(err.value)


def test_unknown_and_no_backend(world, monkeypatch):
    with pytest.raises(BackendError, match=r'no Keras backend is installed: pip install'):
        choice.choose_backend()
    monkeypatch.setenv("KERAS_BACKEND", "numpy")
    with pytest.raises(BackendError, match="kernelkit runs on jax, torch, tensorflow"):
        choice.choose_backend()


def test_cli_says_which_and_fails_in_one_line(world, monkeypatch):
    world.add("jax")
    monkeypatch.setattr("kernelkit.cli.bench._run", lambda *a: None)  # no framework import
    monkeypatch.setattr("kernelkit.cli.bench._check_gpu", lambda device: None)
    monkeypatch.setattr("kernelkit._environment.apply_threads",
                        lambda *a: None)
    monkeypatch.setenv("KERAS_BACKEND", "")
    ok = CliRunner().invoke(main, ["bench", "synthetic", "-q"])  # output: stdout + stderr
    assert ok.exit_code == 0, ok.output
    assert "using the jax backend" in ok.output and os.environ["KERAS_BACKEND"] == "jax"
    bad = CliRunner().invoke(main, ["bench", "synthetic", "--backend", "torch"])
    assert bad.exit_code == 1 and bad.output.strip().count("\n") == 0
    assert 'pip install "kernelkit[torch]"' in bad.output
    assert isinstance(bad.exception, SystemExit)  # click's exit, no Python traceback


def test_cli_keeps_no_tuple_of_its_own():
    from kernelkit.cli import _backend, bench

    assert _backend.BACKENDS is choice.BACKENDS
    assert not hasattr(bench, "BACKENDS")


def test_library_sets_the_installed_backend_and_warns_once(tmp_path):
    # A process where tensorflow (Keras' default) cannot be found or imported.
    code = (
        "import sys, warnings\n"
        "sys.modules['tensorflow'] = None\n"
        "import kernelkit as kk\n"
        "import os; assert 'KERAS_BACKEND' not in os.environ and 'keras' not in sys.modules\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    kk.kare; kk.KernelRidge; kk.NTK\n"
        "import keras\n"
        "mine = [str(w.message) for w in caught if issubclass(w.category, UserWarning)\n"
        "        and 'KERAS_BACKEND' in str(w.message)]\n"
        "print(keras.backend.backend(), os.environ['KERAS_BACKEND'], len(mine), mine[0])\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env["KERAS_HOME"] = str(tmp_path)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    backend, variable, count, message = out.stdout.split(" ", 3)
    assert backend == variable == choice.installed_backends()[0] != "tensorflow"
    assert count == "1" and f"KERAS_BACKEND={backend}" in message


def test_keras_json_naming_another_keras_backend_falls_back(world, tmp_path):
    (tmp_path / "keras-home").mkdir()
    (tmp_path / "keras-home" / "keras.json").write_text(json.dumps({"backend": "numpy"}))
    world.update({"torch", "numpy"})
    picked = choice.choose_backend()
    assert picked.name == "torch" and "numpy, is not a kernelkit backend" in picked.reason
