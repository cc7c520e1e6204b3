"""Wire format (spec/container.md): layout, strict parser, writer refusal, bit accounting."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cfc_ref import container
from cfc_ref.accounting import image_bits
from cfc_ref.conformance.vectors import load_vectors
from cfc_ref.container import ContainerError, TensorRecord, pack, parse
from cfc_ref.errors import CfcError
from cfc_ref.pipeline import EncodeSettings, bits_of, decode_features, encode_features, encode_tensor
from cfc_ref.qlayer import SideInfo, error_bound, side_info_of

from cfc_testing import GOLDEN

spec = pytest.mark.spec
VALID = [bytes.fromhex(v.fields["data"]) for v in load_vectors(GOLDEN, "container") if v.fields["result"] == "valid"]
NAMES = st.text("abcXYZ019_.-", min_size=1, max_size=64)


@st.composite
def records(draw):
    count = draw(st.integers(1, 3))
    names = draw(st.lists(NAMES, min_size=count, max_size=count, unique=True))
    out = []
    for name in names:
        c, h, w = draw(st.integers(1, 20)), draw(st.integers(1, 6)), draw(st.integers(1, 6))
        n = draw(st.integers(1, 16))
        settings_ = EncodeSettings(bit_depth=n, mode=draw(st.sampled_from(["minmax", "relu"])),
                                   layout=draw(st.sampled_from(["tile", "quilt"])), align=draw(st.integers(1, 64)))
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        v = rng.normal(size=(c, h, w)).astype(np.float32)
        if settings_.mode == "relu":
            v = np.abs(v)
        out.append(encode_tensor(name, v, settings_))
    return out


@spec("W-1.1", "W-2.1", "W-3.1")
@settings(max_examples=100, deadline=None)
@given(records())
def test_round_trip(recs):
    data = pack(recs)
    assert data[:4] == b"CFCR" and data[4] == 1 and data[5] == 0
    assert struct.unpack_from("<H", data, 6)[0] == len(recs)
    assert struct.unpack_from("<I", data, len(data) - 4)[0] == zlib.crc32(data[:-4])
    assert parse(data) == recs
    for r in recs:
        h, w = r.picture_shape
        assert len(r.payload) == h * w * (1 if r.bit_depth <= 8 else 2)


@spec("W-4.1")
@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_crash(data):
    try:
        parse(data)
    except ContainerError:
        pass
    try:
        parse(b"CFCR" + data)
    except ContainerError:
        pass


def _refresh_crc(data: bytes) -> bytes:
    return data[:-4] + struct.pack("<I", zlib.crc32(data[:-4]))


@spec("W-4.1", "W-4.2")
@settings(max_examples=500, deadline=None)
@given(st.sampled_from(VALID), st.data(), st.booleans())
def test_mutated_containers(data, draw, fix_crc):
    """Byte mutations of valid containers: with a stale CRC they are 'corrupted'; with a fresh CRC each field check
    must hold on its own. Either way: the documented error or a record set that packs back to the same bytes."""
    mutated = bytearray(data)
    for _ in range(draw.draw(st.integers(1, 4))):
        op = draw.draw(st.sampled_from(["flip", "cut", "insert"]))
        pos = draw.draw(st.integers(0, max(len(mutated) - 1, 0)))
        if op == "flip" and mutated:
            mutated[pos] ^= 1 << draw.draw(st.integers(0, 7))
        elif op == "cut":
            del mutated[pos: pos + draw.draw(st.integers(1, 8))]
        else:
            mutated[pos:pos] = draw.draw(st.binary(min_size=1, max_size=4))
    candidate = bytes(mutated)
    if fix_crc and len(candidate) >= 12:
        candidate = _refresh_crc(candidate)
    try:
        result = parse(candidate)
    except ContainerError:
        return
    assert pack(result) == candidate  # accepted only if it is exactly a valid container


@spec("W-4.2")
def test_crc_checked_before_fields():
    bad = bytearray(VALID[0])
    bad[4] = 9  # version byte, but the CRC is now stale
    with pytest.raises(ContainerError, match="crc mismatch"):
        parse(bytes(bad))
    with pytest.raises(ContainerError, match="version 9"):
        parse(_refresh_crc(bytes(bad)))


@spec("W-4.1")
def test_error_names_offset_and_field():
    data = bytearray(VALID[0])
    data[8 + 1 + len("max_11") + 12] = 17  # bit_depth of the first record
    with pytest.raises(ContainerError, match=r"offset 27: bit_depth 17 out of range 1..16"):
        parse(_refresh_crc(bytes(data)))
    with pytest.raises(ContainerError, match="must be bytes"):
        parse("CFCR")  # type: ignore[arg-type]


@spec("W-4.3")
def test_writer_refuses_what_parser_rejects():
    good = encode_tensor("x", np.ones((2, 3, 3), dtype=np.float32), EncodeSettings())
    bad_records = [
        [],
        [good, good],  # duplicate names
        [TensorRecord("bad name", good.shape, 8, "tile", 8, "raw", good.side_info, good.payload)],
        [TensorRecord("x", good.shape, 8, "tile", 8, "raw", good.side_info, good.payload[:-1])],
        [TensorRecord("x", good.shape, 8, "tile", 8, "jpeg", good.side_info, good.payload)],
        [TensorRecord("x", good.shape, 8, "tile", 8, "raw", SideInfo(0.0, 0.1), good.payload)],  # 0.1 not binary32
        [TensorRecord("x", good.shape, 300, "tile", 8, "raw", good.side_info, good.payload)],
        [TensorRecord("é", good.shape, 8, "tile", 8, "raw", good.side_info, good.payload)],
        [good] * 256,
    ]
    for recs in bad_records:
        with pytest.raises(ContainerError):
            pack(recs)


@spec("W-5.1", "W-5.2")
def test_bit_accounting():
    v17 = np.random.default_rng(1).normal(size=(512, 13, 13)).astype(np.float32)
    v16 = np.random.default_rng(2).normal(size=(512, 26, 26)).astype(np.float32)
    data = encode_features({"max_17": v17, "route_16": v16}, EncodeSettings(bit_depth=8))
    bits = bits_of(data)
    assert bits.payload_bytes == 208 * 416 + 416 * 832 and bits.side_info_bytes == 16
    assert bits.counted_bits == 8 * (208 * 416 + 416 * 832 + 16)
    assert bits.kilobits == bits.counted_bits / 1000
    framing = 8 + 2 * (1 + 18 + 4) + len("max_17") + len("route_16") + 4
    assert bits.overhead_bits == 8 * framing and 8 * len(data) == bits.counted_bits + bits.overhead_bits
    relu = encode_features({"r": np.abs(v17)}, EncodeSettings(bit_depth=8, mode="relu"))
    assert bits_of(relu).side_info_bytes == 4
    assert image_bits(parse(data), len(data)) == bits


@spec("W-3.1", "Q-5.1")
@pytest.mark.parametrize("n", [8, 10, 12])
def test_pipeline_round_trip_multi_tensor(n):
    rng = np.random.default_rng(n)
    features = {"max_17": rng.normal(size=(512, 13, 13)).astype(np.float32),
                "route_16": rng.normal(size=(64, 26, 26)).astype(np.float32)}
    decoded = decode_features(encode_features(features, EncodeSettings(bit_depth=n)))
    assert list(decoded) == list(features)
    for name, v in features.items():
        assert np.abs(decoded[name] - v).max() <= error_bound(side_info_of(v), n)


def test_pipeline_rejects_non_3d():
    with pytest.raises(CfcError, match="C×H×W"):
        encode_features({"x": np.zeros((2, 2), dtype=np.float32)})


def test_constants_match_spec():
    assert container.MAGIC == bytes.fromhex("43464352") and container.HEADER.size == 8
    assert container.SHAPE_FIELDS.size == 18
