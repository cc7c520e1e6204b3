"""Per-layer profile of the network (paper Fig. 1): shapes, samples, FLOPs, measured cumulative time (spec D-5.2).

FLOPs count 2 per multiply–add of a convolution and (k² − 1) comparisons per maxpool output; batch norm, activations,
routes and reorg are not counted. Time is measured layer by layer: on the CPU as the CPU time of the one thread that
runs it (torch on one thread), the minimum of ``repeats`` runs, which other work on the machine hardly changes; on a
GPU as the wall time between synchronizations, the median of ``repeats``.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import torch

from cfc_ref.detector.cfg import Conv, MaxPool, NetworkConfig, network_shapes
from cfc_ref.detector.model import INPUT, DarknetModel
from cfc_ref.detector.split import crossing_layers


@dataclass(frozen=True)
class LayerRow:
    index: int
    name: str
    shape: tuple[int, int, int]  # C, H, W of the layer's output
    samples: int
    flops: int
    cumulative_flops: int
    cumulative_seconds: float
    split_samples: int  # samples that cross a cut after this layer (its output plus any passthrough)
    split_tensors: tuple[str, ...]

    @property
    def bits_fp32(self) -> int:
        return 32 * self.samples

    @property
    def split_bits_fp32(self) -> int:
        return 32 * self.split_samples


def _flops(spec: object, in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> int:
    c_out, h, w = out_shape
    if isinstance(spec, Conv):
        return 2 * spec.size * spec.size * in_shape[0] * c_out * h * w
    if isinstance(spec, MaxPool):
        return (spec.size * spec.size - 1) * c_out * h * w
    return 0


def layer_flops(config: NetworkConfig) -> list[int]:
    """The FLOPs of every layer before the region layer at the cfg's input size, counted as :func:`layer_profile`
    counts them, from the shapes alone (D-1.4), without running the network."""
    shapes = network_shapes(config)
    first = (config.channels, config.height, config.width)
    return [_flops(layer, shapes[index - 1] if index else first, shapes[index])
            for index, layer in enumerate(config.layers[:-1])]


def layer_macs(config: NetworkConfig) -> list[int]:
    """E-15.4: the multiply–accumulates of every layer before the region layer: a convolution's FLOPs / 2 (two per
    multiply–add), 0 for every other layer (a max-pool's comparisons are not multiply–adds)."""
    return [flops // 2 if isinstance(layer, Conv) else 0
            for layer, flops in zip(config.layers[:-1], layer_flops(config), strict=True)]


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@torch.no_grad()
def layer_profile(model: DarknetModel, width: int = 416, height: int = 416, device: str = "cpu",
                  repeats: int = 3, seed: int = 0) -> list[LayerRow]:
    config = model.config
    dev = torch.device(device)
    model = model.to(dev).eval()
    x = torch.rand(1, config.channels, height, width, generator=torch.Generator().manual_seed(seed)).to(dev)
    last = len(config.layers) - 1
    per_layer: list[list[float]] = [[] for _ in range(last)]
    outputs: dict[int, torch.Tensor] = {}
    on_cpu = dev.type == "cpu"
    clock, pick = (time.thread_time, min) if on_cpu else (time.perf_counter, statistics.median)
    threads = torch.get_num_threads()
    if on_cpu:
        torch.set_num_threads(1)  # every layer's work in this thread, so that its CPU clock counts all of it
    try:
        for _ in range(max(1, repeats)):
            outputs = {INPUT: x}
            for index in range(last):
                _synchronize(dev)
                start = clock()
                model.run(outputs, index, index + 1)
                _synchronize(dev)
                per_layer[index].append(clock() - start)
    finally:
        torch.set_num_threads(threads)
    shapes = {i: tuple(outputs[i].shape[1:]) for i in range(last)}
    shapes[INPUT] = tuple(x.shape[1:])
    rows, total_flops, total_time = [], 0, 0.0
    for index in range(last):
        flops = _flops(config.layers[index], shapes[index - 1 if index else INPUT], shapes[index])
        total_flops += flops
        total_time += pick(per_layer[index])
        crossing = crossing_layers(config, index)
        samples = [int(torch.tensor(shapes[i]).prod()) for i in crossing]
        c, h, w = shapes[index]
        rows.append(LayerRow(index, config.split_name(index), (c, h, w), c * h * w, flops, total_flops, total_time,
                             sum(samples), tuple(config.split_name(i) for i in crossing)))
    return rows


def format_table(rows: list[LayerRow]) -> str:
    total_time = rows[-1].cumulative_seconds or 1.0
    total_flops = rows[-1].cumulative_flops or 1
    lines = [f"{'layer':10} {'output C×H×W':>16} {'samples':>10} {'fp32 kbits':>11} {'GFLOPs':>8} "
             f"{'cum FLOPs':>9} {'cum time':>8}  {'split transmits (samples)':<40}"]
    for r in rows:
        shape = "×".join(str(s) for s in r.shape)
        crossing = " + ".join(r.split_tensors) + f" ({r.split_samples})"
        lines.append(f"{r.name:10} {shape:>16} {r.samples:>10} {r.bits_fp32 / 1000:>11.1f} {r.flops / 1e9:>8.3f} "
                     f"{r.cumulative_flops / total_flops:>9.3f} {r.cumulative_seconds / total_time:>8.3f}  "
                     f"{crossing:<40}")
    return "\n".join(lines)


def plot_profile(rows: list[LayerRow], title: str) -> bytes:
    """Fig. 1 as PNG bytes: samples per layer output (bars, log scale) and normalised cumulative time and FLOPs
    (lines)."""
    from cfc_ref.escaping import figure as figure_text
    from cfc_ref.plotting import png_bytes, pyplot

    plt = pyplot()

    fig, left = plt.subplots(figsize=(12, 4.5))
    positions = range(len(rows))
    left.bar(positions, [r.samples for r in rows], color="#8fb3d9", label="output samples")
    left.bar(positions, [r.split_samples - r.samples for r in rows], bottom=[r.samples for r in rows],
             color="#e3a05b", label="+ passthrough crossing the cut")
    left.set_yscale("log")
    smallest = min(min(r.samples for r in rows), min(r.split_samples for r in rows))
    left.set_ylim(smallest / 4, max(r.split_samples for r in rows) * 2)  # every bar rises above the axis (E-11.3)
    left.set_xlim(-0.8, len(rows) - 0.2)  # the first and last bars clear the frame
    left.set_ylabel("feature samples")
    left.set_xticks(list(positions), [r.name.replace("_", " ") for r in rows], rotation=90, fontsize=7)
    right = left.twinx()
    right.plot(positions, [r.cumulative_seconds / rows[-1].cumulative_seconds for r in rows], "k-o", ms=3,
               label="cumulative time (normalised)")
    right.plot(positions, [r.cumulative_flops / rows[-1].cumulative_flops for r in rows], "g--",
               label="cumulative FLOPs (normalised)")
    right.set_ylim(0, 1.05)
    right.set_ylabel("cumulative cost (normalised)")
    handles = left.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    labels = left.get_legend_handles_labels()[1] + right.get_legend_handles_labels()[1]
    left.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=4, fontsize=8, frameon=False)
    left.set_title(figure_text(title), fontsize=10, pad=24)
    fig.tight_layout()
    png = png_bytes(fig, dpi=120)
    plt.close(fig)
    return png


def profile_points(rows: list[LayerRow]) -> list[dict]:
    """Fig. 1's plotted values, one row per layer (spec E-11.1)."""
    last_seconds, last_flops = rows[-1].cumulative_seconds or 1.0, rows[-1].cumulative_flops or 1
    return [{"index": r.index, "layer": r.name, "channels": r.shape[0], "height": r.shape[1], "width": r.shape[2],
             "samples": r.samples, "split_samples": r.split_samples, "split_tensors": "+".join(r.split_tensors),
             "flops": r.flops, "cumulative_flops_share": r.cumulative_flops / last_flops,
             "cumulative_seconds": r.cumulative_seconds, "cumulative_time_share": r.cumulative_seconds / last_seconds}
            for r in rows]
