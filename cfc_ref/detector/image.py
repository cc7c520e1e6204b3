"""Network input from an image, as Darknet's VOC validation made it (spec D-4.1)."""

from __future__ import annotations

import numpy as np


def to_float_chw(image: np.ndarray) -> np.ndarray:
    """H×W×3 uint8 RGB → 3×H×W float32 in [0, 1] (samples / 255)."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an H×W×3 uint8 RGB image, got {image.dtype} {image.shape}")
    return np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32) / np.float32(255.0)


def _resize_axis(x: np.ndarray, out: int, axis: int) -> np.ndarray:
    """Darknet's bilinear step along one axis: scale = (in − 1)/(out − 1), last sample copied (D-4.1)."""
    size = x.shape[axis]
    if out == size:  # scale 1 and every fraction 0: Darknet's arithmetic returns the input exactly
        return x.astype(np.float32, copy=False)
    if out == 1 or size == 1:
        positions = np.zeros(out, dtype=np.float32)
    else:
        positions = np.arange(out, dtype=np.float32) * np.float32((size - 1) / (out - 1))
    index = positions.astype(np.int64)
    frac = (positions - index).astype(np.float32)
    index = np.minimum(index, size - 1)
    after = np.minimum(index + 1, size - 1)
    lower = np.take(x, index, axis=axis)
    upper = np.take(x, after, axis=axis)
    shape = [1] * x.ndim
    shape[axis] = out
    frac = frac.reshape(shape)
    result = (np.float32(1) - frac) * lower + frac * upper
    last = [slice(None)] * x.ndim
    last[axis] = slice(out - 1, out)
    source_last = [slice(None)] * x.ndim
    source_last[axis] = slice(size - 1, size)
    result[tuple(last)] = x[tuple(source_last)]  # Darknet copies the last column/row exactly
    return result.astype(np.float32)


def darknet_resize(chw: np.ndarray, width: int, height: int) -> np.ndarray:
    """D-4.1: Darknet's resize_image on a 3×H×W float image: along rows (width) first, then columns (height)."""
    return _resize_axis(_resize_axis(chw, width, axis=2), height, axis=1)


def letterbox(chw: np.ndarray, width: int, height: int) -> np.ndarray:
    """Aspect-preserving resize into a grey (0.5) canvas, centred (Darknet's letterbox_image)."""
    _, h, w = chw.shape
    if w / width < h / height:
        new_h, new_w = height, max(1, int(w * height / h))
    else:
        new_w, new_h = width, max(1, int(h * width / w))
    canvas = np.full((3, height, width), 0.5, dtype=np.float32)
    top, left = (height - new_h) // 2, (width - new_w) // 2
    canvas[:, top: top + new_h, left: left + new_w] = darknet_resize(chw, new_w, new_h)
    return canvas


def network_input(image: np.ndarray, width: int = 416, height: int = 416, method: str = "resize") -> np.ndarray:
    """One image → 3×height×width float32 network input (D-4.1); ``method`` is ``resize`` or ``letterbox``."""
    chw = to_float_chw(image)
    if method == "resize":
        return darknet_resize(chw, width, height)
    if method == "letterbox":
        return letterbox(chw, width, height)
    raise ValueError(f"unknown resize method {method!r}; use resize or letterbox")
