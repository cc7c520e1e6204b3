"""The pictures one worker decoded in its current job, by the bytes of their streams (spec E-1.4).

    decoded = DecodedPictures()
    found = decoded.get(stream, shape, bit_depth, policy)      # (picture, decoder) or None
    decoded.put(stream, shape, bit_depth, policy, picture, decoder)

The HEVC encoder's cache (``codecs.hevc.batch.CachedCodec``) puts the picture a lossless stream's verifying decode
gave back (H-5.2); the pipeline's cloud side (``pipeline.decode_container``) looks a stream up before it decodes it.
"""

from __future__ import annotations

import numpy as np


class DecodedPictures:
    """The pictures a worker decoded in its current job, by the bytes of their streams (spec E-1.4): a stream is
    decoded once, and a lossless stream's verifying decode (H-5.2) stands for its cloud-side decode. The same
    decoder policy on the same bytes gives the same picture (H-4), so this changes no result; pictures are kept
    read-only. ``clear()`` it between jobs (the streams of one image are not another's)."""

    def __init__(self) -> None:
        self._pictures: dict[tuple[bytes, tuple[int, int], int, str | None], tuple[np.ndarray, str]] = {}
        self.decodes = 0  # streams actually decoded (verifying decodes included)
        self.reused = 0

    def get(self, stream: bytes, shape: tuple[int, int], bit_depth: int, policy: str | None
            ) -> tuple[np.ndarray, str] | None:
        found = self._pictures.get((bytes(stream), (int(shape[0]), int(shape[1])), bit_depth, policy))
        self.reused += found is not None
        return found

    def put(self, stream: bytes, shape: tuple[int, int], bit_depth: int, policy: str | None, picture: np.ndarray,
            decoder: str) -> tuple[np.ndarray, str]:
        kept = np.array(picture, dtype=np.uint8 if bit_depth <= 8 else np.uint16)  # decode_named's type, a copy
        kept.setflags(write=False)
        self._pictures[(bytes(stream), (int(shape[0]), int(shape[1])), bit_depth, policy)] = (kept, decoder)
        self.decodes += 1
        return kept, decoder

    def clear(self) -> None:
        self._pictures.clear()
