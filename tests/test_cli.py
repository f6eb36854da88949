"""The command line: instant help, info, and the end-to-end example."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner
from helpers import BACKEND

from kernelkit.cli.main import main


def test_help_lists_commands_without_importing_keras():
    code = ("import sys; from kernelkit.cli.main import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print('keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert "info" in out.stdout and "example" in out.stdout
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_info_reports_the_backend():
    result = CliRunner().invoke(main, ["info", "--backend", BACKEND])
    assert result.exit_code == 0, result.output
    assert BACKEND in result.output and "float64 available" in result.output


def test_example_runs_end_to_end():
    result = CliRunner().invoke(main, ["example", "--n", "60", "--epochs", "3",
                                       "--learning-rate", "10"])
    assert result.exit_code == 0, result.output
    assert "KARE:" in result.output and "NTK-KARE" in result.output


def test_switching_backend_after_keras_is_imported_is_refused():
    other = "torch" if BACKEND != "torch" else "jax"
    result = CliRunner().invoke(main, ["info", "--backend", other])
    assert result.exit_code == 2 and "already imported" in result.output
