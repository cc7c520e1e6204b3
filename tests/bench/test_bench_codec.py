"""The codec glue at the bare call's cost (issue 34), the other decoders, and the pool (issue 3): each group's
``baseline`` is the bare library call on the same picture, measured in the same run (spec C-3.1)."""

from __future__ import annotations

import pytest
from codec_paths import DEPTHS, QUALITIES, SIZES, decode_group, decoders_group, encode_group, pool_group
from harness import measure

from cfc_ref.codecs.hevc.decoders import DECODERS

pytestmark = pytest.mark.bench


@pytest.mark.parametrize("quality", QUALITIES)
@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("size", SIZES)
def test_encode_glue(size, depth, quality):
    rows = measure(encode_group(size, depth, quality))
    assert rows["cfc_ref HevcCodec.encode"]["ratio"] > 0


@pytest.mark.parametrize("quality", QUALITIES)
@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("size", SIZES)
def test_decode_glue(size, depth, quality):
    if not DECODERS["pylibde265"].available():
        pytest.skip("pylibde265 is not installed: the bare decode call is pylibde265's")
    rows = measure(decode_group(size, depth, quality))
    assert rows["cfc_ref HevcCodec.decode"]["ratio"] > 0


@pytest.mark.parametrize("size", SIZES)
def test_other_decoders(size):
    if not DECODERS["pylibde265"].available():
        pytest.skip("pylibde265 is not installed: the baseline is pylibde265")
    available = tuple(name for name in ("ffmpeg", "libde265", "hm") if DECODERS[name].available())
    rows = measure(decoders_group(size, available))
    assert len(rows) == 2 + len(available)


def test_pool_speedup():
    rows = measure(pool_group())
    assert rows["pool 2 workers"]["ratio"] > 0
