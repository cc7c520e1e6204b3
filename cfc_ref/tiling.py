"""Channels of a C×H×W tensor → one monochrome picture, and back (paper §3.2, Fig. 3; spec/tiling.md).

Readable reference: explicit loops over channels, one line per spec clause. A run tiles and untiles with the
vectorised twins in ``cfc_ref.fast.tiling`` (numpy reshape; batched torch too), proven equal to these by
``tests/test_tiling.py::test_fast_paths_equal_reference``; ``cfc-ref run --reference`` runs this module instead
(spec E-12, ``cfc_ref.implementations``).

    picture = tile(q, layout="tile", align=8)
    q_back = untile(picture, q.shape, layout="tile", align=8)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from cfc_ref.errors import TilingError

Layout = Literal["tile", "quilt"]
LAYOUTS: tuple[Layout, ...] = ("tile", "quilt")
DEFAULT_ALIGN = 8  # HEVC minimum coding block with CTU 16 (spec T-4.2)
MAX_PICTURE_SIDE = 16888  # HEVC level 6.2 (spec T-4.3)


@dataclass(frozen=True)
class PictureGeometry:
    """Where everything goes for one C×H×W shape (spec T-1, T-4)."""

    channels: int
    height: int
    width: int
    rows: int  # R, grid rows
    cols: int  # K, grid columns
    align: int

    @property
    def content_height(self) -> int:
        return self.rows * self.height

    @property
    def content_width(self) -> int:
        return self.cols * self.width

    @property
    def picture_height(self) -> int:
        return -(-self.content_height // self.align) * self.align

    @property
    def picture_width(self) -> int:
        return -(-self.content_width // self.align) * self.align

    @property
    def picture_shape(self) -> tuple[int, int]:
        return self.picture_height, self.picture_width


def grid_shape(channels: int) -> tuple[int, int]:
    """Spec T-1.1: R = 2^floor(floor(log2 C) / 2), K = ceil(C / R). E.g. 256 → (16, 16), 512 → (16, 32)."""
    if isinstance(channels, bool) or not isinstance(channels, (int, np.integer)) or channels < 1:
        raise TilingError(f"channel count must be an integer >= 1, got {channels!r}")
    k = int(channels).bit_length() - 1
    rows = 2 ** (k // 2)
    cols = -(-int(channels) // rows)
    return rows, cols


def check_layout(layout: str) -> None:
    if layout not in LAYOUTS:
        raise TilingError(f"unknown layout {layout!r}; expected one of {LAYOUTS}")


def geometry(shape: tuple[int, ...], align: int = DEFAULT_ALIGN) -> PictureGeometry:
    """Grid and padded picture size for a C×H×W shape (spec T-1.1, T-4.2, T-4.3)."""
    if not isinstance(shape, (tuple, list)) or len(shape) != 3 or not all(
            isinstance(s, (int, np.integer)) and not isinstance(s, (bool, np.bool_)) for s in shape):
        raise TilingError(f"expected a C×H×W shape of 3 integers, got {shape!r}")
    channels, height, width = (int(s) for s in shape)
    if height < 1 or width < 1:
        raise TilingError(f"height and width must be >= 1, got {tuple(shape)}")
    if isinstance(align, bool) or not isinstance(align, (int, np.integer)) or not 1 <= align <= 64:
        raise TilingError(f"alignment must be an integer in 1..64, got {align!r}")
    rows, cols = grid_shape(channels)
    geo = PictureGeometry(channels, height, width, rows, cols, int(align))
    if max(geo.picture_shape) > MAX_PICTURE_SIDE:
        raise TilingError(f"picture {geo.picture_shape} exceeds {MAX_PICTURE_SIDE} samples on a side")
    return geo


def channel_view(picture: np.ndarray, geo: PictureGeometry, channel: int, layout: Layout) -> np.ndarray:
    """The H×W view of ``picture`` that holds one channel (spec T-2.1, T-3.1)."""
    grid_row, grid_col = divmod(channel, geo.cols)
    if layout == "tile":
        top, left = grid_row * geo.height, grid_col * geo.width
        return picture[top : top + geo.height, left : left + geo.width]
    return picture[grid_row : geo.content_height : geo.rows, grid_col : geo.content_width : geo.cols]


def pad_to_alignment(content: np.ndarray, geo: PictureGeometry) -> np.ndarray:
    """Spec T-4.2: replicate the last row downwards, then the last column rightwards."""
    extra_rows = geo.picture_height - geo.content_height
    extra_cols = geo.picture_width - geo.content_width
    return np.pad(content, ((0, extra_rows), (0, extra_cols)), mode="edge")


SAMPLE_TYPES = (np.dtype(np.uint8), np.dtype(np.uint16))


def check_samples(array: np.ndarray, what: str) -> None:
    """T-2.2: Q-layer samples only: unsigned integers of 8 or 16 bits."""
    if array.dtype.newbyteorder("=") not in SAMPLE_TYPES:
        raise TilingError(f"{what} must hold uint8 or uint16 samples, got dtype {array.dtype}")


def tile(q: np.ndarray, layout: Layout = "tile", align: int = DEFAULT_ALIGN) -> np.ndarray:
    """Place the channels of ``q`` (C×H×W) into one padded picture (spec T-2..T-4)."""
    check_layout(layout)
    q = np.asarray(q)
    check_samples(q, "the tensor")
    geo = geometry(q.shape, align)
    content = np.zeros((geo.content_height, geo.content_width), dtype=q.dtype)  # T-4.1: unused slots are 0
    for channel in range(geo.channels):
        channel_view(content, geo, channel, layout)[...] = q[channel]
    return pad_to_alignment(content, geo)


def untile(picture: np.ndarray, shape: tuple[int, int, int], layout: Layout = "tile",
           align: int = DEFAULT_ALIGN) -> np.ndarray:
    """Inverse of :func:`tile`: read the channels back, ignoring unused slots and padding (spec T-5)."""
    check_layout(layout)
    picture = np.asarray(picture)
    check_samples(picture, "the picture")
    geo = geometry(shape, align)
    if picture.shape != geo.picture_shape:
        raise TilingError(f"picture is {picture.shape}, expected {geo.picture_shape} for {tuple(shape)}")
    q = np.empty((geo.channels, geo.height, geo.width), dtype=picture.dtype)
    for channel in range(geo.channels):
        q[channel] = channel_view(picture, geo, channel, layout)
    return q
