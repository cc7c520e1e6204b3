"""Many pictures at once: a content-addressed bitstream cache and a process pool (spec H-6).

    cache = BitstreamCache("~/.cache/cfc-ref/bitstreams")
    streams = encode_many(pictures, bit_depth=10, quality=27, cache=cache)     # all cores, no picture encoded twice
    codec = CachedCodec(HevcCodec(quality=27), cache)     # the wire codec with the cache around it (same bytes)
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cfc_ref.codecs.hevc import Encoder, HevcCodec, encode_picture, encoder_name
from cfc_ref.codecs.hevc.settings import Quality, check_quality, coded_bit_depth
from cfc_ref.codecs.raw import raw_sample_dtype
from cfc_ref.fileio import write_atomic


def default_cache_dir() -> Path:
    return Path(os.environ.get("CFC_CACHE_DIR") or Path.home() / ".cache/cfc-ref/bitstreams")


def cache_key(picture: np.ndarray, bit_depth: int, quality: Quality, encoder_id: str) -> str:
    """H-6.1: SHA-256 over the picture's raw samples, its shape, coded depth, encoder name+version and quality."""
    depth = coded_bit_depth(bit_depth)
    digest = hashlib.sha256()
    height, width = picture.shape
    header = f"cfc-ref bitstream v2|{height}x{width}|n={bit_depth}|b={depth}|{encoder_id}|{quality}|"
    digest.update(header.encode())
    digest.update(np.ascontiguousarray(picture, dtype=raw_sample_dtype(depth)).tobytes())
    return digest.hexdigest()


ENTRY_MAGIC = b"CFCB"  # an entry: magic, SHA-256 of the bitstream, the bitstream (H-6.1)


class BitstreamCache:
    """Bitstreams on disk by key; writes are atomic (a complete file or none), so a killed run leaves no half entry.

    Every entry carries the SHA-256 of its bitstream and is verified when read: a damaged entry is removed and
    reported as absent (so the caller encodes again), and counted in ``corrupt``.
    """

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = Path(directory).expanduser() if directory else default_cache_dir()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.corrupt = 0

    def path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.hevc"

    def get(self, key: str) -> bytes | None:
        path = self.path(key)
        try:
            entry = path.read_bytes()
        except FileNotFoundError:
            return None
        stream = entry[len(ENTRY_MAGIC) + 32:]
        if entry[:len(ENTRY_MAGIC)] == ENTRY_MAGIC and entry[len(ENTRY_MAGIC):len(ENTRY_MAGIC) + 32] == \
                hashlib.sha256(stream).digest() and stream:
            return stream
        self.corrupt += 1
        path.unlink(missing_ok=True)
        return None

    def put(self, key: str, stream: bytes) -> None:
        write_atomic(self.path(key), ENTRY_MAGIC + hashlib.sha256(stream).digest() + stream)


@dataclass
class CachedCodec:
    """The HEVC wire codec with a bitstream cache around its encoder (H-6.1): the same bytes as ``codec`` alone,
    so caching is not a second coding path. ``on_encode(key)`` is called for every fresh encode."""

    codec: HevcCodec
    cache: BitstreamCache
    on_encode: Callable[[str], None] | None = None
    encoder_id: str = field(default="", init=False)

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
        stream = self.cache.get(key)
        if stream is None:
            stream = self.codec.encode(picture, bit_depth)
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
    workers = min(workers or os.cpu_count() or 1, len(jobs))
    if pool is None and workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as own_pool:
            fresh = list(own_pool.map(_encode_job, jobs))
    else:
        fresh = list(pool.map(_encode_job, jobs)) if pool is not None else [_encode_job(job) for job in jobs]
    for i, stream in zip(todo, fresh, strict=True):
        results[i] = stream
        key = keys[i]
        if cache is not None and key is not None:
            cache.put(key, stream)
    return [stream for stream in results if stream is not None]
