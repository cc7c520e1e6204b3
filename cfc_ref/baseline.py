"""Cloud-only baseline: code the input image itself (paper Fig. 5 green curve and red square; spec H-7).

    jpeg = jpeg_upload(image, quality=75)       # bits and the decoded image the cloud would see
    original = original_upload("000001.jpg")    # the file as it is (the paper's red square)
    hevc = hevc_rgb_upload(image, qp=32)        # HEVC intra of the RGB image through x265
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

from cfc_ref.codecs.hevc.settings import X265_PRESET, check_quality, x265_params
from cfc_ref.codecs.hevc.x265 import x265_name
from cfc_ref.errors import CodecError


@dataclass(frozen=True)
class Upload:
    """What the cloud receives for one image: its bytes, the bits they cost, and the image decoded from them."""

    method: str
    payload: bytes
    image: np.ndarray  # H×W×3 uint8 RGB, as the cloud decodes it

    @property
    def bits(self) -> int:
        return 8 * len(self.payload)  # H-7.1: no side info


def _rgb(image: Image.Image | np.ndarray) -> Image.Image:
    if isinstance(image, np.ndarray):
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise CodecError(f"expected an H×W×3 uint8 RGB image, got {image.dtype} {image.shape}")
        return Image.fromarray(image, "RGB")
    return image.convert("RGB")


def jpeg_upload(image: Image.Image | np.ndarray, quality: int) -> Upload:
    """H-7.1: baseline JPEG through Pillow, 4:2:0, no optimisation."""
    if isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 100:
        raise CodecError(f"JPEG quality must be an integer in 1..100, got {quality!r}")
    buffer = io.BytesIO()
    _rgb(image).save(buffer, format="JPEG", quality=quality, subsampling=2, optimize=False, progressive=False)
    data = buffer.getvalue()
    decoded = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    return Upload(f"jpeg q={quality} (Pillow)", data, decoded)


def original_upload(source: str | Path | bytes) -> Upload:
    """H-7.1: the original file as it is (a path, or the file's bytes)."""
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    try:
        decoded = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    except (OSError, Image.DecompressionBombError) as err:
        where = "image" if isinstance(source, bytes) else str(source)
        raise CodecError(f"{where}: not an image Pillow can read ({err})") from None
    return Upload("original file", data, decoded)


def hevc_rgb_upload(image: Image.Image | np.ndarray, qp: int) -> Upload:
    """H-7.1: HEVC intra of the RGB image, x265 yuv420p with the H-3.1 parameters (even sides are padded)."""
    quality = check_quality(qp)
    rgb = np.asarray(_rgb(image))
    height, width = rgb.shape[:2]
    padded = np.pad(rgb, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")
    frame = av.VideoFrame.from_ndarray(padded, format="rgb24").reformat(format="yuv420p")
    context = av.CodecContext.create("libx265", "w")
    context.height, context.width = padded.shape[:2]
    context.pix_fmt, context.time_base = "yuv420p", Fraction(1, 1)
    context.options = {"preset": X265_PRESET, "x265-params": x265_params(quality)}
    stream = b"".join(bytes(p) for p in list(context.encode(frame)) + list(context.encode(None)))
    with av.open(io.BytesIO(stream), mode="r", format="hevc") as container:
        decoded = next(container.decode(video=0)).to_ndarray(format="rgb24")[:height, :width]
    return Upload(f"hevc-rgb qp={qp} ({x265_name()})", stream, np.ascontiguousarray(decoded))
