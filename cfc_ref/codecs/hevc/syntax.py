"""Just enough HEVC syntax to check a bitstream before decoding it (spec H-4.3, H-6.1; ITU-T H.265 §7.3).

Splits an Annex B byte stream into NAL units, removes emulation prevention, and reads the sequence parameter set
(picture size, chroma format, bit depth, range-extension tool flags) and the start of the picture parameter set
(transquant bypass). Nothing here decodes pictures. Every read is bounds-checked: malformed input raises
``CodecError``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TypeVar

from cfc_ref.errors import CodecError

NAL_VPS, NAL_SPS, NAL_PPS = 32, 33, 34


@dataclass(frozen=True)
class NalUnit:
    type: int
    payload: bytes  # after the 2-byte header, emulation prevention still in

    @property
    def rbsp(self) -> bytes:
        """The payload with emulation prevention removed (computed when asked: slice data is rarely needed)."""
        return _remove_emulation_prevention(self.payload)


def split_nal_units(stream: bytes) -> list[NalUnit]:
    """Annex B: NAL units follow 0x000001 start codes (H.265 §B.2)."""
    starts, i = [], 0
    while True:
        i = stream.find(b"\x00\x00\x01", i)
        if i < 0:
            break
        starts.append(i + 3)
        i += 3
    units = []
    for k, start in enumerate(starts):
        end = starts[k + 1] - 3 if k + 1 < len(starts) else len(stream)
        payload = stream[start:end].rstrip(b"\x00")  # trailing_zero_8bits / next start code's leading zero
        if len(payload) < 2:
            raise CodecError(f"NAL unit at byte {start} is shorter than its header")
        if payload[0] & 0x80:
            raise CodecError(f"NAL unit at byte {start} has forbidden_zero_bit set")
        units.append(NalUnit((payload[0] >> 1) & 0x3F, payload[2:]))
    if not units:
        raise CodecError("no NAL unit start code found: not an HEVC Annex B byte stream")
    return units


def _remove_emulation_prevention(data: bytes) -> bytes:
    return data.replace(b"\x00\x00\x03", b"\x00\x00")  # H.265 §7.4.2: emulation_prevention_three_byte


class BitReader:
    """MSB-first reader of u(n), ue(v), se(v) (H.265 §9.2)."""

    def __init__(self, data: bytes) -> None:
        self.bits, self.value, self.pos = 8 * len(data), int.from_bytes(data, "big"), 0

    def u(self, n: int) -> int:
        end = self.pos + n
        if end > self.bits:
            raise CodecError("parameter set ends early")
        self.pos = end
        return (self.value >> (self.bits - end)) & ((1 << n) - 1)

    def ue(self) -> int:
        rest = self.bits - self.pos
        zeros = rest - (self.value & ((1 << rest) - 1)).bit_length()  # leading zero bits (all, if no 1 follows)
        if zeros > 31:
            raise CodecError("exp-Golomb code longer than 32 bits")
        if zeros == rest:
            raise CodecError("parameter set ends early")
        self.pos += zeros + 1
        return (1 << zeros) - 1 + self.u(zeros)

    def se(self) -> int:
        k = self.ue()
        return (k + 1) // 2 if k % 2 else -(k // 2)


@dataclass(frozen=True)
class RangeExtension:
    """sps_range_extension() flags (H.265 §7.3.2.2.2); all 0 when absent."""

    transform_skip_rotation: int = 0
    transform_skip_context: int = 0
    implicit_rdpcm: int = 0
    explicit_rdpcm: int = 0
    extended_precision_processing: int = 0
    intra_smoothing_disabled: int = 0
    high_precision_offsets: int = 0
    persistent_rice_adaptation: int = 0
    cabac_bypass_alignment: int = 0

    @property
    def any(self) -> bool:
        return any(vars(self).values())


@dataclass(frozen=True)
class SequenceParameters:
    profile_idc: int
    chroma_format_idc: int
    width: int  # after the conformance window
    height: int
    bit_depth_luma: int
    range_extension: RangeExtension = field(default_factory=RangeExtension)
    level_idc: int = 0  # general_level_idc: 30 × the level (Annex A); level 5 and above need CTBs of 32 or 64
    ctb_log2_size: int = 0  # CtbLog2SizeY


def _profile_tier_level(r: BitReader, max_sub_layers_minus1: int) -> tuple[int, int]:
    r.u(2)  # general_profile_space
    r.u(1)  # general_tier_flag
    profile_idc = r.u(5)
    r.u(32)  # general_profile_compatibility_flag[32]
    r.u(4)  # progressive, interlaced, non_packed, frame_only
    r.u(43)
    r.u(1)
    level_idc = r.u(8)  # general_level_idc
    present = [(r.u(1), r.u(1)) for _ in range(max_sub_layers_minus1)]
    if max_sub_layers_minus1 > 0:
        for _ in range(max_sub_layers_minus1, 8):
            r.u(2)
    for profile_present, level_present in present:
        if profile_present:
            r.u(32), r.u(32), r.u(24)  # 88 bits of sub-layer profile
        if level_present:
            r.u(8)
    return profile_idc, level_idc


def _scaling_list_data(r: BitReader) -> None:
    for size_id in range(4):
        for _ in range(0, 6, 3 if size_id == 3 else 1):
            if not r.u(1):  # scaling_list_pred_mode_flag
                r.ue()
                continue
            if size_id > 1:
                r.se()
            for _ in range(min(64, 1 << (4 + (size_id << 1)))):
                r.se()


def _st_ref_pic_sets(r: BitReader, count: int) -> None:
    """st_ref_pic_set(i) for i < count (H.265 §7.3.7, derivation §7.4.8), tracking delta POCs for prediction."""
    sets: list[tuple[list[int], list[int]]] = []  # (negative delta POCs, positive), each with its used flags dropped
    for idx in range(count):
        if idx and r.u(1):  # inter_ref_pic_set_prediction_flag
            ref_neg, ref_pos = sets[idx - 1]
            sign, abs_minus1 = r.u(1), r.ue()
            delta_rps = (1 - 2 * sign) * (abs_minus1 + 1)
            ref_all = ref_neg + ref_pos
            candidates = []
            for j in range(len(ref_all) + 1):
                used = r.u(1)
                use_delta = used or r.u(1)
                if use_delta:
                    candidates.append((ref_all[j] if j < len(ref_all) else 0) + delta_rps)
            neg = sorted((d for d in candidates if d < 0), reverse=True)
            pos = sorted(d for d in candidates if d > 0)
            sets.append((neg, pos))
            continue
        num_neg, num_pos = r.ue(), r.ue()
        if num_neg > 16 or num_pos > 16:
            raise CodecError("st_ref_pic_set with more than 16 pictures")
        neg, poc = [], 0
        for _ in range(num_neg):
            poc -= r.ue() + 1
            r.u(1)
            neg.append(poc)
        pos, poc = [], 0
        for _ in range(num_pos):
            poc += r.ue() + 1
            r.u(1)
            pos.append(poc)
        sets.append((neg, pos))


def _hrd_parameters(r: BitReader, max_sub_layers_minus1: int) -> None:
    nal, vcl = r.u(1), r.u(1)
    sub_pic = 0
    if nal or vcl:
        sub_pic = r.u(1)
        if sub_pic:
            r.u(8), r.u(5), r.u(1), r.u(5)
        r.u(4), r.u(4)
        if sub_pic:
            r.u(4)
        r.u(5), r.u(5), r.u(5)
    for _ in range(max_sub_layers_minus1 + 1):
        fixed_general = r.u(1)
        fixed_within_cvs = 1 if fixed_general else r.u(1)
        low_delay = 0
        if fixed_within_cvs:
            r.ue()
        else:
            low_delay = r.u(1)
        cpb_cnt = 1 if low_delay else r.ue() + 1
        for present in (nal, vcl):
            if present:
                for _ in range(cpb_cnt):
                    r.ue(), r.ue()
                    if sub_pic:
                        r.ue(), r.ue()
                    r.u(1)


def _vui_parameters(r: BitReader, max_sub_layers_minus1: int) -> None:
    if r.u(1) and r.u(8) == 255:  # aspect_ratio_info_present_flag, aspect_ratio_idc == EXTENDED_SAR
        r.u(16), r.u(16)
    if r.u(1):  # overscan_info_present_flag
        r.u(1)
    if r.u(1):  # video_signal_type_present_flag
        r.u(3), r.u(1)
        if r.u(1):
            r.u(8), r.u(8), r.u(8)
    if r.u(1):  # chroma_loc_info_present_flag
        r.ue(), r.ue()
    r.u(1), r.u(1), r.u(1)  # neutral_chroma_indication, field_seq, frame_field_info_present
    if r.u(1):  # default_display_window_flag
        r.ue(), r.ue(), r.ue(), r.ue()
    if r.u(1):  # vui_timing_info_present_flag
        r.u(32), r.u(32)
        if r.u(1):
            r.ue()
        if r.u(1):
            _hrd_parameters(r, max_sub_layers_minus1)
    if r.u(1):  # bitstream_restriction_flag
        r.u(1), r.u(1), r.u(1)
        r.ue(), r.ue(), r.ue(), r.ue(), r.ue()


def _sps_head(r: BitReader) -> tuple[int, int, int, int, int]:
    """The start of seq_parameter_set_rbsp() (H.265 §7.3.2.2): sps_video_parameter_set_id,
    sps_max_sub_layers_minus1, general_profile_idc, general_level_idc, sps_seq_parameter_set_id."""
    vps_id, max_sub_layers_minus1 = r.u(4), r.u(3)
    r.u(1)  # sps_temporal_id_nesting_flag
    profile_idc, level_idc = _profile_tier_level(r, max_sub_layers_minus1)
    return vps_id, max_sub_layers_minus1, profile_idc, level_idc, r.ue()


def parse_sps(rbsp: bytes) -> SequenceParameters:
    """seq_parameter_set_rbsp() (H.265 §7.3.2.2) up to and including sps_range_extension()."""
    r = BitReader(rbsp)
    _, max_sub_layers_minus1, profile_idc, level_idc, _ = _sps_head(r)
    chroma = r.ue()
    if chroma == 3:
        r.u(1)
    width, height = r.ue(), r.ue()
    if r.u(1):  # conformance_window_flag; offsets in luma samples for 4:0:0 (SubWidthC = SubHeightC = 1)
        sub_w = 2 if chroma in (1, 2) else 1
        sub_h = 2 if chroma == 1 else 1
        left, right, top, bottom = r.ue(), r.ue(), r.ue(), r.ue()
        width -= sub_w * (left + right)
        height -= sub_h * (top + bottom)
    bit_depth = r.ue() + 8
    r.ue()  # bit_depth_chroma_minus8
    log2_max_poc_lsb = r.ue() + 4
    ordering_info = r.u(1)
    for _ in range(0 if ordering_info else max_sub_layers_minus1, max_sub_layers_minus1 + 1):
        r.ue(), r.ue(), r.ue()
    log2_min_cb = r.ue() + 3
    ctb_log2_size = log2_min_cb + r.ue()
    for _ in range(4):  # transform-block sizes and depths
        r.ue()
    if r.u(1) and r.u(1):  # scaling_list_enabled_flag, sps_scaling_list_data_present_flag
        _scaling_list_data(r)
    r.u(1), r.u(1)  # amp, sao
    if r.u(1):  # pcm_enabled_flag
        r.u(4), r.u(4), r.ue(), r.ue(), r.u(1)
    _st_ref_pic_sets(r, r.ue())
    if r.u(1):  # long_term_ref_pics_present_flag
        for _ in range(r.ue()):
            r.u(log2_max_poc_lsb), r.u(1)
    r.u(1), r.u(1)  # sps_temporal_mvp_enabled_flag, strong_intra_smoothing_enabled_flag
    if r.u(1):
        _vui_parameters(r, max_sub_layers_minus1)
    rext = RangeExtension()
    if r.u(1):  # sps_extension_present_flag
        range_flag = r.u(1)
        r.u(1), r.u(1), r.u(1), r.u(4)
        if range_flag:
            rext = RangeExtension(*(r.u(1) for _ in range(9)))
    if width <= 0 or height <= 0:
        raise CodecError(f"SPS gives an empty picture ({width}×{height})")
    return SequenceParameters(profile_idc, chroma, width, height, bit_depth, rext, level_idc, ctb_log2_size)


def parse_pps_transquant_bypass(rbsp: bytes) -> int:
    """transquant_bypass_enabled_flag of pic_parameter_set_rbsp() (H.265 §7.3.2.3.1)."""
    r = BitReader(rbsp)
    r.ue(), r.ue()  # pps_pic_parameter_set_id, pps_seq_parameter_set_id
    r.u(1), r.u(1), r.u(3), r.u(1), r.u(1)  # dependent slices, output flag, extra bits, sign hiding, cabac init
    r.ue(), r.ue(), r.se()  # num_ref_idx_l0/l1_default_active_minus1, init_qp_minus26
    r.u(1), r.u(1)  # constrained_intra_pred_flag, transform_skip_enabled_flag
    if r.u(1):  # cu_qp_delta_enabled_flag
        r.ue()
    r.se(), r.se()  # pps_cb_qp_offset, pps_cr_qp_offset
    r.u(1), r.u(1), r.u(1)  # slice chroma qp offsets present, weighted pred, weighted bipred
    return r.u(1)


def _slice_pps_id(unit_type: int, header: bytes) -> int:
    """slice_pic_parameter_set_id of a coded slice segment header (H.265 §7.3.6.1), from the first bytes of the
    slice's payload (its NAL unit after the 2-byte header, trailing zero bytes removed)."""
    # The fields read here take at most 2 + 13 bits (the id is at most 63): the payload's first bytes are enough.
    flags = 2 if 16 <= unit_type <= 23 else 1  # first_slice_segment_in_pic_flag [IRAP: no_output_of_prior_pics_flag]
    if header and header[0] & (0x80 >> flags):  # ue(v) '1' right after the flags: id 0 (the first byte of a payload
        return 0  # is always its RBSP's first byte: emulation prevention needs two zero bytes before it)
    r = BitReader(_remove_emulation_prevention(header))
    r.u(flags)
    return r.ue()


def _vps_id(rbsp: bytes) -> int:
    return BitReader(rbsp).u(4)  # vps_video_parameter_set_id


def _sps_ids(rbsp: bytes) -> tuple[int, int]:
    """(sps_seq_parameter_set_id, sps_video_parameter_set_id)."""
    vps_id, *_, sps_id = _sps_head(BitReader(rbsp))
    return sps_id, vps_id


def _pps_ids(rbsp: bytes) -> tuple[int, int]:
    """(pps_pic_parameter_set_id, pps_seq_parameter_set_id)."""
    r = BitReader(rbsp)
    return r.ue(), r.ue()


CACHED_SET_BYTES = 4096  # parameter sets up to this size are read once (a real one has tens of bytes)
T = TypeVar("T")


def _read_once(reader: Callable[[bytes], T]) -> Callable[[bytes], T]:
    """``reader`` of a parameter set's RBSP, applied to its payload (emulation prevention still in). Parameter sets
    repeat from picture to picture (one size, depth and setting give the same bytes), so what is read from one is
    kept by its bytes — a pure function of them, read once; a failed read raises again every time."""
    cached = lru_cache(maxsize=256)(lambda payload: reader(_remove_emulation_prevention(payload)))

    def read(payload: bytes) -> T:
        if len(payload) > CACHED_SET_BYTES:
            return reader(_remove_emulation_prevention(payload))
        return cached(payload)

    return read


_vps_id_of = _read_once(_vps_id)
_sps_ids_of = _read_once(_sps_ids)
_pps_ids_of = _read_once(_pps_ids)
_sps_of = _read_once(parse_sps)
_transquant_bypass_of = _read_once(parse_pps_transquant_bypass)


@dataclass(frozen=True)
class _Sets:
    """What the parameter sets before a stream's first coded slice say: the first SPS and PPS payloads among them,
    the ids each one declares, and whether they could all be read (H-4.8)."""

    sps: bytes | None
    pps: bytes | None
    vps_ids: frozenset[int]
    sps_vps: dict[int, int]  # sps id -> its vps id
    pps_sps: dict[int, int]  # pps id -> its sps id
    readable: bool

    def contain(self, pps_id: int) -> bool:
        """The slice's PPS, that PPS's SPS and that SPS's VPS are all among these sets."""
        sps_id = self.pps_sps.get(pps_id)
        return self.readable and sps_id is not None and self.sps_vps.get(sps_id, -1) in self.vps_ids


def _sets(units: tuple[bytes, ...]) -> _Sets:
    """:class:`_Sets` of the NAL units before the first coded slice. They repeat from picture to picture (one size,
    depth and setting give the same bytes), so they are read once: a pure function of their bytes (kept while they
    are small, as parameter sets are)."""
    if sum(map(len, units)) > CACHED_SET_BYTES:
        return _read_sets(units)
    return _sets_kept(units)


def _read_sets(units: tuple[bytes, ...]) -> _Sets:
    first: dict[int, bytes] = {}
    vps: set[int] = set()
    sps: dict[int, int] = {}
    pps: dict[int, int] = {}
    readable = True
    for unit in units:
        kind = (unit[0] >> 1) & 0x3F
        if not NAL_VPS <= kind <= NAL_PPS:
            continue
        payload = unit[2:].rstrip(b"\x00")
        first.setdefault(kind, payload)
        if not readable:
            continue
        try:
            if kind == NAL_VPS:
                vps.add(_vps_id_of(payload))
            elif kind == NAL_SPS:
                sps_id, vps_id = _sps_ids_of(payload)
                sps[sps_id] = vps_id
            else:
                pps_id, sps_id = _pps_ids_of(payload)
                pps[pps_id] = sps_id
        except CodecError:
            readable = False  # a parameter set before the slice that cannot be read: not self-contained
    return _Sets(first.get(NAL_SPS), first.get(NAL_PPS), frozenset(vps), sps, pps, readable)


_sets_kept = lru_cache(maxsize=256)(_read_sets)


def _scan(stream: bytes) -> tuple[bytes | None, bytes | None, int, bool]:
    """One pass over the stream's NAL units with the checks of :func:`split_nal_units`: the payloads of its first
    SPS and PPS, its count of coded slices, and whether it is self-contained (H-4.8)."""
    pieces = stream.split(b"\x00\x00\x01")  # [bytes before the first start code, then each NAL unit]
    if len(pieces) < 2:
        raise CodecError("no NAL unit start code found: not an HEVC Annex B byte stream")
    first_slice, vcl = 0, 0
    for k in range(1, len(pieces)):
        unit = pieces[k]
        # split_nal_units' checks; its payload is ``unit`` less trailing zero bytes, which cannot shorten it below
        # two bytes when its second byte (nuh_temporal_id_plus1 and a layer bit) is not zero
        if len(unit) < 2 or not unit[1] or unit[0] & 0x80:
            if len(unit.rstrip(b"\x00")) < 2:
                raise CodecError(f"NAL unit at byte {_offset(pieces, k)} is shorter than its header")
            if unit[0] & 0x80:
                raise CodecError(f"NAL unit at byte {_offset(pieces, k)} has forbidden_zero_bit set")
        if unit[0] < 64:  # nal_unit_type < 32: a coded slice segment (VCL)
            vcl += 1
            if not first_slice:
                first_slice = k
    before = _sets(tuple(pieces[1:first_slice or len(pieces)]))
    sps, pps, contained = before.sps, before.pps, False
    if first_slice:
        unit = pieces[first_slice]
        header = unit[2:18]
        if not header or not header[-1]:  # trailing zeros may end the payload here: strip them as split does
            header = unit[2:].rstrip(b"\x00")[:16]
        try:
            contained = before.contain(_slice_pps_id((unit[0] >> 1) & 0x3F, header))
        except CodecError:
            contained = False
        if sps is None or pps is None:  # the first SPS or PPS comes after the slice (not self-contained then)
            after = _read_sets(tuple(pieces[first_slice:]))
            sps = sps if sps is not None else after.sps  # an empty payload is a set, not a missing one
            pps = pps if pps is not None else after.pps
    return sps, pps, vcl, contained


def _offset(pieces: list[bytes], k: int) -> int:
    """Where the k-th piece of ``stream.split(start code)`` begins in the stream."""
    return sum(len(piece) for piece in pieces[:k]) + 3 * k


def self_contained(stream: bytes) -> bool:
    """H-4.8: whether every parameter set the first coded slice uses (its PPS, that PPS's SPS, that SPS's VPS)
    comes before it in the stream, so that no parameter set left in a decoder by an earlier stream can be used.
    Malformed input is simply not self-contained."""
    try:
        return _scan(stream)[3]
    except CodecError:
        return False


@dataclass(frozen=True)
class StreamInfo:
    sps: SequenceParameters
    transquant_bypass: int
    vcl_units: int
    self_contained: bool = False  # H-4.8 (see :func:`self_contained`)


def stream_info(stream: bytes) -> StreamInfo:
    """The first SPS and PPS of a stream, how many coded slice NAL units it has, and whether it is self-contained,
    from one pass over its NAL units (what a decode checks and what the kept decoder needs, H-5.1, H-4.8)."""
    sps, pps, vcl_units, contained = _scan(stream)
    if sps is None or pps is None:
        raise CodecError("bitstream has no SPS or no PPS")
    if vcl_units == 0:
        raise CodecError("bitstream has no coded slice")
    return _info(sps, pps, vcl_units, contained)


@lru_cache(maxsize=256)
def _info(sps: bytes, pps: bytes, vcl_units: int, contained: bool) -> StreamInfo:
    return StreamInfo(_sps_of(sps), _transquant_bypass_of(pps), vcl_units, contained)
