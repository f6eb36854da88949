#!/usr/bin/env bash
# Set everything up and run the whole test suite:
#   1. a virtual environment (.venv, or $KERNELKIT_VENV) with kernelkit[all];
#   2. the unit tests under each Keras backend, each in its own process, and the
#      backend-independent ones (tests/common: data, CLI, results, plots) once;
#   3. the cross-backend consistency test (every backend must run);
#   4. the documentation, built in strict mode.
# Prints one closing line "kernelkit: N passed, N failed, N skipped" and exits
# non-zero if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
VENV=${KERNELKIT_VENV:-.venv}
PY=${PYTHON:-python3}

if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV" || exit 1
fi
"$VENV/bin/python" -m pip install -q --upgrade pip || exit 1
# torch is pinned in the [torch] extra (2.13.0: the CPU wheel); see README.
"$VENV/bin/python" -m pip install -q -e ".[all]" || exit 1

# One thread each: multi-threaded BLAS on 2 cores is 20-40x slower.
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
export TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 TF_CPP_MIN_LOG_LEVEL=2
export XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"

reports=$(mktemp -d)
status=0
run_backend() {  # one process per backend; its output goes to a log shown afterwards
  # scikit-learn's API conformance suite (parametrize_with_checks: parameters,
  # cloning, input validation, ~600 small fits) runs under torch only, where it
  # takes 2 minutes instead of 17 under JAX; every backend runs the rest of
  # tests/test_estimators.py, and tests/cross_backend compares the estimators'
  # fits across the three backends.
  local only_once=()
  [ "$1" != torch ] && only_once=(--deselect tests/test_estimators.py::test_sklearn_conformance)
  KERAS_BACKEND=$1 "$VENV/bin/python" -m pytest tests --ignore=tests/cross_backend \
    --ignore=tests/common "${only_once[@]}" -q -p no:cacheprovider \
    --junitxml="$reports/$1.xml" > "$reports/$1.log" 2>&1
}
# Tests that do not depend on the Keras backend (data, CLI, results, plots):
# once, under torch (the quickest to start).
run_common() {
  KERAS_BACKEND=torch "$VENV/bin/python" -m pytest tests/common -q -p no:cacheprovider \
    --junitxml="$reports/common.xml" > "$reports/common.log" 2>&1
}
# Two processes at a time (each single-threaded): JAX, the slowest, beside
# torch then TensorFlow.
run_backend jax & jax_pid=$!
run_backend torch || status=1
run_common || status=1
run_backend tensorflow || status=1
wait "$jax_pid" || status=1
for backend in jax torch tensorflow; do
  echo "=== unit tests, KERAS_BACKEND=$backend ==="
  cat "$reports/$backend.log"
done
echo "=== backend-independent tests (tests/common) ==="
cat "$reports/common.log"
echo "=== cross-backend consistency (jax, torch, tensorflow) ==="
"$VENV/bin/python" -m pytest tests/cross_backend -q -p no:cacheprovider \
  --junitxml="$reports/cross.xml" || status=1
echo "=== documentation (mkdocs --strict) ==="
"$VENV/bin/mkdocs" build --strict -q -d "$reports/site" || status=1

"$VENV/bin/python" - "$reports" <<'PY'
import pathlib, sys, xml.etree.ElementTree as ET
total = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
for f in pathlib.Path(sys.argv[1]).glob("*.xml"):
    for suite in ET.parse(f).getroot().iter("testsuite"):
        for k in total:
            total[k] += int(suite.get(k, 0))
failed = total["failures"] + total["errors"]
passed = total["tests"] - failed - total["skipped"]
print(f"kernelkit: {passed} passed, {failed} failed, {total['skipped']} skipped")
PY
exit $status
