"""The wire format: one container per image, one record per transmitted tensor (spec/container.md).

    data = pack([TensorRecord(...), ...])
    records = parse(data)            # strict: anything else raises ContainerError (W-4)

Byte layout, field by field, in spec W-1 and W-2. ``cfc_ref.pipeline`` builds records from feature tensors.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass

import numpy as np

from cfc_ref.codecs import CODEC_IDS, codec_name
from cfc_ref.codecs.raw import raw_sample_dtype
from cfc_ref.errors import CfcError, ContainerError
from cfc_ref.qlayer import QUANT_MODES, QuantMode, SideInfo
from cfc_ref.tiling import LAYOUTS, Layout, geometry

MAGIC = b"CFCR"
VERSION = 1
HEADER = struct.Struct("<4sBBH")  # magic, version, flags, tensor_count (W-1)
SHAPE_FIELDS = struct.Struct("<IIIBBBBBB")  # C, H, W, bit_depth, mode, layout, align, codec_id, reserved (W-2)
CRC_BYTES = 4
MAX_TENSORS = 255
MAX_NAME = 64
MAX_DIM = 65535
NAME_PATTERN = re.compile(rb"[A-Za-z0-9_.\-]+")


@dataclass(frozen=True)
class TensorRecord:
    """One transmitted tensor: its name, shape, Q-layer settings, side info and coded picture (spec W-2)."""

    name: str
    shape: tuple[int, int, int]
    bit_depth: int
    layout: Layout
    align: int
    codec: str
    side_info: SideInfo
    payload: bytes

    @property
    def mode(self) -> QuantMode:
        return self.side_info.mode

    @property
    def picture_shape(self) -> tuple[int, int]:
        """The coded picture's size, derived from the fields (spec W-2.1)."""
        return geometry(self.shape, self.align).picture_shape


class _Reader:
    """Bounds-checked reads; every failure is a ContainerError naming the offset and the field."""

    def __init__(self, data: bytes, end: int) -> None:
        self.data, self.pos, self.end = data, 0, end

    def take(self, size: int, field: str) -> bytes:
        if size > self.end - self.pos:
            raise ContainerError(f"offset {self.pos}: truncated {field} (needs {size} bytes, "
                                 f"{self.end - self.pos} left)")
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def unpack(self, fmt: struct.Struct, field: str) -> tuple:
        return fmt.unpack(self.take(fmt.size, field))

    def fail(self, at: int, message: str) -> ContainerError:
        return ContainerError(f"offset {at}: {message}")


def _check_range(reader: _Reader, at: int, field: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise reader.fail(at, f"{field} {value} out of range {low}..{high}")


def _parse_record(reader: _Reader, seen_names: set[str]) -> TensorRecord:
    start = reader.pos
    (name_length,) = reader.take(1, "name_length")
    _check_range(reader, start, "name_length", name_length, 1, MAX_NAME)
    raw_name = reader.take(name_length, "name")
    if not NAME_PATTERN.fullmatch(raw_name):
        raise reader.fail(start + 1, f"name {raw_name!r} has a byte outside [A-Za-z0-9_.-]")
    name = raw_name.decode("ascii")
    if name in seen_names:
        raise reader.fail(start + 1, f"duplicate tensor name {name!r}")
    at = reader.pos
    c, h, w, bit_depth, mode_id, layout_id, align, codec_id, reserved = reader.unpack(SHAPE_FIELDS, "shape fields")
    for offset, field, value, low, high in (
        (0, "channels", c, 1, MAX_DIM), (4, "height", h, 1, MAX_DIM), (8, "width", w, 1, MAX_DIM),
        (12, "bit_depth", bit_depth, 1, 16), (13, "quant_mode", mode_id, 0, len(QUANT_MODES) - 1),
        (14, "layout", layout_id, 0, len(LAYOUTS) - 1), (15, "align", align, 1, 64),
        (16, "codec_id", codec_id, 0, max(CODEC_IDS.values())), (17, "reserved", reserved, 0, 0),
    ):
        _check_range(reader, at + offset, field, value, low, high)
    try:
        geo = geometry((c, h, w), align)
    except CfcError as err:
        raise reader.fail(at, str(err)) from None
    mode = QUANT_MODES[mode_id]
    side_at = reader.pos
    side_bytes = reader.take(8 if mode == "minmax" else 4, "side info")
    try:
        side = SideInfo.from_bytes(side_bytes, mode)
    except CfcError as err:
        raise reader.fail(side_at, f"side info: {err}") from None
    payload_at = reader.pos
    (payload_length,) = reader.unpack(struct.Struct("<I"), "payload_length")
    if payload_length < 1:
        raise reader.fail(payload_at, "payload_length is 0")
    payload = reader.take(payload_length, "payload")
    codec = codec_name(codec_id)
    if codec == "raw":
        expected = geo.picture_height * geo.picture_width * raw_sample_dtype(bit_depth).itemsize
        if payload_length != expected:
            raise reader.fail(payload_at, f"raw payload is {payload_length} bytes, picture needs {expected}")
        if raw_sample_above(payload, bit_depth):
            raise reader.fail(payload_at + 4, f"raw payload has a sample above {2**bit_depth - 1}")
    seen_names.add(name)
    return TensorRecord(name, (c, h, w), bit_depth, LAYOUTS[layout_id], align, codec, side, bytes(payload))


def raw_sample_above(payload: bytes, bit_depth: int) -> bool:
    """W-3.1: whether a raw payload holds a sample above 2^n − 1 (one byte a sample up to 8 bits, else two)."""
    return int(np.frombuffer(payload, dtype=raw_sample_dtype(bit_depth)).max()) > 2**bit_depth - 1


def parse(data: bytes) -> list[TensorRecord]:
    """Parse one container strictly (spec W-4); returns its records in order."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ContainerError(f"container must be bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) < HEADER.size + CRC_BYTES:
        raise ContainerError(f"offset 0: truncated container ({len(data)} bytes, a header needs "
                             f"{HEADER.size + CRC_BYTES})")
    if data[:4] != MAGIC:
        raise ContainerError(f"offset 0: wrong magic {data[:4]!r}, expected {MAGIC!r}")
    body_end = len(data) - CRC_BYTES
    (stored_crc,) = struct.unpack_from("<I", data, body_end)
    if zlib.crc32(data[:body_end]) != stored_crc:  # W-4.2: corruption is reported as such
        raise ContainerError(f"offset {body_end}: crc mismatch (container corrupted or truncated)")
    reader = _Reader(data, body_end)
    _, version, flags, count = reader.unpack(HEADER, "header")
    if version != VERSION:
        raise reader.fail(4, f"unsupported version {version}, expected {VERSION}")
    if flags != 0:
        raise reader.fail(5, f"flags must be 0, got {flags}")
    _check_range(reader, 6, "tensor_count", count, 1, MAX_TENSORS)
    names: set[str] = set()
    records = [_parse_record(reader, names) for _ in range(count)]
    if reader.pos != body_end:
        raise reader.fail(reader.pos, f"{body_end - reader.pos} bytes left over after the last record")
    return records


def _record_bytes(record: TensorRecord) -> bytes:
    name = record.name.encode("ascii", errors="replace")
    c, h, w = record.shape
    fields = SHAPE_FIELDS.pack(c, h, w, record.bit_depth, QUANT_MODES.index(record.mode),
                               LAYOUTS.index(record.layout), record.align, CODEC_IDS[record.codec], 0)
    return (bytes([len(name)]) + name + fields + record.side_info.to_bytes()
            + struct.pack("<I", len(record.payload)) + record.payload)


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _check_record(record: object, index: int) -> None:
    """W-4.3: field types before any byte is written (a bool is not a bit depth, a bytes name is not a name)."""
    where = f"record {index}"
    if not isinstance(record, TensorRecord):
        raise ContainerError(f"{where}: expected a TensorRecord, got {type(record).__name__}")
    if not isinstance(record.name, str):
        raise ContainerError(f"{where}: name must be str, got {type(record.name).__name__}")
    if not (isinstance(record.shape, tuple) and len(record.shape) == 3 and all(_is_int(v) for v in record.shape)):
        raise ContainerError(f"{where}: shape must be a tuple of 3 integers, got {record.shape!r}")
    for field in ("bit_depth", "align"):
        if not _is_int(getattr(record, field)):
            raise ContainerError(f"{where}: {field} must be an integer, got {getattr(record, field)!r}")
    if not isinstance(record.side_info, SideInfo):
        raise ContainerError(f"{where}: side_info must be a SideInfo, got {type(record.side_info).__name__}")
    if not isinstance(record.payload, (bytes, bytearray)):
        raise ContainerError(f"{where}: payload must be bytes, got {type(record.payload).__name__}")
    if not isinstance(record.codec, str) or not isinstance(record.layout, str):
        raise ContainerError(f"{where}: codec and layout must be names")


def pack(records: list[TensorRecord]) -> bytes:
    """Serialise records into one container (spec W-1, W-2); refuses anything ``parse`` would reject (W-4.3)."""
    if not isinstance(records, (list, tuple)) or not 1 <= len(records) <= MAX_TENSORS:
        count = len(records) if isinstance(records, (list, tuple)) else type(records).__name__
        raise ContainerError(f"a container holds 1..{MAX_TENSORS} tensors, got {count}")
    for index, record in enumerate(records):
        _check_record(record, index)
    try:
        body = HEADER.pack(MAGIC, VERSION, 0, len(records)) + b"".join(_record_bytes(r) for r in records)
    except (KeyError, ValueError, struct.error, OverflowError) as err:
        raise ContainerError(f"cannot serialise records: {err}") from None
    data = body + struct.pack("<I", zlib.crc32(body))
    if parse(data) != list(records):  # W-4.3: what we write, we can read back unchanged
        raise ContainerError("records do not survive a round trip through the wire format")
    return data
