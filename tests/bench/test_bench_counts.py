"""Instruction counts per call of the CPU hot paths (spec C-3.3), beside the timed rows: the codec glue and the bare
calls at 64×128 (all depths and qualities) and 416×416 (decoding at all, encoding at 8 bits: an encode of 416×416 is
a billion instructions, some seven seconds under callgrind), Q-layer + tiling, and — where perf counts — the ×0.25
network on one thread (under callgrind its oneDNN code runs at some 5 M instructions a second, a minute a forward
pass: 16 minutes for its two groups, so callgrind leaves it out). Run last (conftest.py); the counts join the rows
of the same names. About 3.5 minutes of one core under callgrind on this project's 2-core VM."""

from __future__ import annotations

import pytest
from codec_paths import DEPTHS, QUALITIES, STREAMS_ENV, stream
from counting import count, counter, describe
from harness import COUNTER, merge_counts

pytestmark = pytest.mark.bench


def codec_refs() -> list[dict]:
    refs = [{"module": "codec_paths", "builder": builder, "args": ["64x128", depth, quality]}
            for depth in DEPTHS for quality in QUALITIES for builder in ("encode_group", "decode_group")]
    refs += [{"module": "codec_paths", "builder": "decode_group", "args": ["416x416", depth, quality]}
             for depth in DEPTHS for quality in QUALITIES]
    refs += [{"module": "codec_paths", "builder": "encode_group", "args": ["416x416", 8, quality]}
             for quality in QUALITIES]
    return refs


def torch_refs(counter_name: str) -> list[dict]:
    refs = [{"module": "qlayer_paths", "builder": "qlayer_group", "args": [label]}
            for label in ("max_11 256x26x26", "max_17 512x13x13")]
    if counter_name == "perf":
        refs += [{"module": "detector_paths", "builder": "split_group", "args": [0.25, 1]},
                 {"module": "detector_paths", "builder": "fast_group", "args": [0.25, 1, False]}]
    return refs


def test_instruction_counts(tmp_path, monkeypatch):
    name = counter()
    COUNTER["name"] = describe(name)
    if name == "none":
        pytest.skip("no instruction counter here: perf cannot read the counters and valgrind is not installed")
    streams = tmp_path / "streams"
    streams.mkdir()
    monkeypatch.setenv(STREAMS_ENV, str(streams))
    for ref in codec_refs():  # the child reads the bitstreams instead of encoding them under the counter
        if ref["builder"] == "decode_group":
            stream(*ref["args"])
    counts = count(codec_refs(), tmp_path / "codec", name)
    counts.update(count(torch_refs(name), tmp_path / "torch", name))
    merge_counts(counts)
    for group, paths in counts.items():
        assert all(value > 0 for value in paths.values()), group
