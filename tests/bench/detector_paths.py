"""The detector's benchmark groups (issues 4, 13): the split's front and back end against the whole model, and the
fast inference copy (spec D-8.2) against the Darknet-exact model, on one torch thread (as every unit of a run is
computed, E-8.2), so that a busy second core hardly moves them."""

from __future__ import annotations

from functools import cache

import torch
from harness import BASELINE, Group

from cfc_ref.detector.cfg import builtin_cfg, scale_width
from cfc_ref.detector.model import DarknetModel
from cfc_ref.detector.split import split
from cfc_ref.detector.weights import randomize

CASES = ((0.25, 1), (0.25, 4), (1.0, 1))  # (width, batch): ~0.3 s per 416×416 image at ×1.0 on one thread


@cache
def model(width: float) -> DarknetModel:
    torch.set_num_threads(1)
    config = builtin_cfg() if width == 1.0 else scale_width(builtin_cfg(), width)
    return randomize(DarknetModel(config)).eval()


def _input(batch: int) -> torch.Tensor:
    return torch.rand(batch, 3, 416, 416, generator=torch.Generator().manual_seed(batch))


def _finite(outputs: dict[str, object]) -> None:
    for name, out in outputs.items():
        assert isinstance(out, torch.Tensor) and torch.isfinite(out).all(), name


def split_group(width: float, batch: int) -> Group:
    net, x = model(width), _input(batch)
    front, back = split(net, "max_17")
    with torch.no_grad():
        tensors = front(x)

    def run(fn, arg):
        def call():
            with torch.no_grad():
                return fn(arg)
        return call

    paths = {BASELINE: run(net, x), "front max_17": lambda: run(front, x)()["max_17"],
             "back max_17": run(back, tensors), "front+back max_17": run(lambda inp: back(front(inp)), x)}
    return Group(f"yolo-voc x{width} cpu batch {batch} (baseline = whole model)", paths,
                 number=1 if width == 1.0 or batch > 1 else 3, rounds=9, check=_finite)


def fast_group(width: float, batch: int, compiled: bool) -> Group:
    from cfc_ref.fast.detector import FastDarknet

    net, x = model(width), _input(batch)
    fast = FastDarknet(net)
    paths = {BASELINE: net, "fast fp32": fast}
    if compiled:
        paths["fast fp32 compiled"] = torch.compile(FastDarknet(net))

    def run(fn):
        def call():
            with torch.no_grad():
                return fn(x)
        return call

    return Group(f"inference yolo-voc x{width} cpu batch {batch} (baseline = Darknet-exact fp32)",
                 {name: run(fn) for name, fn in paths.items()}, number=1 if width == 1.0 or batch > 1 else 3,
                 rounds=9, check=_finite)
