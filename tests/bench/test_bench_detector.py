"""Detector throughput: front end, back end and whole model (images/s), and the split overhead as a ratio
(front + back) / whole, measured in one run; CPU here, CUDA too when a GPU is present (issue 4)."""

from __future__ import annotations

import pytest
import torch

from cfc_ref.detector.cfg import builtin_cfg, scale_width
from cfc_ref.detector.model import DarknetModel
from cfc_ref.detector.split import split
from cfc_ref.detector.weights import randomize

pytestmark = pytest.mark.bench
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
BATCHES = {"cpu": [1, 4], "cuda": [1, 8, 32, 64]}
WIDTHS = {"cpu": [0.25, 1.0], "cuda": [1.0]}


def cases():
    for device in DEVICES:
        for width in WIDTHS[device]:
            for batch in BATCHES[device]:
                if device == "cpu" and width == 1.0 and batch > 1:
                    continue  # ~0.7 s per 416×416 image on 2 cores: keep the CPU sweep short
                yield device, width, batch


@pytest.mark.parametrize("device,width,batch", list(cases()))
@pytest.mark.parametrize("part", ["baseline", "front max_17", "back max_17", "front+back max_17"])
def test_split_throughput(timed, benchmark, device, width, batch, part):
    config = builtin_cfg() if width == 1.0 else scale_width(builtin_cfg(), width)
    model = randomize(DarknetModel(config)).to(device).eval()
    x = torch.rand(batch, 3, 416, 416, device=device)
    front, back = split(model, "max_17")
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    def run(fn, arg):
        with torch.no_grad():
            out = fn(arg)
        sync()
        return out

    with torch.no_grad():
        tensors = front(x)
    group = f"yolo-voc ×{width} {device} batch {batch} (baseline = whole model)"
    if part == "baseline":
        out = timed(group, part, run, model, x)
    elif part == "front max_17":
        out = timed(group, part, run, front, x)["max_17"]
    elif part == "back max_17":
        out = timed(group, part, run, back, tensors)
    else:
        out = timed(group, part, run, lambda inp: back(front(inp)), x)
    if benchmark.stats is not None:
        benchmark.extra_info["images_per_second"] = batch / benchmark.stats.stats.min
    assert torch.isfinite(out).all()


FAST_PATHS = ["baseline", "fast fp32"] + (["fast bf16", "fast bf16 compiled"] if torch.cuda.is_available()
                                          else ["fast fp32 compiled"])


@pytest.mark.parametrize("device,width,batch", list(cases()))
@pytest.mark.parametrize("path", FAST_PATHS)
def test_fast_inference_path(timed, benchmark, device, width, batch, path):
    """The fast inference copy (spec D-8.2) against the Darknet-exact model in the same run; on CUDA also bf16 and
    torch.compile (CUDA graphs are torch.compile's ``mode='reduce-overhead'``)."""
    from cfc_ref.fast.detector import FastDarknet

    config = builtin_cfg() if width == 1.0 else scale_width(builtin_cfg(), width)
    model = randomize(DarknetModel(config)).to(device).eval()
    x = torch.rand(batch, 3, 416, 416, device=device)
    if path == "baseline":
        net = model
    else:
        net = FastDarknet(model, dtype=torch.bfloat16 if "bf16" in path else torch.float32)
        if "compiled" in path:
            net = torch.compile(net, mode="max-autotune-no-cudagraphs" if device == "cuda" else "default")
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    def run(inp):
        with torch.no_grad():
            out = net(inp)
        sync()
        return out

    run(x)  # warm-up (and compilation)
    out = timed(f"inference yolo-voc ×{width} {device} batch {batch} (baseline = Darknet-exact fp32)", path, run, x)
    if benchmark.stats is not None:
        benchmark.extra_info["images_per_second"] = batch / benchmark.stats.stats.min
        if device == "cuda":
            flops = 29.36e9 * width * width  # YOLOv2-VOC-416 ≈ 29.36 GFLOP per image (issue 13)
            benchmark.extra_info["tflops"] = flops * batch / benchmark.stats.stats.min / 1e12
    assert torch.isfinite(out).all()
