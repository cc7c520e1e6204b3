"""Codec in the loop (paper §3.3; spec R-1, R-2): split-point features replaced by their coded version in the forward
pass, with a straight-through gradient.

    layer = CodecInTheLoop(bit_depth=8, qualities=("lossless", 22, 27, 32, 37), seed=0)
    tensors = layer(front(x), iteration)       # same keys, decoded values, gradients pass as identity
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import torch

from cfc_ref import qlayer
from cfc_ref.codecs import get_codec
from cfc_ref.codecs.hevc.batch import encode_many
from cfc_ref.codecs.hevc.settings import Quality, check_quality
from cfc_ref.pipeline import EncodeSettings, from_picture, to_picture
from cfc_ref.processes import usable_cpus

PAPER_QUALITIES: tuple[Quality, ...] = ("lossless", 22, 27, 32, 37)


class _StraightThrough(torch.autograd.Function):
    """Forward: the decoded features exactly (R-1.1). Backward: the identity to the input (R-1.2).

    (``x + (decoded − x).detach()`` is not used: in floating point it is not bit-exactly ``decoded``.)"""

    @staticmethod
    def forward(ctx, tensor: torch.Tensor, decoded: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return decoded.clone()

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # type: ignore[override]
        return grad, None


def draw_qualities(qualities: Sequence[Quality], seed: int, iteration: int, batch: int) -> list[Quality]:
    """R-1.3: one quality per image, from a generator seeded by (seed, iteration, index in batch)."""
    return [qualities[int(np.random.default_rng([seed, iteration, index]).integers(len(qualities)))]
            for index in range(batch)]


class CodecInTheLoop(torch.nn.Module):
    """R-1: replace each crossing tensor by Q-layer → tile → HEVC → decode → untile → de-quantize, per image."""

    def __init__(self, bit_depth: int = 8, qualities: Sequence[Quality] = PAPER_QUALITIES, seed: int = 0,
                 encoder: str = "x265", workers: int | None = None, mode: str = "codec",
                 decoder: str = "fast") -> None:
        super().__init__()
        if mode not in ("codec", "proxy"):
            raise ValueError(f"mode must be codec or proxy, got {mode!r}")
        self.bit_depth = qlayer.check_bit_depth(bit_depth)
        self.qualities = tuple(check_quality(q) for q in qualities)
        self.seed, self.encoder, self.workers, self.mode = seed, encoder, workers, mode
        self.decoder = decoder  # the decoder policy of spec H-4.4, as in a sweep
        self._pool: ProcessPoolExecutor | None = None  # kept across iterations, started on first use

    def forward(self, tensors: dict[str, torch.Tensor], iteration: int) -> dict[str, torch.Tensor]:
        batch = next(iter(tensors.values())).shape[0]
        if self.mode == "proxy":
            return {name: self._proxy(t, iteration) for name, t in tensors.items()}
        qualities = draw_qualities(self.qualities, self.seed, iteration, batch)
        out = {}
        for name, tensor in tensors.items():
            coded = self._coded(tensor.detach().float().cpu().numpy(), qualities)
            decoded = torch.from_numpy(coded).to(tensor.device, tensor.dtype)
            out[name] = _StraightThrough.apply(tensor, decoded)  # straight-through
        return out

    def _coded(self, batch: np.ndarray, qualities: list[Quality]) -> np.ndarray:
        settings = EncodeSettings(self.bit_depth)
        pictures, sides = [], []
        for item in batch:  # the pipeline's mobile side, then a batched encode
            picture, side = to_picture(item, settings)
            pictures.append(picture)
            sides.append(side)
        streams: list[bytes | None] = [None] * len(pictures)
        for quality in dict.fromkeys(qualities):  # one pool call per quality
            chosen = [i for i, q in enumerate(qualities) if q == quality]
            coded = encode_many([pictures[i] for i in chosen], self.bit_depth, quality, self.encoder,  # type: ignore[arg-type]
                                workers=self.workers, pool=self._executor())
            for i, s in zip(chosen, coded, strict=True):
                streams[i] = s
        out = np.empty_like(batch)
        codec = get_codec("hevc", self.decoder)  # the wire codec of the registry (W-3), as the cloud side decodes
        for i, (item, stream) in enumerate(zip(batch, streams, strict=True)):
            assert stream is not None
            picture = codec.decode(stream, pictures[i].shape, self.bit_depth)
            out[i] = from_picture(picture, item.shape, sides[i], settings)
        return out

    def _executor(self) -> ProcessPoolExecutor | None:
        workers = self.workers or usable_cpus()
        if workers <= 1:
            return None
        if self._pool is None:
            from cfc_ref.processes import worker_pool

            self._pool = worker_pool(workers)  # no inherited lock, ends with this process (E-3.1)
        return self._pool

    def __getstate__(self) -> dict:  # a pool cannot be pickled or copied: start a new one where needed
        state = dict(self.__dict__)
        state["_pool"] = None
        return state

    def _proxy(self, tensor: torch.Tensor, iteration: int) -> torch.Tensor:
        """R-2.1: additive uniform noise of one quantizer step per item."""
        flat = tensor.reshape(tensor.shape[0], -1)
        step = (flat.amax(dim=1) - flat.amin(dim=1)).detach() / (2**self.bit_depth - 1)
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + iteration)
        noise = (torch.rand(tensor.shape, generator=generator) - 0.5).to(tensor.device, tensor.dtype)
        return tensor + noise * step.view(-1, *([1] * (tensor.dim() - 1)))
