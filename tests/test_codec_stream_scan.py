"""The one-pass reading of a bitstream before it is decoded (spec H-5.1, H-4.8; issue 34): ``stream_info`` and
``self_contained`` read every stream exactly as the unit-by-unit reading they replace — split into NAL units, the
first SPS and PPS parsed, the coded slices counted; the parameter sets before the first slice read one by one —
on every golden bitstream and on mutated ones, with the same values and the same errors; and what is kept between
streams (parameter sets read once by their bytes) never carries one stream's answer over to another."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cfc_ref.codecs.hevc.syntax import (
    NAL_PPS,
    NAL_SPS,
    NAL_VPS,
    BitReader,
    _sps_head,
    parse_pps_transquant_bypass,
    parse_sps,
    self_contained,
    split_nal_units,
    stream_info,
)
from cfc_ref.errors import CodecError

from cfc_testing import GOLDEN

spec = pytest.mark.spec
STREAMS = [(GOLDEN / d / v["bitstream"]).read_bytes() for d in ("hm-16.12", "x265")
           for v in json.loads((GOLDEN / d / "manifest.json").read_text())["vectors"]]


def unit_by_unit_info(stream: bytes):
    """The reading before issue 34: every NAL unit materialized, then the first SPS and PPS parsed."""
    units = split_nal_units(stream)
    sps = next((u for u in units if u.type == NAL_SPS), None)
    pps = next((u for u in units if u.type == NAL_PPS), None)
    if sps is None or pps is None:
        raise CodecError("bitstream has no SPS or no PPS")
    vcl = sum(1 for u in units if u.type < 32)
    if vcl == 0:
        raise CodecError("bitstream has no coded slice")
    return parse_sps(sps.rbsp), parse_pps_transquant_bypass(pps.rbsp), vcl


def unit_by_unit_self_contained(stream: bytes) -> bool:
    """H-4.8 as it was read before: unit by unit up to the first coded slice, every id through a BitReader."""
    vps, sps, pps = set(), {}, {}
    try:
        for unit in split_nal_units(stream):
            if unit.type == NAL_VPS:
                vps.add(BitReader(unit.rbsp).u(4))
            elif unit.type == NAL_SPS:
                vps_id, *_, sps_id = _sps_head(BitReader(unit.rbsp))
                sps[sps_id] = vps_id
            elif unit.type == NAL_PPS:
                r = BitReader(unit.rbsp)
                pps_id = r.ue()
                pps[pps_id] = r.ue()
            elif unit.type < 32:
                r = BitReader(unit.payload[:16].replace(b"\x00\x00\x03", b"\x00\x00"))
                r.u(1)
                if 16 <= unit.type <= 23:
                    r.u(1)
                pps_id = r.ue()
                return pps_id in pps and pps[pps_id] in sps and sps[pps[pps_id]] in vps
    except CodecError:
        return False
    return False


def outcome(call, stream: bytes):
    try:
        return "value", call(stream)
    except CodecError as err:
        return "error", str(err)


def new_info(stream: bytes):
    info = stream_info(stream)
    return info.sps, info.transquant_bypass, info.vcl_units


def check(stream: bytes) -> None:
    assert outcome(new_info, stream) == outcome(unit_by_unit_info, stream)
    contained = unit_by_unit_self_contained(stream)
    assert self_contained(stream) == contained
    if outcome(new_info, stream)[0] == "value":
        assert stream_info(stream).self_contained == contained


@spec("H-5.1", "H-4.8")
def test_every_golden_stream_reads_as_unit_by_unit():
    for stream in STREAMS:
        check(stream)
        assert stream_info(stream).self_contained


@spec("H-5.1", "H-4.8", "H-5.3")
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(STREAMS), st.data())
def test_mutated_streams_read_as_unit_by_unit(stream, data):
    """Bits flipped, bytes cut, duplicated or zeroed, start codes and zero bytes inserted: the same value or the same
    error as the reading it replaces, and the same answer to H-4.8 (a wrong "self-contained" would hand a stream to
    a decoder with another stream's parameter sets)."""
    stream = bytearray(stream)
    for _ in range(data.draw(st.integers(1, 5))):
        # most draws at the head, where the parameter sets and the slice header are (a 70 kB slice drowns them)
        pos = data.draw(st.integers(0, max(0, min(len(stream) - 1, 160))) | st.integers(0, max(0, len(stream) - 1)))
        op = data.draw(st.sampled_from(["flip", "cut", "dup", "start code", "zeros", "head"]))
        if op == "flip" and stream:
            stream[pos] ^= 1 << data.draw(st.integers(0, 7))
        elif op == "cut":
            del stream[pos: pos + data.draw(st.integers(1, 40))]
        elif op == "dup":
            stream[pos:pos] = stream[pos: pos + data.draw(st.integers(1, 40))]
        elif op == "start code":
            stream[pos:pos] = b"\x00\x00\x01" + bytes([data.draw(st.integers(0, 255))])
        elif op == "zeros":
            stream[pos:pos] = bytes(data.draw(st.integers(1, 4)))
        else:  # the first bytes of the slice's payload, where its PPS id is read
            at = bytes(stream).rfind(b"\x00\x00\x01")
            if at >= 0 and at + 5 < len(stream):
                stream[at + 5] = data.draw(st.integers(0, 255))
    check(bytes(stream))


@spec("H-5.1")
def test_a_parameter_set_with_an_empty_payload_is_read_not_taken_for_a_missing_one():
    """A start code inserted just after the SPS's NAL header leaves an SPS of no payload, then a unit that reads as a
    coded slice before the PPS: the one-pass reading took the empty SPS for none (``sps or later_sps``) and said
    "no SPS or no PPS" where the unit-by-unit reading says the SPS ends early (found by the property test above)."""
    stream = STREAMS[0]
    at = stream.index(b"\x00\x00\x01\x42") + 5  # just after the SPS's two-byte NAL header
    mutated = stream[:at] + b"\x00\x00\x01\x00" + stream[at:]
    assert outcome(new_info, mutated) == outcome(unit_by_unit_info, mutated) == ("error", "parameter set ends early")
    check(mutated)


@spec("H-4.8")
def test_what_is_kept_between_streams_is_read_from_their_own_bytes():
    """A second stream with the same parameter sets but a slice that names another PPS is not self-contained, though
    the first was: the kept reading of the sets answers for the sets, the slice is read for every stream."""
    stream = STREAMS[0]
    at = stream.rfind(b"\x00\x00\x01") + 3  # the slice's NAL unit
    kind = (stream[at] >> 1) & 0x3F
    bit = 0x80 >> (2 if 16 <= kind <= 23 else 1)  # after first_slice_segment_in_pic_flag [and no_output_of_prior_pics]
    assert kind < 32 and stream[at + 2] & bit, "the vectors' slices name PPS 0 (ue '1' after the flags)"
    renamed = stream[:at + 2] + bytes([stream[at + 2] & ~bit | bit >> 1]) + stream[at + 3:]  # ue '01x': PPS 1 or 2
    assert self_contained(stream) and not self_contained(renamed)
    assert stream_info(stream).self_contained and not stream_info(renamed).self_contained
    assert self_contained(stream)  # and the first is still what it was
