"""The in-process libde265 decoder (spec H-4.2): conforming, and safe against the wheel's lifetime hazards."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cfc_ref.codecs.hevc import decode_picture
from cfc_ref.codecs.hevc import pylibde265 as module
from cfc_ref.codecs.hevc.decoders import DECODER_ORDER, DECODERS, available_decoders
from cfc_ref.errors import CodecError

from cfc_testing import GOLDEN

spec = pytest.mark.spec
HM_DIR = GOLDEN / "hm-16.12"
VECTORS = json.loads((HM_DIR / "manifest.json").read_text())["vectors"]
needs_wheel = pytest.mark.skipif(not module.pylibde265_available(),
                                 reason="pylibde265 is not installed (extra 'decode'; wheel for CPython 3.11 "
                                        "x86_64 Linux only)")


def _stream(v) -> bytes:
    return (HM_DIR / v["bitstream"]).read_bytes()


@spec("H-4.4")
def test_first_in_the_decoder_order():
    assert DECODER_ORDER[0] == "pylibde265"
    if module.pylibde265_available():
        assert available_decoders()[0] == "pylibde265"
        _, used = decode_picture(_stream(VECTORS[0]), (VECTORS[0]["height"], VECTORS[0]["width"]), 8)
        assert used == "pylibde265"


@spec("H-4.2")
@needs_wheel
def test_names_its_library_version():
    assert DECODERS["pylibde265"].describe().startswith("libde265 1.0.")


@spec("H-4.2")
@needs_wheel
def test_two_pictures_are_refused_without_a_crash():
    v = VECTORS[1]
    with pytest.raises(CodecError, match="decoded 2 pictures"):
        module.decode_pylibde265(_stream(v) + _stream(v), (v["height"], v["width"]), 8)
    picture = module.decode_pylibde265(_stream(v), (v["height"], v["width"]), 8)  # the process is still sound
    assert picture.shape == (v["height"], v["width"]) and picture.flags.owndata


@spec("H-4.2", "H-5.1")
@needs_wheel
def test_wrong_depth_or_size_is_an_error():
    v = VECTORS[1]  # 8-bit
    with pytest.raises(CodecError, match="not 10-bit 4:0:0"):
        module.decode_pylibde265(_stream(v), (v["height"], v["width"]), 10)
    with pytest.raises(CodecError, match="expected"):
        module.decode_pylibde265(_stream(v), (8, 8), 8)


@spec("H-5.3")
@needs_wheel
@pytest.mark.parametrize("stream", [b"", b"\x00\x00\x01", b"garbage" * 10, b"\x00\x00\x01\x40\x01" + bytes(20)])
def test_garbage_is_an_error(stream):
    with pytest.raises(CodecError):
        module.decode_pylibde265(stream, (32, 32), 8)


SMALL = [v for v in VECTORS if v["width"] * v["height"] <= 64 * 64]


@spec("H-5.3")
@needs_wheel
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SMALL), st.data())
def test_mutated_streams_straight_into_the_decoder(vector, data):
    """No stream check in front: the wrapper alone must turn every mutation into a picture or a CodecError."""
    stream = bytearray(_stream(vector))
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(stream) - 1))
        stream[pos] ^= 1 << data.draw(st.integers(0, 7))
    shape = (vector["height"], vector["width"])
    try:
        picture = module.decode_pylibde265(bytes(stream), shape, max(vector["bit_depth"], 8))
    except CodecError:
        return
    assert picture.shape == shape and picture.dtype == (np.uint8 if vector["bit_depth"] == 8 else np.uint16)


@spec("H-4.4")
def test_missing_wheel_is_named(monkeypatch):
    monkeypatch.setattr(module, "_binding", lambda: None)
    assert not DECODERS["pylibde265"].available()
    with pytest.raises(CodecError, match=r"python -m pip install pylibde265 in cfc-ref's Python environment"):
        module.decode_pylibde265(b"x", (8, 8), 8)
