"""The main job itself, as a new user runs it (issue 20; spec E-9.5, E-10): the embedded default end to end, its run
directory's size and file count, and the job's timing. Slow (a few minutes on 2 cores): ``tox -e golden``."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest

spec = pytest.mark.spec


@pytest.mark.slow
@spec("E-9.5", "E-10.1", "E-3.3")
def test_the_embedded_main_job_fits_its_budget(tmp_path):
    out = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "cfc_ref.cli", "run", "--output", str(out), "--quiet"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=3000)
    assert done.returncode == 0, done.stderr[-2000:]
    files = [p for p in out.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    print(f"\nrun directory: {size / 1e6:.1f} MB in {len(files)} files")
    assert size <= 30e6 and len(files) <= 200
    assert not (out / "cache").exists() and not list(out.rglob("*.pack")) and not list(out.rglob("*-wal"))
    assert (out / "data" / "synthetic-voc.zip").is_file() and not (tmp_path / "runs").exists()  # only under --output
    with sqlite3.connect(out / "results.sqlite") as db:
        timing = json.loads(db.execute("SELECT value FROM meta WHERE key = 'job_timing'").fetchone()[0])
    assert timing["codec"] > 0 and timing["ratio_to_codec"] > 1 and set(timing["sweeps"]) == {
        "default weights", "re-trained max 11", "re-trained max 17"}
    print(f"job: {timing['wall']:.1f} s wall × {timing['workers']} / codec {timing['codec']:.1f} s = "
          f"{timing['ratio_to_codec']:.2f}")
    report = (out / "report.md").read_text()
    assert "## Where the time went" in report and "| max 11 | both (one tensor crosses) |" in report
    # E-11.2 on the real job: every Table 1 row of table1.json is what its metrics bd command gives, bit for bit
    import shlex

    table = json.loads((out / "table1.json").read_text())
    for row in table["rows"]:
        if not row["command"]:
            assert row["status"] == "not run"
            continue
        again = subprocess.run([sys.executable, "-m", "cfc_ref.cli", *shlex.split(row["command"])[1:]], cwd=out,
                               capture_output=True, text=True, timeout=300)
        if row["bd"] is None:
            assert again.returncode == 2 and row["status"].removeprefix("no number: ") in again.stderr
        else:
            assert again.returncode == 0 and json.loads(again.stdout) == row["bd"], (row["command"], again.stderr)
    # issue 32: the numbers the README quotes are what this run gives (its table and quotes written from this run
    # equal those written from golden/embedded/main_job.json, which tests/test_readme_numbers.py holds the README to)
    from cfc_ref.experiment.regression import MAIN_JOB_PIN, main_job_pin, readme_quotes, readme_table1

    from cfc_testing import GOLDEN

    pinned = json.loads((GOLDEN / "embedded" / MAIN_JOB_PIN).read_text())
    fresh = main_job_pin(out)
    assert readme_table1(fresh) == readme_table1(pinned) and readme_quotes(fresh) == readme_quotes(pinned)
    for got, want in zip(fresh["table1"], pinned["table1"], strict=True):
        assert {k: got[k] for k in ("split", "accounting", "weights", "quantizer")} == {
            k: want[k] for k in ("split", "accounting", "weights", "quantizer")}
        for quantity in ("bd_kbpi_percent", "bd_map"):
            for method, value in want[quantity].items():
                if isinstance(value, float):
                    assert got[quantity][method] == pytest.approx(value, rel=1e-6, abs=1e-9), (got, method)
                else:
                    assert got[quantity][method] == value
    summary = done.stdout
    assert summary.startswith("cfc-ref ") and "Table 1 — the BD numbers to read" in summary and "|---" not in summary
