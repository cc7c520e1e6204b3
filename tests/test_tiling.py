"""Tiling and quilting (spec/tiling.md): grid rule, placement, padding, exact inverse, fast paths."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cfc_ref import tiling
from cfc_ref.errors import TilingError
from cfc_ref.fast.tiling import tile_batch, tile_fast, untile_batch, untile_fast

spec = pytest.mark.spec
LAYOUT = st.sampled_from(tiling.LAYOUTS)
ALIGN = st.sampled_from([1, 2, 8, 16, 64]) | st.integers(1, 64)


@st.composite
def quantized(draw, max_channels=70, max_side=9):
    c, h, w = draw(st.integers(1, max_channels)), draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    dtype = draw(st.sampled_from([np.uint8, np.uint16]))
    seed = draw(st.integers(0, 2**32 - 1))
    return np.random.default_rng(seed).integers(1, np.iinfo(dtype).max, size=(c, h, w), endpoint=True).astype(dtype)


@spec("T-1.1")
@pytest.mark.parametrize("channels,grid", [(1, (1, 1)), (2, (1, 2)), (3, (1, 3)), (4, (2, 2)), (7, (2, 4)),
                                           (64, (8, 8)), (100, (8, 13)), (125, (8, 16)), (256, (16, 16)),
                                           (512, (16, 32)), (1024, (32, 32)), (1280, (32, 40))])
def test_grid_examples(channels, grid):
    assert tiling.grid_shape(channels) == grid


@spec("T-1.1")
@given(st.integers(1, 100_000))
def test_grid_rule_properties(c):
    rows, cols = tiling.grid_shape(c)
    assert rows * cols >= c > rows * (cols - 1)  # enough slots, no spare row of tiles
    assert rows <= cols < 4 * rows + 1
    assert rows & (rows - 1) == 0  # a power of two


@spec("T-1.1")
@pytest.mark.parametrize("shape", [(0, 2, 2), (2, 0, 2), (2, 2, 0), (2, 2), (1, 2, 3, 4)])
def test_bad_shapes(shape):
    with pytest.raises(TilingError):
        tiling.geometry(shape)
    with pytest.raises(TilingError):
        tiling.grid_shape(1.5)  # type: ignore[arg-type]


@spec("T-1.2")
def test_paper_pictures():
    assert tiling.geometry((256, 26, 26)).picture_shape == (416, 416)
    assert tiling.geometry((512, 13, 13)).picture_shape == (208, 416)


@spec("T-2.1")
def test_tile_placement():
    q = np.arange(5 * 2 * 3, dtype=np.uint8).reshape(5, 2, 3)  # grid 2×3
    pic = tiling.tile(q, "tile", align=1)
    assert pic.shape == (4, 9)
    assert np.array_equal(pic[0:2, 3:6], q[1]) and np.array_equal(pic[2:4, 0:3], q[3])
    assert np.array_equal(pic[2:4, 3:6], q[4])


@spec("T-3.1")
def test_quilt_placement():
    q = np.arange(5 * 2 * 3, dtype=np.uint8).reshape(5, 2, 3)  # grid 2×3: blocks of 2×3 per position
    pic = tiling.tile(q, "quilt", align=1)
    assert pic.shape == (4, 9)
    for c in range(5):
        for y in range(2):
            for x in range(3):
                assert pic[y * 2 + c // 3, x * 3 + c % 3] == q[c, y, x]


@spec("T-4.1")
@pytest.mark.parametrize("layout", tiling.LAYOUTS)
def test_unused_slots_are_zero(layout):
    q = np.full((5, 2, 3), 9, dtype=np.uint16)
    pic = tiling.tile(q, layout, align=1)
    assert (pic == 0).sum() == 1 * 2 * 3 and (pic == 9).sum() == 5 * 2 * 3


@spec("T-4.2")
def test_padding_replicates_edges():
    q = np.arange(1, 3 * 5 * 7 + 1, dtype=np.uint16).reshape(3, 5, 7)
    pic = tiling.tile(q, "tile", align=8)
    content = tiling.tile(q, "tile", align=1)
    assert pic.shape == (8, 24) and content.shape == (5, 21)
    assert np.array_equal(pic[:5, :21], content)
    assert (pic[5:, :21] == content[-1]).all()
    assert (pic[:, 21:] == pic[:, 20:21]).all()


@spec("T-4.2")
@pytest.mark.parametrize("align", [0, 65, -8, 2.0, True])
def test_bad_alignment(align):
    with pytest.raises(TilingError, match="alignment"):
        tiling.tile(np.zeros((1, 2, 2), dtype=np.uint8), "tile", align)


@spec("T-4.3")
def test_too_large_picture():
    with pytest.raises(TilingError, match="16888"):
        tiling.geometry((1024, 600, 600))
    assert tiling.geometry((1, 16888, 16888), align=1).picture_shape == (16888, 16888)


@spec("T-5.1", "T-2.1", "T-3.1")
@settings(max_examples=200, deadline=None)
@given(quantized(), LAYOUT, ALIGN)
def test_inverse(q, layout, align):
    pic = tiling.tile(q, layout, align)
    geo = tiling.geometry(q.shape, align)
    assert pic.shape == geo.picture_shape and pic.dtype == q.dtype
    assert pic.shape[0] % align == 0 and pic.shape[1] % align == 0
    assert np.array_equal(tiling.untile(pic, q.shape, layout, align), q)


@spec("T-5.2")
def test_wrong_picture_size():
    with pytest.raises(TilingError, match="expected"):
        tiling.untile(np.zeros((8, 16), dtype=np.uint8), (3, 5, 7), "tile", 8)
    with pytest.raises(TilingError, match="layout"):
        tiling.untile(np.zeros((8, 24), dtype=np.uint8), (3, 5, 7), "spiral", 8)  # type: ignore[arg-type]


@spec("T-6.1")
@settings(max_examples=150, deadline=None)
@given(quantized(), LAYOUT, ALIGN, st.integers(1, 3))
def test_fast_paths_equal_reference(q, layout, align, batch):
    pic = tiling.tile(q, layout, align)
    assert np.array_equal(tile_fast(q, layout, align), pic)
    assert np.array_equal(untile_fast(pic, q.shape, layout, align), q)
    values = [((q.astype(np.int64) + i) % 65536).astype(np.uint16) for i in range(batch)]
    stack = torch.from_numpy(np.stack(values).astype(np.int32))  # the batch path works on int32 tensors
    pics = tile_batch(stack, layout, align)
    for i in range(batch):
        assert np.array_equal(pics[i].numpy(), tiling.tile(values[i], layout, align).astype(np.int32))
    assert torch.equal(untile_batch(pics, q.shape, layout, align), stack)


@spec("T-6.1")
def test_fast_paths_reject_like_reference():
    with pytest.raises(TilingError):
        untile_fast(np.zeros((8, 16), dtype=np.uint8), (3, 5, 7), "tile", 8)
    with pytest.raises(TilingError):
        untile_batch(torch.zeros(1, 8, 16), (3, 5, 7), "tile", 8)
    with pytest.raises(TilingError):
        tile_fast(np.zeros((1, 2, 2), dtype=np.uint8), "tile", 0)


@spec("T-6.1", "Q-6.1")
@settings(max_examples=150, deadline=None)
@given(quantized(max_channels=40), LAYOUT, ALIGN, st.integers(1, 16), st.sampled_from(["minmax", "relu"]))
def test_fused_quantize_and_tile_equals_reference(q, layout, align, n, mode):
    pytest.importorskip("numba", reason="numba (optional extra 'fast') is not installed")
    from cfc_ref import qlayer
    from cfc_ref.fast.fused import quantize_and_tile

    v = (q.astype(np.float32) - 300.0) * np.float32(0.37)
    if mode == "relu":
        v = np.abs(v)
    picture, side = quantize_and_tile(v, n, mode, layout, align)
    q_ref, side_ref = qlayer.quantize(v, n, mode)
    assert side == side_ref
    expected = tiling.tile(q_ref, layout, align)
    assert picture.dtype == expected.dtype and np.array_equal(picture, expected)


@spec("T-2.2")
@pytest.mark.parametrize("dtype", ["<i4", "<f4", "?", "<u4", "<i2", "<f8"])
def test_only_uint8_and_uint16_samples(dtype):
    for keep in (np.uint8, np.dtype("<u2")):
        q = np.arange(8).astype(keep).reshape(2, 2, 2)
        assert tiling.tile(q, "tile", 8).dtype == q.dtype
        assert tiling.untile(tiling.tile(q, "quilt", 8), q.shape, "quilt", 8).dtype == q.dtype
    bad = np.zeros((2, 2, 2), dtype=dtype)
    for call in (lambda: tiling.tile(bad, "tile", 8), lambda: tile_fast(bad, "tile", 8),
                 lambda: tiling.untile(np.zeros((8, 8), dtype=dtype), (2, 2, 2), "tile", 8),
                 lambda: untile_fast(np.zeros((8, 8), dtype=dtype), (2, 2, 2), "tile", 8)):
        with pytest.raises(TilingError, match="uint8 or uint16"):
            call()


@spec("T-6.1", "Q-6.1")
@pytest.mark.parametrize("layout", ["tile", "quilt"])
def test_fused_path_on_every_golden_qlayer_vector(layout):
    """The edge cases of the golden vectors (ties, subnormal and ±3e38 ranges, signed zeros, 1 and 16 bits) through
    the fused path, against the reference."""
    pytest.importorskip("numba", reason="numba (optional extra 'fast') is not installed")
    import json

    from cfc_ref import qlayer
    from cfc_ref.fast.fused import quantize_and_tile

    from cfc_testing import GOLDEN

    manifest = json.loads((GOLDEN / "qlayer" / "vectors.json").read_text())
    cases = [v for v in manifest["vectors"] if v["result"] == "valid" and v["operation"] == "quantize"]
    assert len(cases) >= 15
    for case in cases:
        v = np.load(GOLDEN / "qlayer" / case["input"])
        if v.dtype != np.float32:
            continue
        picture, side = quantize_and_tile(v, case["bit_depth"], case["mode"], layout, 8)
        q_ref, side_ref = qlayer.quantize(v, case["bit_depth"], case["mode"])
        assert side == side_ref, case["id"]
        assert np.array_equal(picture, tiling.tile(q_ref, layout, 8)), case["id"]
