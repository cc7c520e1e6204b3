"""Many pictures at once: a content-addressed bitstream cache and a process pool (spec H-6).

    cache = BitstreamCache("~/.cache/cfc-ref/bitstreams.sqlite")
    streams = encode_many(pictures, bit_depth=10, quality=27, cache=cache)     # all cores, no picture encoded twice
    codec = CachedCodec(HevcCodec(quality=27), cache)     # the wire codec with the cache around it (same bytes)
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cfc_ref.codecs.decoded import DecodedPictures
from cfc_ref.codecs.hevc import Encoder, HevcCodec, encode_picture, encode_verified, encoder_name
from cfc_ref.codecs.hevc.settings import Quality, check_quality, coded_bit_depth
from cfc_ref.codecs.raw import raw_sample_dtype
from cfc_ref.errors import CodecError
from cfc_ref.processes import usable_cpus


def default_cache_path() -> Path:
    return Path(os.environ.get("CFC_CACHE_DIR") or Path.home() / ".cache/cfc-ref") / "bitstreams.sqlite"


def cache_key(picture: np.ndarray, bit_depth: int, quality: Quality, encoder_id: str) -> str:
    """H-6.1: SHA-256 over the picture's raw samples, its shape, coded depth, encoder name+version and quality."""
    depth = coded_bit_depth(bit_depth)
    digest = hashlib.sha256()
    height, width = picture.shape
    header = f"cfc-ref bitstream v2|{height}x{width}|n={bit_depth}|b={depth}|{encoder_id}|{quality}|"
    digest.update(header.encode())
    digest.update(np.ascontiguousarray(picture, dtype=raw_sample_dtype(depth)).tobytes())
    return digest.hexdigest()


class BitstreamCache:
    """Bitstreams by key in one SQLite file (H-6.1): each entry is a row (the key, the SHA-256 of the bitstream, the
    bitstream) committed in its own transaction, so a killed process leaves every entry whole or absent, and the
    file holds the bitstreams' bytes without a file per entry. Several processes may share one cache.

    Every entry is verified when read: a damaged entry is removed and reported as absent (so the caller encodes
    again), and counted in ``corrupt``.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path).expanduser() if path else default_cache_path()
        if self.path.is_dir():  # a directory: the cache file inside it
            self.path = self.path / default_cache_path().name
        if self.path.is_symlink():
            raise CodecError(f"{self.path} is a symbolic link; cfc-ref writes no file through a link (remove it)")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.corrupt = 0
        try:
            self._db = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS bitstreams (key TEXT PRIMARY KEY, sha256 BLOB NOT NULL, "
                             "stream BLOB NOT NULL) WITHOUT ROWID")
        except sqlite3.DatabaseError as err:
            raise CodecError(f"{self.path}: not a usable bitstream cache ({err})") from None

    def get(self, key: str) -> bytes | None:
        row = self._db.execute("SELECT sha256, stream FROM bitstreams WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        digest, stream = row
        if stream and isinstance(stream, bytes) and digest == hashlib.sha256(stream).digest():
            return stream
        self.corrupt += 1
        self._db.execute("DELETE FROM bitstreams WHERE key = ?", (key,))
        return None

    def put(self, key: str, stream: bytes) -> None:
        self._db.execute("INSERT OR REPLACE INTO bitstreams VALUES (?, ?, ?)",
                         (key, hashlib.sha256(stream).digest(), stream))

    def __len__(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM bitstreams").fetchone()[0])

    def close(self) -> None:
        self._db.close()


PACK_MAGIC = b"CFCP"  # a pack entry: magic, key (32 bytes), SHA-256 of the bitstream, length (uint32 LE), bitstream
MAX_PACK_BYTES = 1 << 30  # a pack larger than this is refused unread (an image's pack holds a few MB)


class PackCache:
    """One content-addressed pack file of bitstreams (H-6.1, spec E-3.3): a run keeps one per image while that
    image's units are unfinished. Entries are appended with one write each (O_APPEND), so a killed process leaves
    every entry whole or a torn last one. Reading verifies every entry; an entry that is damaged or torn is counted
    in ``corrupt`` (and encoded again by the caller), the framing picks up again at the next whole entry, and the
    pack is rewritten with its good entries before anything is appended, so that nothing is ever appended behind
    unreadable bytes. Only a regular file is read (a FIFO or device there is refused by name). Not shared between
    processes at the same time."""

    HEAD = len(PACK_MAGIC) + 32 + 32 + 4

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if self.path.is_symlink():
            raise CodecError(f"{self.path} is a symbolic link; cfc-ref writes no file through a link (remove it)")
        self.corrupt = 0
        self.entries: dict[str, bytes] = {}
        self._rewrite = False
        if not os.path.lexists(self.path):
            return
        from cfc_ref.fileio import read_bounded

        data = read_bounded(self.path, MAX_PACK_BYTES, CodecError)
        at, damaged_from = 0, None
        while at < len(data):
            entry = self._entry(data, at)
            if entry is None:  # not a whole, verified entry here: damaged or torn; look for the next one
                damaged_from = at if damaged_from is None else damaged_from
                found = data.find(PACK_MAGIC, at + 1)
                at = len(data) if found < 0 else found
                continue
            if damaged_from is not None:
                self._count_damaged(data[damaged_from:at])
                damaged_from = None
            key, stream = entry
            self.entries[key] = stream
            at += self.HEAD + len(stream)
        if damaged_from is not None:
            self._count_damaged(data[damaged_from:])
        self._rewrite = bool(self.corrupt)

    def _entry(self, data: bytes, at: int) -> tuple[str, bytes] | None:
        """The whole entry framed at ``at`` whose bitstream matches its SHA-256, or None."""
        if data[at:at + 4] != PACK_MAGIC or at + self.HEAD > len(data):
            return None
        length = int.from_bytes(data[at + 68:at + 72], "little")
        stream = data[at + self.HEAD:at + self.HEAD + length]
        if len(stream) != length or not stream or hashlib.sha256(stream).digest() != data[at + 36:at + 68]:
            return None
        return data[at + 4:at + 36].hex(), stream

    def _count_damaged(self, region: bytes) -> None:
        """E-3.3: each entry of a damaged stretch is encoded again, and counted: as many entries as its length fields
        frame exactly, else as many entry heads as begin in it (at least one)."""
        at, steps = 0, 0
        while at + self.HEAD <= len(region):
            at += self.HEAD + int.from_bytes(region[at + 68:at + 72], "little")
            steps += 1
        self.corrupt += steps if at == len(region) else max(1, region.count(PACK_MAGIC))

    def _entry_bytes(self, key: str, stream: bytes) -> bytes:
        return (PACK_MAGIC + bytes.fromhex(key) + hashlib.sha256(stream).digest() + len(stream).to_bytes(4, "little")
                + stream)

    def get(self, key: str) -> bytes | None:
        return self.entries.get(key)

    def put(self, key: str, stream: bytes) -> None:
        from cfc_ref.fileio import append_bytes, write_atomic

        if not self.entries and not self.path.parent.is_dir():
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.entries[key] = stream
        if self._rewrite:  # the good entries only, then append after them (E-3.3)
            write_atomic(self.path, b"".join(self._entry_bytes(k, v) for k, v in self.entries.items()))
            self._rewrite = False
            return
        append_bytes(self.path, self._entry_bytes(key, stream))


@dataclass
class CachedCodec:
    """The HEVC wire codec with a bitstream cache around its encoder (H-6.1): the same bytes as ``codec`` alone,
    so caching is not a second coding path. ``on_encode(key)`` is called for every fresh encode; ``decoded`` (E-1.4)
    receives the picture a fresh lossless stream's verifying decode gave back, for the cloud side to reuse."""

    codec: HevcCodec
    cache: BitstreamCache | PackCache
    on_encode: Callable[[str], None] | None = None
    decoded: DecodedPictures | None = None
    encoder_id: str = field(default="", init=False)
    keys: list[str] = field(default_factory=list, init=False)  # every key asked for, in order

    def __post_init__(self) -> None:
        self.encoder_id = encoder_name(self.codec.encoder)

    @property
    def name(self) -> str:
        return self.codec.name

    @property
    def codec_id(self) -> int:
        return self.codec.codec_id

    def encode(self, picture: np.ndarray, bit_depth: int) -> bytes:
        key = cache_key(picture, bit_depth, self.codec.quality, self.encoder_id)
        self.keys.append(key)
        stream = self.cache.get(key)
        if stream is None:
            codec = self.codec
            stream, verified_by = encode_verified(picture, bit_depth, codec.quality, codec.encoder, codec.decoder)
            if verified_by is not None and self.decoded is not None:  # H-5.2's decode gave this picture back
                self.decoded.put(stream, picture.shape, bit_depth, codec.decoder, picture, verified_by)
            self.cache.put(key, stream)
            if self.on_encode is not None:
                self.on_encode(key)
        return stream

    def decode(self, payload: bytes, shape: tuple[int, int], bit_depth: int) -> np.ndarray:
        return self.codec.decode(payload, shape, bit_depth)

    def decode_named(self, payload: bytes, shape: tuple[int, int], bit_depth: int) -> tuple[np.ndarray, str]:
        return self.codec.decode_named(payload, shape, bit_depth)


def _encode_job(job: tuple[np.ndarray, int, Quality, Encoder]) -> bytes:
    picture, bit_depth, quality, encoder = job
    return encode_picture(picture, bit_depth, quality, encoder)


def encode_many(pictures: Sequence[np.ndarray], bit_depth: int, quality: Quality, encoder: Encoder = "x265",
                workers: int | None = None, cache: BitstreamCache | None = None,
                pool: Executor | None = None) -> list[bytes]:
    """Encode pictures in input order (H-6.2); cached pictures are read back, the rest encoded on ``workers`` cores
    (or on ``pool``, an executor the caller keeps alive across calls, which saves starting processes each time)."""
    quality = check_quality(quality)
    keys: list[str | None] = [None] * len(pictures)
    results: list[bytes | None] = [None] * len(pictures)
    if cache is not None:
        name = encoder_name(encoder)
        keys = [cache_key(p, bit_depth, quality, name) for p in pictures]
        results = [cache.get(k) for k in keys if k is not None]
    todo = [i for i, stream in enumerate(results) if stream is None]
    jobs = [(pictures[i], bit_depth, quality, encoder) for i in todo]
    workers = min(workers or usable_cpus(), len(jobs))
    if pool is None and workers > 1:
        from cfc_ref.processes import worker_pool

        with worker_pool(workers) as own_pool:
            fresh = list(own_pool.map(_encode_job, jobs))
    else:
        fresh = list(pool.map(_encode_job, jobs)) if pool is not None else [_encode_job(job) for job in jobs]
    for i, stream in zip(todo, fresh, strict=True):
        results[i] = stream
        key = keys[i]
        if cache is not None and key is not None:
            cache.put(key, stream)
    return [stream for stream in results if stream is not None]
