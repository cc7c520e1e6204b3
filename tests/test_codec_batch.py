"""Bitstream cache and process pool (spec H-6)."""

from __future__ import annotations

import numpy as np
import pytest

from cfc_ref.codecs.hevc import batch as batch_module
from cfc_ref.codecs.hevc import encode_picture
from cfc_ref.codecs.hevc.batch import BitstreamCache, cache_key, encode_many

spec = pytest.mark.spec


def pictures(count=5, depth=10):
    rng = np.random.default_rng(depth)
    return [(rng.integers(0, 2**depth, (24, 40)) // 16 * 16).astype(np.uint16) for _ in range(count)]


@spec("H-6.1")
def test_cache_is_byte_identical_and_keyed_by_everything(tmp_path, monkeypatch):
    pics = pictures()
    cache = BitstreamCache(tmp_path)
    fresh = encode_many(pics, 10, 27, workers=1, cache=cache)
    assert fresh == [encode_picture(p, 10, 27) for p in pics]
    calls = []
    monkeypatch.setattr(batch_module, "_encode_job", lambda job: calls.append(job) or b"never")
    assert encode_many(pics, 10, 27, workers=1, cache=cache) == fresh and calls == []  # nothing encoded twice
    keys = {cache_key(pics[0], 10, 27, "x265 a"), cache_key(pics[0], 10, 32, "x265 a"),
            cache_key(pics[0], 12, 27, "x265 a"), cache_key(pics[0], 10, 27, "x265 b"),
            cache_key(pics[1], 10, 27, "x265 a"), cache_key(pics[0].reshape(40, 24), 10, 27, "x265 a")}
    assert len(keys) == 6


@spec("H-6.1")
def test_cache_entries_are_whole_or_absent(tmp_path):
    """A cache entry is one SQLite row committed by itself: a damaged one is removed, counted and reported absent."""
    import sqlite3

    cache = BitstreamCache(tmp_path)
    cache.put("ab" * 32, b"payload")
    assert cache.get("ab" * 32) == b"payload" and len(cache) == 1
    with sqlite3.connect(cache.path) as db:
        db.execute("UPDATE bitstreams SET stream = ? WHERE key = ?", (b"payloaD", "ab" * 32))
    assert cache.get("ab" * 32) is None and cache.corrupt == 1 and len(cache) == 0


@spec("H-6.1", "E-3.3")
def test_pack_ignores_a_torn_or_damaged_entry(tmp_path):
    from cfc_ref.codecs.hevc.batch import PackCache

    pack = PackCache(tmp_path / "cache" / "img.pack")
    pack.put("01" * 32, b"first")
    pack.put("02" * 32, b"second")
    data = (tmp_path / "cache" / "img.pack").read_bytes()
    assert PackCache(tmp_path / "cache" / "img.pack").entries == {"01" * 32: b"first", "02" * 32: b"second"}
    (tmp_path / "cache" / "img.pack").write_bytes(data[:-3])  # a kill in the middle of the last write
    torn = PackCache(tmp_path / "cache" / "img.pack")
    assert torn.entries == {"01" * 32: b"first"} and torn.corrupt == 1
    flipped = bytearray(data)
    flipped[PackCache.HEAD + 2] ^= 1  # a flipped bit in the first bitstream
    (tmp_path / "cache" / "img.pack").write_bytes(bytes(flipped))
    damaged = PackCache(tmp_path / "cache" / "img.pack")
    assert damaged.entries == {"02" * 32: b"second"} and damaged.corrupt == 1


@spec("H-6.2")
def test_pool_equals_serial_in_order():
    pics = pictures(6, 8)
    pics = [p.astype(np.uint8) for p in pics]
    assert encode_many(pics, 8, 32, workers=2) == encode_many(pics, 8, 32, workers=1)
    assert encode_many([], 8, 32) == []
