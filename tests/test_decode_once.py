"""No stream decoded twice by one worker (issue 36 item 2; spec E-1.4): within a job each distinct bitstream is decoded
once — a lossless stream's verifying decode (H-5.2) stands for its cloud-side decode, and settings that share a
bitstream share its picture — and the results are byte for byte those of decoding every time."""

from __future__ import annotations

import hashlib

import pytest
from test_experiment import small_config

from cfc_ref.codecs import decoded as decoded_module
from cfc_ref.experiment.local_engine import SerialExecutor, run
from cfc_ref.experiment.store import RunStore

spec = pytest.mark.spec


def _sweep(model_files, out, monkeypatch, remember: bool):  # type: ignore[no-untyped-def]
    """A small sweep in this process (both accountings: max 17's paper settings share the deployable twins' max 17
    stream), with every real decode logged by job; ``remember`` False decodes every time."""
    import cfc_ref.codecs.hevc as hevc

    log: list[list[str]] = []
    real = hevc.decode_checked

    def counted(stream, shape, depth, decoder=None):  # type: ignore[no-untyped-def]
        log[-1].append(hashlib.sha256(bytes(stream)).hexdigest())
        return real(stream, shape, depth, decoder)

    clear = decoded_module.DecodedPictures.clear
    with monkeypatch.context() as patch:
        patch.setattr(hevc, "decode_checked", counted)
        patch.setattr(decoded_module.DecodedPictures, "clear", lambda self: (log.append([]), clear(self)))
        if not remember:
            patch.setattr(decoded_module.DecodedPictures, "get", lambda self, *key: None)
        config = small_config(model_files, out, images=2, accountings=("deployable", "paper"))
        run(config, SerialExecutor(), progress=False)
    with RunStore.open(out, create=False) as store:
        units = store.all_units()
    return log, units, (out / "results.csv").read_bytes()


@spec("E-1.4")
def test_no_stream_is_decoded_twice_within_a_job_and_nothing_changes(model_files, tmp_path, monkeypatch):
    log, units, results = _sweep(model_files, tmp_path / "once", monkeypatch, remember=True)
    every_log, every_units, every_results = _sweep(model_files, tmp_path / "every", monkeypatch, remember=False)
    assert len(log) == 2 and all(job for job in log)  # one job per image, each with decodes
    assert all(len(job) == len(set(job)) for job in log), "a stream was decoded twice within one job"
    assert sum(map(len, every_log)) > sum(map(len, log)) + 4  # lossless re-decodes and shared streams saved
    assert [set(job) for job in log] == [set(job) for job in every_log]  # the same streams, each once
    assert results == every_results and units == every_units  # byte for byte: units, decoders named, rows
