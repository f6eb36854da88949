"""ResultStore: journal first, throttled atomic exports, resume after a torn write."""

from __future__ import annotations

import json
import os
import stat

import pytest

from kernelkit.benchmarks.results import JOURNAL, ResultStore, atomic_write_text, read_results
from kernelkit.errors import InputError


def _unit(i: int) -> dict:
    return {"suite": "synthetic", "dataset": "a", "fold": "test", "split": "test",
            "method": "dnn", "config": "{}", "seed": i}


def _rows(unit: dict) -> list[dict]:
    return [{**unit, "metric": "mse", "value": 0.1 * unit["seed"], "status": "ok"}]


def test_exports_are_throttled_and_close_writes_everything(tmp_path):
    store = ResultStore(tmp_path, "csv", export_interval=3600)
    for i in range(5):
        store.add(_unit(i), _rows(_unit(i)))
    assert len(read_results(tmp_path)) == 1        # exported after the first unit only
    assert len(store.table()) == 5                 # but every unit is in the journal
    store.close()
    assert len(read_results(tmp_path)) == 5


def test_resume_after_a_torn_journal_line_rebuilds_the_table(tmp_path):
    store = ResultStore(tmp_path, "json", export_interval=3600)
    for i in range(3):
        store.add(_unit(i), _rows(_unit(i)))
    # A kill during the 4th write: half a line, and no final export.
    with open(tmp_path / JOURNAL, "a") as fh:
        fh.write(json.dumps({"key": "x", "rows": []})[:10])
    with pytest.raises(InputError, match="--resume"):
        ResultStore(tmp_path, "json")
    resumed = ResultStore(tmp_path, "json", resume=True)
    assert [resumed.done(_unit(i)) for i in range(4)] == [True, True, True, False]
    assert sorted(read_results(tmp_path)["seed"]) == [0, 1, 2]   # rebuilt on resume
    resumed.add(_unit(3), _rows(_unit(3)))
    resumed.close()
    lines = (tmp_path / JOURNAL).read_text().splitlines()
    assert len(lines) == 4 and all(json.loads(line) for line in lines)
    assert sorted(read_results(tmp_path)["seed"]) == [0, 1, 2, 3]


def test_bad_format_and_status(tmp_path):
    with pytest.raises(InputError, match="format"):
        ResultStore(tmp_path, "xlsx")
    store = ResultStore(tmp_path / "s", "csv")
    with pytest.raises(InputError, match="status"):
        store.add(_unit(0), [{**_unit(0), "status": "great"}])


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664)])
def test_every_file_honours_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        for fmt in ("csv", "json", "parquet"):
            store = ResultStore(tmp_path / fmt, fmt)
            store.add(_unit(0), _rows(_unit(0)))
            store.close()
        atomic_write_text(tmp_path / "csv" / "summary.md", "# Summary\n")
    finally:
        os.umask(old)
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"results.csv", "results.json", "results.parquet",
                                       JOURNAL, "summary.md"}
    modes = {str(p.relative_to(tmp_path)): oct(stat.S_IMODE(p.stat().st_mode)) for p in files}
    assert set(modes.values()) == {oct(mode)}, modes
    assert not [p for p in tmp_path.rglob(".*") if p.is_file()]  # no temporary left


def test_unit_id_and_resume_of_a_journal_written_before_unit_id(tmp_path):
    from kernelkit.benchmarks.results import unit_id, unit_key

    assert unit_id(_unit(0)) == unit_id(dict(_unit(0)))          # stable
    assert unit_id(_unit(0)) != unit_id(_unit(1))
    assert unit_id(_unit(0)) != unit_id({**_unit(0), "fold": "1"})
    # The journal format before unit_id: {"key": ..., "rows": [...]} only.
    old = [json.dumps({"key": unit_key(_unit(i)), "rows": _rows(_unit(i))}) for i in range(2)]
    (tmp_path / JOURNAL).write_text("\n".join(old) + "\n")
    store = ResultStore(tmp_path, "csv", resume=True)
    assert store.done(_unit(0)) and store.done(_unit(1)) and not store.done(_unit(2))
    assert list(store.table()["unit_id"]) == [unit_id(_unit(0)), unit_id(_unit(1))]
    store.add(_unit(2), _rows(_unit(2)))
    store.close()
    record = json.loads((tmp_path / JOURNAL).read_text().splitlines()[-1])
    assert record["unit_id"] == unit_id(_unit(2)) == record["rows"][0]["unit_id"]
    assert sorted(read_results(tmp_path)["seed"]) == [0, 1, 2]
