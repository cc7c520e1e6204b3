"""Progress output: a live bar on a terminal, a plain line every 5 % in a pipe or CI log."""

from __future__ import annotations

import io

import pytest

from cfc_ref.progress import progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_log_gets_a_line_every_few_percent(monkeypatch):
    log = io.StringIO()
    monkeypatch.setattr("sys.stderr", log)
    assert list(progress(range(1000), 1000, "sweep", "job")) == list(range(1000))
    text = log.getvalue()
    lines = text.splitlines()
    assert "\r" not in text and 20 <= len(lines) <= 23
    assert lines[0].startswith("sweep: 0/1000 (0 %)") and lines[-1].startswith("sweep: 1000/1000 (100 %)")


def test_terminal_gets_the_live_bar(monkeypatch):
    tty = _Terminal()
    monkeypatch.setattr("sys.stderr", tty)
    assert sum(progress(range(50), 50, "sweep")) == sum(range(50))
    assert "\r" in tty.getvalue() and "50/50" in tty.getvalue()


def test_short_loops_and_empty_loops(monkeypatch):
    log = io.StringIO()
    monkeypatch.setattr("sys.stderr", log)
    assert list(progress([], 0, "nothing")) == []
    assert list(progress(range(3), 3, "three")) == [0, 1, 2]
    assert "three: 3/3 (100 %)" in log.getvalue()


@pytest.mark.spec("E-8.3", "E-10.2")
def test_job_progress_counts_units_failures_and_phases_over_the_whole_job(monkeypatch):
    """One line for a whole job: the phase, units done of the job's total (not the sweep's), failed units, and a
    resumed sweep says how much it found finished."""
    from cfc_ref.progress import JobProgress

    log = io.StringIO()
    monkeypatch.setattr("sys.stderr", log)
    job = JobProgress(30)
    job.named("default weights").start_sweep("embedded default", 20, 0, 2)
    job.advance(10)
    job.advance(10, failed=2)
    job.named("re-trained max 11").start_sweep("re-trained at max_11", 15, 5, 2)
    job.advance(10)
    job.phase("report")
    job.close()
    text = log.getvalue()
    assert "default weights: 20 units to compute on 2 workers" in text
    assert "re-trained max 11: 10 units to compute on 2 workers; resuming: 5 of 15 units already finished" in text
    assert "30/30 (100 %)" in text and "failed 2" in text and "report" in text
    assert "ETA" in text
