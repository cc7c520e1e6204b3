"""Cloud-only baseline (spec H-7.1)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from cfc_ref.baseline import hevc_rgb_upload, jpeg_upload, original_upload
from cfc_ref.errors import CodecError

spec = pytest.mark.spec


def image(h=48, w=64):
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 4 % 256, y * 5 % 256, (x + y) * 2 % 256], axis=-1).astype(np.uint8)


@spec("H-7.1")
def test_jpeg_bits_and_settings():
    img = image()
    low, high = jpeg_upload(img, 10), jpeg_upload(img, 95)
    assert low.bits < high.bits and low.bits == 8 * len(low.payload)
    ref = io.BytesIO()
    Image.fromarray(img).save(ref, format="JPEG", quality=10, subsampling=2, optimize=False, progressive=False)
    assert low.payload == ref.getvalue()
    assert np.abs(high.image.astype(int) - img).mean() < np.abs(low.image.astype(int) - img).mean()
    for bad in (0, 101, 50.0):
        with pytest.raises(CodecError):
            jpeg_upload(img, bad)
    with pytest.raises(CodecError):
        jpeg_upload(img[..., 0], 50)


@spec("H-7.1")
def test_original_file_as_is(tmp_path):
    path = tmp_path / "a.png"
    Image.fromarray(image()).save(path)
    up = original_upload(path)
    assert up.payload == path.read_bytes() and np.array_equal(up.image, image())
    (tmp_path / "b.jpg").write_bytes(b"not an image")
    with pytest.raises(CodecError):
        original_upload(tmp_path / "b.jpg")


@spec("H-7.1")
def test_hevc_rgb_odd_size():
    img = image(47, 63)
    up = hevc_rgb_upload(img, 22)
    assert up.image.shape == img.shape and up.bits > 0 and "x265" in up.method
    assert np.abs(up.image.astype(int) - img).mean() < 12
    assert hevc_rgb_upload(img, 37).bits < up.bits
