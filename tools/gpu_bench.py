#!/usr/bin/env python3
"""The GPU hot paths, measured side by side in one run that guards its own time budget (issue 35).

    python tools/gpu_bench.py run --out DIR [--budget 480] [--only STEP,...] [--commit SHA]   # on the GPU machine
    python tools/gpu_bench.py run --device cpu --quick --out DIR   # the CPU dry run: every step, tiny sizes
    python tools/gpu_bench.py check FILE                           # the record's format (exit 1 when it is wrong)
    python tools/gpu_bench.py place FILE [--history DIR]           # file the record under DIR/<its machine>/

The record is one JSON file, DIR/gpu-bench.json (benchmarks/gpu/record.schema.json), rewritten after every step,
so a run cut short still brings back what it measured. Every row names the card and carries the baseline measured
in the same run (seconds and ratio; images/s, TFLOP/s and the fraction of the card's measured bf16 matmul peak
where they apply). A step that the remaining budget cannot hold is skipped with the reason; a watchdog ends the
run, recording the step it was in, if one overruns. ``--quick`` runs every step on tiny sizes (on the CPU: what
needs CUDA is listed under ``not_run`` with the reason) and checks the record's format, so the script cannot rot.
benchmarks/gpu/README.md says how a session with a lent GPU runs it with the device tool, and what each goal is.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a copy of the checkout without an install (the device machine)
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from cfc_ref.benchhistory import machine_info, machine_key  # noqa: E402
from cfc_ref.detector.cfg import Conv, MaxPool, NetworkConfig, Reorg, Route, builtin_cfg, network_shapes  # noqa: E402
from cfc_ref.detector.layers import BN_EPSILON  # noqa: E402
from cfc_ref.detector.model import DarknetModel  # noqa: E402
from cfc_ref.fileio import write_atomic  # noqa: E402

SCHEMA = "cfc-ref-gpu-bench/1"
SCHEMA_FILE = ROOT / "benchmarks" / "gpu" / "record.schema.json"
RECORD_NAME = "gpu-bench.json"
SPLIT = "max_17"
QLAYER_SHAPES = {"max_11": (256, 26, 26), "max_17": (512, 13, 13)}  # YOLOv2-VOC-416's split tensors
CODEC_STAGES = ("encode", "decode")  # spec E-10.1: the codec's time, to which a sweep's wall × workers compares
GRACE_S = 30.0  # the watchdog's allowance past the budget before it ends the run
# ‖out − ref‖ / ‖ref‖ a bf16 copy of the 23-convolution network may reach (bf16 rounding compounds over the layers;
# a wrong layer or layout gives about 1)
BF16_NETWORK_ERROR = 0.1


# ------------------------------------------------------------------ sizes, timing, the record


@dataclass(frozen=True)
class Sizes:
    """What one run measures on: the full sizes on a GPU, tiny ones with --quick."""

    width: float
    input_size: int
    batches: tuple[int, ...]
    qlayer_batches: tuple[int, ...]
    matmul: int
    copy_bytes: int
    sweep_images: int
    block_s: float  # seconds per timed block
    random_checks: int

    @staticmethod
    def of(quick: bool) -> Sizes:
        if quick:
            return Sizes(0.125, 64, (1, 2), (1, 2), 128, 1 << 22, 2, 0.01, 5)
        return Sizes(1.0, 416, (1, 256), (1, 256), 8192, 1 << 30, 200, 0.1, 40)


class Clock:
    """Seconds per call: warm-up, then blocks of calls between two synchronisations (each block ≥ ``block_s``), the
    median over blocks, and their spread ((max − min) / median)."""

    def __init__(self, device: torch.device, block_s: float) -> None:
        self.cuda = device.type == "cuda"
        self.block_s = block_s

    def sync(self) -> None:
        if self.cuda:
            torch.cuda.synchronize()

    def per_call(self, fn: Callable[[], object], blocks: int = 5, warmup: int = 2) -> tuple[float, float]:
        for _ in range(warmup):
            fn()
        self.sync()
        began = time.perf_counter()
        fn()
        self.sync()
        once = max(time.perf_counter() - began, 1e-7)
        reps = max(1, min(20000, int(self.block_s / once)))
        times = []
        for _ in range(blocks):
            self.sync()
            began = time.perf_counter()
            for _ in range(reps):
                fn()
            self.sync()
            times.append((time.perf_counter() - began) / reps)
        median = statistics.median(times)
        return median, (max(times) - min(times)) / median


def rotating(inputs: list) -> Callable[[], object]:
    """The next of several input sets at each call (so that timings do not measure a cache holding one)."""
    state = {"i": 0}

    def next_input() -> object:
        state["i"] = (state["i"] + 1) % len(inputs)
        return inputs[state["i"]]

    return next_input


def plain(value: object) -> object:
    """``value`` as JSON can hold it: numpy scalars as Python numbers, a non-finite float as None."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


@dataclass
class Bench:
    device: torch.device
    quick: bool
    budget: float
    path: Path
    sizes: Sizes
    modes: dict[str, str]
    doc: dict = field(default_factory=dict)
    began: float = field(default_factory=time.perf_counter)
    current: str = ""
    cache: dict = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def card(self) -> str:
        return self.doc["card"]["name"]

    def remaining(self) -> float:
        return self.budget - (time.perf_counter() - self.began)

    def write(self, final: bool = False) -> None:
        """The record as it stands (with ``final``, its goals and ratios too), written atomically."""
        with self.lock:
            self.doc["elapsed_s"] = time.perf_counter() - self.began
            doc = plain(self.doc)
            assert isinstance(doc, dict)
            if final:
                doc["goals"] = goals(doc)
                doc["ratios"] = {f"{r['group']} / {r['name']}": {"seconds": r["seconds"], "ratio": r["ratio"]}
                                 for r in doc["rows"]}
                self.doc.update(goals=doc["goals"], ratios=doc["ratios"])
            write_atomic(self.path, (json.dumps(doc, indent=1, allow_nan=False) + "\n").encode())

    def row(self, group: str, name: str, seconds: float, spread: float, baseline: str, **extra: object) -> dict:
        """One measured row; ``baseline`` names the row of the same group (measured first) it is a ratio to."""
        base = seconds if baseline == name else self._seconds(group, baseline)
        entry = {"step": self.current, "group": group, "name": name, "card": self.card, "seconds": seconds,
                 "spread": spread, "baseline": {"name": baseline, "seconds": base}, "ratio": seconds / base}
        entry.update({k: v for k, v in extra.items() if v is not None})
        self.doc["rows"].append(entry)
        print(f"  {group[:58]:58} {name[:44]:44} {seconds * 1e3:10.3f} ms  {entry['ratio']:7.2f}x", flush=True)
        return entry

    def _seconds(self, group: str, name: str) -> float:
        for r in self.doc["rows"]:
            if r["group"] == group and r["name"] == name:
                return float(r["seconds"])
        raise KeyError(f"no baseline row {name!r} in {group!r}")

    def check(self, name: str, passed: bool, detail: object = "") -> bool:
        self.doc["checks"].append({"step": self.current, "name": name, "passed": bool(passed), "detail": detail})
        print(f"  check {'ok  ' if passed else 'FAIL'} {name}: {detail}", flush=True)
        return passed

    def not_run(self, what: str, reason: str) -> None:
        self.doc["not_run"].append({"step": self.current, "what": what, "reason": reason})
        print(f"  not run: {what} ({reason})", flush=True)

    def run_step(self, name: str, estimate: float, fn: Callable[[Bench], None]) -> None:
        estimate = 1.0 if self.quick else estimate
        entry: dict = {"status": "skipped", "estimate_s": estimate}
        self.doc["steps"][name] = entry
        if self.remaining() < estimate:
            entry["reason"] = f"{self.remaining():.0f} s of the budget left, the step needs about {estimate:.0f} s"
            print(f"[{name}] skipped: {entry['reason']}", flush=True)
            self.write()
            return
        print(f"[{name}] ({self.remaining():.0f} s of the budget left)", flush=True)
        self.current, entry["status"] = name, "running"
        self.write()
        began = time.perf_counter()
        try:
            fn(self)
            entry["status"] = "done"
        except Exception as err:  # noqa: BLE001 - one step's failure is recorded, the others still run
            entry.update(status="failed", reason=f"{type(err).__name__}: {err}",
                         traceback=traceback.format_exc(limit=6)[-3000:])
            print(f"[{name}] failed: {entry['reason']}", flush=True)
        finally:
            entry["seconds"] = time.perf_counter() - began
            self.current = ""
            if self.device.type == "cuda":
                torch.cuda.empty_cache()
            self.write()

    def watchdog(self) -> None:
        """End the run if a step overruns the budget by GRACE_S, recording which (what was measured stays)."""

        def watch() -> None:
            while self.remaining() >= -GRACE_S:
                time.sleep(1.0)
            step = self.current or "between steps"
            try:
                if self.current:
                    self.doc["steps"][self.current].update(
                        status="failed", reason=f"overran the budget ({self.budget:.0f} s): ended by the watchdog")
                self.doc["aborted"] = f"the budget ran out in {step}"
                for _ in range(3):  # the main thread may be adding a row: try again
                    try:
                        self.write(final=True)
                        break
                    except RuntimeError:
                        time.sleep(0.1)
                print(f"gpu_bench: budget exceeded in {step}; record written to {self.path}", flush=True)
            finally:
                os._exit(3)

        threading.Thread(target=watch, daemon=True).start()


# ------------------------------------------------------------------ the networks


def network(sizes: Sizes) -> NetworkConfig:
    from cfc_ref.detector.cfg import scale_width, with_input_size

    config = builtin_cfg("yolo-voc")
    if sizes.width != 1.0:
        config = scale_width(config, sizes.width)
    if sizes.input_size != config.width:
        config = with_input_size(config, sizes.input_size, sizes.input_size)
    return config


def conv_flops(config: NetworkConfig) -> int:
    """FLOPs of one image's forward pass: 2 per multiply–add of each convolution (what a matmul peak compares to)."""
    shapes = network_shapes(config)
    total, channels = 0, config.channels
    for spec, (c, h, w) in zip(config.layers, shapes, strict=True):
        if isinstance(spec, Conv):
            total += 2 * spec.size * spec.size * channels * c * h * w
        channels = c
    return total


class Peer(nn.Module):
    """The peer to beat (issue 35): a plain inference copy written here, apart from the package's fast path — each
    convolution with its batch norm folded in binary64, then its activation; 2×2 pools; Darknet's reorg as the
    permutation it is; routes as concatenations — run as one flat list of steps."""

    def __init__(self, model: DarknetModel) -> None:
        super().__init__()
        self.plan: list[tuple] = []
        convs: list[nn.Conv2d] = []
        for spec, layer in zip(model.config.layers, model.layers, strict=True):
            if isinstance(spec, Conv):
                weight = layer.conv.weight.detach().double()
                if layer.norm is not None:
                    norm = layer.norm
                    gain = norm.scale.detach().double() / (norm.rolling_variance.double().sqrt() + BN_EPSILON)
                    bias = norm.bias.detach().double() - norm.rolling_mean.double() * gain
                    weight = weight * gain[:, None, None, None]
                else:
                    bias = layer.conv.bias.detach().double()
                conv = nn.Conv2d(weight.shape[1], weight.shape[0], spec.size, spec.stride, spec.padding)
                conv.weight.data, conv.bias.data = weight.float(), bias.float()
                self.plan.append(("conv", len(convs), spec.activation))
                convs.append(conv)
            elif isinstance(spec, MaxPool):
                if (spec.size, spec.stride) != (2, 2):
                    raise ValueError(f"the peer pools 2×2 only, the cfg has {spec.size}×{spec.size}/{spec.stride}")
                self.plan.append(("pool",))
            elif isinstance(spec, Reorg):
                self.plan.append(("reorg", spec.stride))
            elif isinstance(spec, Route):
                self.plan.append(("route", spec.layers))
        self.convs = nn.ModuleList(convs).to(next(model.parameters()).device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs: list[torch.Tensor] = []
        for step in self.plan:
            if step[0] == "conv":
                x = self.convs[step[1]](x)
                if step[2] == "leaky":
                    x = F.leaky_relu(x, 0.1)
                elif step[2] == "logistic":
                    x = torch.sigmoid(x)
            elif step[0] == "pool":
                x = F.max_pool2d(x, 2, 2, ceil_mode=True)
            elif step[0] == "reorg":
                n, c, h, w = x.shape
                s = step[1]
                x = x.reshape(n, c // (s * s), h, s, w, s).permute(0, 3, 5, 1, 2, 4).reshape(n, c * s * s, h // s,
                                                                                            w // s)
            else:
                x = torch.cat([outputs[i] for i in step[1]], dim=1)
            outputs.append(x)
        return x.float()


def relative_error(out: torch.Tensor, ref: torch.Tensor) -> float:
    """‖out − ref‖ / ‖ref‖ in binary64 (NaN never passes a check against it)."""
    out64, ref64 = out.double(), ref.double()
    return float(torch.linalg.vector_norm(out64 - ref64) / torch.linalg.vector_norm(ref64))


def compiled(bench: Bench, module: Callable, mode: str) -> Callable:
    """torch.compile of ``module`` in ``mode``; with --quick, with ``--quick-backend`` (default ``aot_eager``, which
    traces the same graphs without generating code: seconds, where inductor on a CPU takes a minute or more)."""
    if bench.quick:
        return torch.compile(module, backend=bench.modes["quick_backend"])
    return torch.compile(module, mode=mode)


def _mode_name(bench: Bench, mode: str) -> str:
    return f"backend {bench.modes['quick_backend']}" if bench.quick else mode


def cuda_graph(fn: Callable[[torch.Tensor], object], example: torch.Tensor) -> tuple[Callable[[], None], object]:
    """``fn`` on a static copy of ``example`` captured in a CUDA graph: (replay, the graph's outputs). Capture fails
    if ``fn`` reads anything back to the host."""
    static = example.clone()
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            fn(static)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        out = fn(static)
    return graph.replay, out


def graphed(bench: Bench, what: str, fn: Callable[[torch.Tensor], object], example: torch.Tensor
            ) -> tuple[Callable[[], None], object] | None:
    """:func:`cuda_graph`, or None with the reason recorded: on the CPU, or where the capture fails (a failed
    capture of a path meant to read nothing back is a failed check too)."""
    if bench.device.type != "cuda":
        bench.not_run(f"{what}, CUDA graph", "needs CUDA")
        return None
    try:
        with torch.no_grad():
            captured = cuda_graph(fn, example)
    except RuntimeError as err:
        torch.cuda.synchronize()
        bench.check(f"{what}: captured in a CUDA graph", False, str(err).splitlines()[0][:300])
        bench.not_run(f"{what}, CUDA graph", "the capture failed")
        return None
    captured[0]()
    torch.cuda.synchronize()
    return captured


# ------------------------------------------------------------------ step: the card


def step_card(bench: Bench) -> None:
    """The two ceilings (METHOD): bf16 matmul rate on random data, device-to-device copy bandwidth."""
    clock, n = Clock(bench.device, bench.sizes.block_s), bench.sizes.matmul
    generator = torch.Generator(device=bench.device).manual_seed(1)
    a = torch.randn(n, n, device=bench.device, dtype=torch.bfloat16, generator=generator)
    b = torch.randn(n, n, device=bench.device, dtype=torch.bfloat16, generator=generator)
    seconds, spread = clock.per_call(lambda: a @ b)
    tflops = 2 * n**3 / seconds / 1e12
    group = "card ceilings"
    bench.row(group, f"bf16 matmul {n}³ (random data)", seconds, spread, f"bf16 matmul {n}³ (random data)",
              tflops=tflops)
    bench.doc["card"]["bf16_matmul_tflops"] = tflops
    source = torch.rand(bench.sizes.copy_bytes // 4, device=bench.device, generator=generator)
    target = torch.empty_like(source)
    seconds, spread = clock.per_call(lambda: target.copy_(source))
    bandwidth = 2 * source.numel() * 4 / seconds / 1e9  # bytes read plus written
    bench.row(group, f"device copy {bench.sizes.copy_bytes >> 20} MiB", seconds, spread,
              f"bf16 matmul {n}³ (random data)", gb_per_s=bandwidth)
    bench.doc["card"]["copy_gb_per_s"] = bandwidth


# ------------------------------------------------------------------ step: Q-layer + tiling


class DeviceWire:
    """The wire profile's Q-layer and tiling functions through the batched torch paths on one device (a batch of
    one), for the golden vectors (``cfc_ref.conformance.vectors.check_vector``): inputs are moved to the device,
    results read back, only around the device path."""

    def __init__(self, device: torch.device) -> None:
        self.device = device

    def quantize(self, v: np.ndarray, bit_depth: int, mode: str) -> tuple[np.ndarray, bytes]:
        from cfc_ref.fast.qlayer_torch import quantize_deferred
        from cfc_ref.qlayer import SideInfo, sample_dtype

        batch = quantize_deferred(torch.from_numpy(np.ascontiguousarray(v))[None].to(self.device), bit_depth,
                                  mode).check()  # type: ignore[arg-type]
        side = SideInfo(float(batch.lo[0]), float(batch.hi[0]), mode)  # type: ignore[arg-type]
        return batch.q[0].cpu().numpy().astype(sample_dtype(bit_depth)), side.to_bytes()

    def dequantize(self, q: np.ndarray, side_info: bytes, bit_depth: int, mode: str) -> np.ndarray:
        from cfc_ref.errors import QLayerError
        from cfc_ref.fast.qlayer_torch import dequantize_batch
        from cfc_ref.qlayer import SideInfo

        side = SideInfo.from_bytes(side_info, mode)  # type: ignore[arg-type]  # the host parses the bytes (Q-2.3)
        if np.asarray(q).dtype.kind not in "ui":  # integer samples only (before the device sees int32)
            raise QLayerError(f"quantized samples must be integers, got dtype {np.asarray(q).dtype}")
        lo = torch.tensor([side.lo], dtype=torch.float32, device=self.device)
        hi = torch.tensor([side.hi], dtype=torch.float32, device=self.device)
        samples = torch.from_numpy(np.asarray(q).astype(np.int32))[None].to(self.device)
        return dequantize_batch(samples, lo, hi, bit_depth)[0].cpu().numpy()

    def tile(self, q: np.ndarray, layout: str, align: int) -> np.ndarray:
        from cfc_ref.fast.tiling import tile_batch
        from cfc_ref.tiling import check_samples

        check_samples(np.asarray(q), "the tensor")
        samples = torch.from_numpy(np.asarray(q).astype(np.int32))[None].to(self.device)
        return tile_batch(samples, layout, align)[0].cpu().numpy().astype(q.dtype)  # type: ignore[arg-type]

    def untile(self, picture: np.ndarray, shape: tuple[int, int, int], layout: str, align: int) -> np.ndarray:
        from cfc_ref.fast.tiling import untile_batch
        from cfc_ref.tiling import check_samples

        check_samples(np.asarray(picture), "the picture")
        samples = torch.from_numpy(np.asarray(picture).astype(np.int32))[None].to(self.device)
        return untile_batch(samples, shape, layout, align)[0].cpu().numpy().astype(picture.dtype)  # type: ignore[arg-type]


def golden_checks(bench: Bench) -> None:
    from cfc_ref.conformance.vectors import check_vector, load_vectors

    wire = DeviceWire(bench.device)
    for component in ("qlayer", "tiling"):
        vectors = load_vectors(ROOT / "golden", component)
        failures = {}
        for vector in vectors:
            try:
                check_vector(wire, vector)  # type: ignore[arg-type]
            except Exception as err:  # noqa: BLE001 - a crash is a failure of that vector
                failures[vector.id] = f"{type(err).__name__}: {err}"
        bench.check(f"golden {component} vectors bit-exact on {bench.device.type}", not failures,
                    {"vectors": len(vectors), "failed": failures})


def contraction_trap(bits: int, exponent: int = 0) -> np.ndarray:
    """Samples 0, 6L and 3(2k + 1) for k < L, times 2^exponent: s = L / 6L rounds below 1/6, so each
    t = (v − 0)·s rounds to exactly k + 0.5 (Q-3.2 gives k + 1) while its exact product lies below it — a
    contracted multiply–add computing t − floor(t) from the exact product gives k instead, on every sample."""
    levels = 2**bits - 1
    values = np.concatenate([[0.0, 6.0 * levels], 3.0 * (2 * np.arange(levels) + 1)]) * 2.0**exponent
    return values.astype(np.float32)


def _random_batches(count: int, device: torch.device) -> list[tuple[torch.Tensor, int]]:
    """Batches for the exactness check: several ranges and sizes, a constant item, −0.0, the reciprocal trap,
    the contraction trap."""
    rng = np.random.default_rng(35)
    batches = []
    for index in range(count):
        shape = (int(rng.integers(1, 5)), int(rng.integers(1, 40)), int(rng.integers(1, 14)), int(rng.integers(1, 14)))
        if index == 0:
            shape = (2, *QLAYER_SHAPES["max_17"])
        bits = int(rng.integers(1, 17))
        scale = 10.0 ** rng.integers(-30, 30)
        v = (rng.normal(size=shape) * scale).astype(np.float32)
        if index % 5 == 1:
            v[0] = v[0].flat[0]  # a constant item
        if index % 5 == 2:
            v[-1] = -0.0
        if index % 5 == 3:
            v[0].flat[:3] = [-3e38, 3e38, 0.0]  # L/d ≠ L·(1/d): catches a reciprocal division
        if index % 5 == 4:
            v = contraction_trap(bits, int(rng.integers(-60, 60))).reshape(1, 1, 1, -1)
        batches.append((torch.from_numpy(v).to(device), bits))
    return batches


def exactness_checks(bench: Bench) -> None:
    """Each item of random batches through quantize + tile and untile + dequantize on the device equals the
    readable reference (samples, side info, pictures, de-quantized bits)."""
    from cfc_ref import qlayer, tiling
    from cfc_ref.fast.qlayer_torch import dequantize_deferred, quantize_deferred
    from cfc_ref.fast.tiling import tile_batch, untile_batch

    bad = []
    for number, (v, bits) in enumerate(_random_batches(bench.sizes.random_checks, bench.device)):
        batch = quantize_deferred(v, bits).check()
        pictures = tile_batch(batch.q)
        shape = tuple(v.shape[1:])
        v_hat, code = dequantize_deferred(untile_batch(pictures, shape), batch.lo, batch.hi, bits)  # type: ignore[arg-type]
        host = v.cpu().numpy()
        for i in range(v.shape[0]):
            q_ref, side = qlayer.quantize(host[i], bits)
            same = (np.array_equal(batch.q[i].cpu().numpy(), q_ref)
                    and (float(batch.lo[i]), float(batch.hi[i])) == (side.lo, side.hi)
                    and np.array_equal(pictures[i].cpu().numpy(), tiling.tile(q_ref))
                    and np.array_equal(v_hat[i].cpu().numpy().view(np.uint32),
                                       qlayer.dequantize(q_ref, side, bits).view(np.uint32))
                    and int(code[i]) == 0)
            if not same:
                bad.append(f"batch {number} item {i} ({bits} bits, shape {shape})")
    bench.check(f"random batches bit-exact on {bench.device.type} (quantize, tile, untile, dequantize)", not bad,
                {"batches": bench.sizes.random_checks, "differ": bad[:10]})


def no_round_trip_checks(bench: Bench, forward: Callable, inverse: Callable) -> None:
    """The path reads nothing back: it runs on the meta device (whose tensors have no data to read), and on CUDA
    under ``set_sync_debug_mode('error')`` (which raises at any synchronising call)."""
    shape = (2, *QLAYER_SHAPES["max_17"])
    meta = torch.empty(shape, device="meta")
    pictures, lo, hi, _ = forward(meta)
    inverse(pictures, lo, hi)
    bench.check("Q-layer + tiling and the inverse run on the meta device (no value read back)", True, str(shape))
    if bench.device.type != "cuda":
        bench.not_run("no synchronisation under torch.cuda.set_sync_debug_mode('error')", "needs CUDA")
        return
    v = torch.randn(shape, device=bench.device)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        pictures, lo, hi, _ = forward(v)
        inverse(pictures, lo, hi)
        ok, detail = True, "no synchronising call"
    except RuntimeError as err:
        ok, detail = False, str(err).splitlines()[0]
    finally:
        torch.cuda.set_sync_debug_mode("default")
    bench.check("Q-layer + tiling and the inverse never synchronise with the host", ok, detail)


def qlayer_forward(v: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The mobile side's device path at 8 bits: Q-layer, then tiling; (pictures, lo, hi, check codes), unread."""
    from cfc_ref.fast.qlayer_torch import quantize_deferred
    from cfc_ref.fast.tiling import tile_batch

    batch = quantize_deferred(v, 8)
    return tile_batch(batch.q), batch.lo, batch.hi, batch.code


def qlayer_inverse(shape: tuple[int, int, int]) -> Callable:
    """The cloud side's device path at 8 bits: untiling, then de-quantization; (features, check codes), unread."""
    from cfc_ref.fast.qlayer_torch import dequantize_deferred
    from cfc_ref.fast.tiling import untile_batch

    return lambda pictures, lo, hi: dequantize_deferred(untile_batch(pictures, shape), lo, hi, 8)


def _qlayer_group(bench: Bench, label: str, batch: int) -> tuple[str, list[torch.Tensor]]:
    """The group's name and its input sets (together over four times the L2 cache), its device-copy baseline
    measured first if it is not there yet."""
    shape = QLAYER_SHAPES[label]
    group = f"qlayer+tiling {label} {'x'.join(map(str, shape))} batch {batch} (baseline = device copy)"
    sets = 2 if bench.quick else max(2, min(512, math.ceil(256e6 / (batch * math.prod(shape) * 4))))
    inputs = [torch.randn(batch, *shape, device=bench.device) for _ in range(sets)]
    if not any(r["group"] == group and r["name"] == "device copy" for r in bench.doc["rows"]):
        next_input = rotating(inputs)
        bench.row(group, "device copy", *Clock(bench.device, bench.sizes.block_s).per_call(
            lambda: next_input().clone()), "device copy", input_sets=sets)
    return group, inputs


def _qlayer_rows(bench: Bench, label: str, batch: int) -> None:
    clock = Clock(bench.device, bench.sizes.block_s)
    group, inputs = _qlayer_group(bench, label, batch)
    inverse = qlayer_inverse(QLAYER_SHAPES[label])
    sets = len(inputs)
    next_input = rotating(inputs)
    bench.row(group, "quantize+tile (qlayer_torch, nothing read back)",
              *clock.per_call(lambda: qlayer_forward(next_input())), "device copy", input_sets=sets)
    bench.row(group, "quantize+tile, checks read (one synchronisation)",
              *clock.per_call(lambda: qlayer_forward(next_input())[3].cpu()), "device copy", input_sets=sets)
    coded = [qlayer_forward(v)[:3] for v in inputs]
    next_coded = rotating(coded)
    bench.row(group, "untile+dequantize (nothing read back)", *clock.per_call(lambda: inverse(*next_coded())),
              "device copy", input_sets=sets)
    if batch != 1:
        return
    copy_graph = graphed(bench, f"{group}: device copy", lambda v: v.clone(), inputs[0])
    forward_graph = graphed(bench, f"{group}: quantize+tile", qlayer_forward, inputs[0])
    lo, hi = coded[0][1], coded[0][2]
    inverse_graph = graphed(bench, f"{group}: untile+dequantize", lambda p: inverse(p, lo, hi), coded[0][0])
    if copy_graph:
        bench.row(group, "device copy, CUDA graph", *clock.per_call(copy_graph[0]), "device copy", input_sets=1)
    if forward_graph:
        bench.row(group, "quantize+tile, CUDA graph", *clock.per_call(forward_graph[0]), "device copy",
                  input_sets=1)
        bench.check(f"{label}: the CUDA graph's pictures are the eager path's",
                    torch.equal(forward_graph[1][0], qlayer_forward(inputs[0])[0]))  # type: ignore[index]
    if inverse_graph:
        bench.row(group, "untile+dequantize, CUDA graph", *clock.per_call(inverse_graph[0]), "device copy",
                  input_sets=1)


def step_qlayer(bench: Bench) -> None:
    """Q-layer + tiling and the inverse on the device: bit-exact on every golden vector and on random batches, no
    host round trip, timed against a device copy of the same batch (eager; at batch 1 also CUDA graphs)."""
    golden_checks(bench)
    exactness_checks(bench)
    no_round_trip_checks(bench, qlayer_forward, qlayer_inverse(QLAYER_SHAPES["max_17"]))
    for label in QLAYER_SHAPES:
        for batch in bench.sizes.qlayer_batches:
            _qlayer_rows(bench, label, batch)


def step_qlayer_compiled(bench: Bench) -> None:
    """The same forward path under torch.compile (fused kernels), its exactness on random batches checked before
    it is timed: evidence for or against needing a hand-written kernel."""
    fast = compiled(bench, qlayer_forward, "default")
    for batch in bench.sizes.qlayer_batches:
        group, inputs = _qlayer_group(bench, "max_17", batch)
        generator = torch.Generator(device=bench.device).manual_seed(batch)
        trials = [torch.randn(batch, *QLAYER_SHAPES["max_17"], device=bench.device, generator=generator) * 10.0**k
                  for k in (-20, 0, 20)]
        trials[1].view(batch, -1)[0, :3] = torch.tensor([-3e38, 3e38, 0.0])
        trap = torch.from_numpy(contraction_trap(8))
        trials.append(torch.full((batch, *QLAYER_SHAPES["max_17"]), 3.0, device=bench.device))
        trials[-1].view(batch, -1)[:, : trap.numel()] = trap.to(bench.device)
        exact = all(all(torch.equal(a, b) for a, b in zip(fast(v), qlayer_forward(v), strict=True))
                    for v in trials)
        bench.check(f"compiled quantize+tile equals qlayer_torch at batch {batch}", exact)
        if not exact:
            bench.not_run(f"{group}: compiled quantize+tile timing", "not bit-exact")
            continue
        next_input = rotating(inputs)
        bench.row(group, "quantize+tile, torch.compile",
                  *Clock(bench.device, bench.sizes.block_s).per_call(lambda: fast(next_input())),  # noqa: B023
                  "device copy", input_sets=len(inputs))


# ------------------------------------------------------------------ steps: inference


def _models(bench: Bench) -> dict:
    """The reference network (random, well-scaled weights) and the inputs of each batch size, kept for the steps."""
    if "net" not in bench.cache:
        from cfc_ref.detector.weights import randomize

        config = network(bench.sizes)
        model = randomize(DarknetModel(config)).to(bench.device).eval()
        generator = torch.Generator(device=bench.device).manual_seed(2)
        inputs = {b: torch.rand(b, 3, config.height, config.width, device=bench.device, generator=generator)
                  for b in bench.sizes.batches}
        with torch.no_grad():
            reference = {b: model(x).float() for b, x in inputs.items()}
        bench.cache["net"] = {"config": config, "model": model, "inputs": inputs, "reference": reference,
                              "flops": conv_flops(config)}
        bench.doc["network"] = {"cfg": "yolo-voc", "width_factor": bench.sizes.width, "input": config.width,
                                "gflop_per_image": conv_flops(config) / 1e9, "weights": "randomize(seed 0)"}
    return bench.cache["net"]


def _inference_row(bench: Bench, group: str, name: str, fn: Callable[[], torch.Tensor], batch: int,
                   baseline: str, output: torch.Tensor | None = None, **extra: object) -> dict:
    net = _models(bench)
    with torch.no_grad():
        out = fn() if output is None else output
        error = relative_error(out, net["reference"][batch])
        seconds, spread = Clock(bench.device, bench.sizes.block_s).per_call(fn)
    tflops = net["flops"] * batch / seconds / 1e12
    peak = bench.doc["card"].get("bf16_matmul_tflops")
    bench.check(f"{group} / {name}: output near the fp32 reference", error < BF16_NETWORK_ERROR,
                f"relative error {error:.2e}")
    return bench.row(group, name, seconds, spread, baseline, images_per_second=batch / seconds, tflops=tflops,
                     peak_fraction=tflops / peak if peak else None, relative_error=error, **extra)


def _group(bench: Bench, batch: int) -> str:
    net = _models(bench)["config"]
    return f"inference yolo-voc x{bench.sizes.width:g} {net.width} batch {batch} (baseline = DarknetModel fp32)"


BASE = "DarknetModel fp32"


def step_inference(bench: Bench) -> None:
    """Eager rows: the Darknet-exact reference in fp32 and bf16 channels_last, FastDarknet bf16 channels_last, and
    FastDarknet eager in a CUDA graph at batch 1."""
    from cfc_ref.fast.detector import FastDarknet

    net = _models(bench)
    model = net["model"]
    for batch, x in net["inputs"].items():
        group = _group(bench, batch)
        _inference_row(bench, group, BASE, lambda x=x: model(x), batch, BASE)
        half = DarknetModel(net["config"]).to(bench.device)
        half.load_state_dict(model.state_dict())
        half = half.to(dtype=torch.bfloat16, memory_format=torch.channels_last).eval()  # type: ignore[call-overload]
        x16 = x.to(torch.bfloat16).contiguous(memory_format=torch.channels_last)
        _inference_row(bench, group, "DarknetModel bf16 channels_last", lambda h=half, x16=x16: h(x16).float(),
                       batch, BASE)
        del half
        fast = FastDarknet(model, dtype=torch.bfloat16)
        _inference_row(bench, group, "FastDarknet bf16 channels_last eager", lambda f=fast, x16=x16: f(x16), batch,
                       BASE)
        if batch == 1:
            captured = graphed(bench, f"{group}: FastDarknet bf16 channels_last eager", fast, x16)
            if captured:
                _inference_row(bench, group, "FastDarknet bf16 channels_last eager, CUDA graph",
                               lambda r=captured[0], o=captured[1]: (r(), o)[1], batch, BASE)  # type: ignore[misc]


def _compiled_rows(bench: Bench, batch: int, mode: str, graphs: bool) -> None:
    from cfc_ref.fast.detector import FastDarknet

    net = _models(bench)
    x = net["inputs"][batch]
    group = _group(bench, batch)
    if not any(r["group"] == group and r["name"] == BASE for r in bench.doc["rows"]):
        _inference_row(bench, group, BASE, lambda: net["model"](x), batch, BASE)
    x16 = x.to(torch.bfloat16).contiguous(memory_format=torch.channels_last)
    candidates = {"FastDarknet": (FastDarknet(net["model"], dtype=torch.bfloat16), x16),
                  "peer (BN folded, hand-written)": (
                      Peer(net["model"]).to(dtype=torch.bfloat16, memory_format=torch.channels_last).eval(), x16)}
    for label, (module, inp) in candidates.items():
        began = time.perf_counter()
        fn = compiled(bench, module, mode)
        with torch.no_grad():
            fn(inp)
        if bench.device.type == "cuda":
            torch.cuda.synchronize()
        compile_s = time.perf_counter() - began
        name = f"{label} bf16 channels_last compiled ({_mode_name(bench, mode)})"
        _inference_row(bench, group, name, lambda fn=fn, inp=inp: fn(inp), batch, BASE, compile_s=compile_s)
        bench.cache.setdefault("compiled", {})[(label, batch)] = fn
        if graphs:
            captured = graphed(bench, f"{group}: {name}", fn, inp)
            if captured:
                _inference_row(bench, group, f"{name}, CUDA graph", lambda r=captured[0], o=captured[1]: (r(), o)[1],
                               batch, BASE)


def step_compiled_large(bench: Bench) -> None:
    """FastDarknet and the peer compiled at the largest batch (throughput)."""
    _compiled_rows(bench, max(bench.sizes.batches), bench.modes["large"], graphs=False)


def step_compiled_one(bench: Bench) -> None:
    """FastDarknet and the peer compiled at batch 1, then each replayed from a CUDA graph (latency)."""
    _compiled_rows(bench, 1, bench.modes["one"], graphs=True)


def _split_rows(bench: Bench, whole: Callable, front: Callable, back: Callable, batch: int, label: str) -> None:
    net = _models(bench)
    x = net["inputs"][batch].to(torch.bfloat16).contiguous(memory_format=torch.channels_last)
    group = f"split {SPLIT} {label} batch {batch} (baseline = whole model)"
    clock = Clock(bench.device, bench.sizes.block_s)
    with torch.no_grad():
        tensors = front(x)
        bench.row(group, "whole model", *clock.per_call(lambda: whole(x)), "whole model")
        bench.row(group, f"front {SPLIT}", *clock.per_call(lambda: front(x)), "whole model")
        bench.row(group, f"back {SPLIT}", *clock.per_call(lambda: back(tensors)), "whole model")
        bench.row(group, f"front+back {SPLIT}", *clock.per_call(lambda: back(front(x))), "whole model")
        error = relative_error(back(front(x)).float(), whole(x).float())
    bench.check(f"{group}: front+back gives the whole model's output", error < 1e-2, f"relative error {error:.2e}")


def step_split(bench: Bench) -> None:
    """Front + back of the split against the whole model, FastDarknet bf16 channels_last eager."""
    from cfc_ref.detector.split import split
    from cfc_ref.fast.detector import FastDarknet

    fast = FastDarknet(_models(bench)["model"], dtype=torch.bfloat16)
    front, back = split(fast, SPLIT)  # type: ignore[arg-type]
    for batch in bench.sizes.batches:
        _split_rows(bench, fast, front, back, batch, "FastDarknet bf16 channels_last eager")


def step_split_compiled(bench: Bench) -> None:
    """The same with the front and the back compiled apart (the cut stops fusion across it)."""
    from cfc_ref.detector.split import split
    from cfc_ref.fast.detector import FastDarknet

    batch = max(bench.sizes.batches)
    mode = bench.modes["large"]
    fast = FastDarknet(_models(bench)["model"], dtype=torch.bfloat16)
    whole = bench.cache.get("compiled", {}).get(("FastDarknet", batch))
    if whole is None:
        whole = compiled(bench, fast, mode)
    front, back = split(fast, SPLIT)  # type: ignore[arg-type]
    _split_rows(bench, whole, compiled(bench, front, mode), compiled(bench, back, mode), batch,
                f"FastDarknet bf16 channels_last compiled ({_mode_name(bench, mode)})")


# ------------------------------------------------------------------ step: the Ray engine's model actors


def _experiment_config(bench: Bench, output: str):  # type: ignore[no-untyped-def]
    """The embedded sweep (``embedded_default``) on this run's device; --quick: a few settings of one split."""
    from cfc_ref.experiment.config import embedded_default

    config = replace(embedded_default(output), device=bench.device.type,
                     synthetic_test_images=bench.sizes.sweep_images)
    if bench.quick:
        config = replace(config, splits=(SPLIT,), lossless_splits=(), qps=(37,), lossless_bit_depths=(8,),
                         jpeg_qualities=(50,), accountings=("deployable",), workers=2)
    return config


def actor_work(cfg_text: str, weights: bytes, config, images: list[tuple[str, bytes]],  # type: ignore[no-untyped-def]
               settings: list, batch: int) -> tuple[list, list, float, str]:
    """One model actor's GPU code path, in its own process, as Ray runs it (``_ModelHolder``: front end, then the
    coding task's body, then the batched back end): (features, detections, seconds, device of the model)."""
    from cfc_ref.experiment.ray_engine import _ModelHolder, code_many

    began = time.perf_counter()
    holder = _ModelHolder(cfg_text, weights, config, config.device)
    features, detections = [], []
    for image, data in images:
        front = holder.front(data, image, SPLIT)
        received, _ = code_many(config, settings, front)
        features.append(front[0])
        detections.append(holder.back_many(SPLIT, front[1], batch, received))
    return features, detections, time.perf_counter() - began, str(next(holder.model.parameters()).device)


def step_ray(bench: Bench) -> None:
    """The half-GPU model actors: two ``_ModelHolder`` instances in two processes sharing the device (Ray's
    ``GPU_PER_ACTOR`` each), their results against the local engine's stages on the same device."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from cfc_ref.data.synthetic import write_dataset
    from cfc_ref.experiment.config import settings_of
    from cfc_ref.experiment.models import inference_model, load_model, model_files
    from cfc_ref.experiment.ray_engine import GPU_PER_ACTOR, code_many
    from cfc_ref.experiment.stages import back_detections_batch, decode_image, front_features

    try:
        import ray  # noqa: F401

        engine = "Ray is installed, but the actor class was run directly, as it is where Ray is not"
    except ImportError:
        engine = ("Ray is not installed (ray 2.60.0's cp312 wheel is 79 MB, over the 64 MiB that travels to the "
                  "device machine): the actor class cfc_ref.experiment.ray_engine._ModelHolder run directly, one "
                  "process per actor")
    bench.doc["ray_path"] = engine
    with tempfile.TemporaryDirectory(prefix="gpu-bench-ray-") as tmp:
        config = _experiment_config(bench, str(Path(tmp) / "run"))
        root = write_dataset(Path(tmp) / "voc", train=0, test=2)
        images = [(f"test_{i:06d}", (root / "JPEGImages" / f"test_{i:06d}.jpg").read_bytes()) for i in range(2)]
        at_split = [s for s in settings_of(config) if s.kind == "split" and s.split == SPLIT]
        settings, batch = at_split[:3], len(at_split)  # E-1.3: the back ends batch all of the split's settings
        cfg_path, weights_path = model_files(config)
        args = (cfg_path.read_text(encoding="utf-8"), weights_path.read_bytes(), config, images, settings, batch)
        actors = round(1 / GPU_PER_ACTOR)
        began = time.perf_counter()
        with ProcessPoolExecutor(actors, mp_context=multiprocessing.get_context("spawn")) as pool:
            results = list(pool.map(actor_work, *zip(*[args] * actors, strict=True)))
        wall = time.perf_counter() - began
        model = inference_model(load_model(config), config)
        local_features, local_detections = [], []
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # as every engine computes a unit (E-8.2), so that CPU numbers compare too
        try:
            for image, data in images:
                pixels = decode_image(data, image)
                features = front_features(model, SPLIT, pixels)
                received, _ = code_many(config, settings, (features, pixels.shape))
                local_features.append(features)
                local_detections.append(back_detections_batch(model, SPLIT, received, pixels.shape, batch))
        finally:
            torch.set_num_threads(threads)
    for number, (features, detections, seconds, where) in enumerate(results):
        same_features = all(a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
                            for a, b in zip(features, local_features, strict=True))
        same = same_features and detections == local_detections
        bench.check(f"model actor {number + 1} of {actors} (GPU share {GPU_PER_ACTOR}) on {where}: features and "
                    "detections equal the local engine's", same,
                    {"front features equal": same_features, "seconds": seconds, "images": len(images),
                     "settings": len(settings)})
    bench.doc["ray_actors"] = {"actors": actors, "gpu_per_actor": GPU_PER_ACTOR, "wall_s": wall}


# ------------------------------------------------------------------ step: the GPU sweep


def step_sweep(bench: Bench) -> None:
    """The embedded sweep with ``device`` set to this run's device on all cores: wall × workers against its codec
    time (E-10), stage times."""
    from cfc_ref.experiment.protocol import run_sweep
    from cfc_ref.experiment.store import RunStore

    with tempfile.TemporaryDirectory(prefix="gpu-bench-sweep-") as tmp:
        config = _experiment_config(bench, str(Path(tmp) / "sweep"))
        began = time.perf_counter()
        run_sweep(config, "local", progress=False)
        wall = time.perf_counter() - began
        with RunStore.open(Path(config.output), create=False) as store:
            last = store.sweeps()[-1]
            stages = store.timings(last["id"])
    codec = sum(stages.get(name, 0.0) for name in CODEC_STAGES)
    if not codec > 0:
        raise RuntimeError(f"the sweep recorded no codec time (stages: {stages})")
    group = f"sweep embedded default, device {bench.device.type}, {last['workers']} workers (baseline = codec time)"
    bench.row(group, "codec (encode + decode, summed over workers)", codec, 0.0,
              "codec (encode + decode, summed over workers)")
    entry = bench.row(group, "wall x workers", last["wall"] * last["workers"], 0.0,
                      "codec (encode + decode, summed over workers)", wall_s=last["wall"], workers=last["workers"],
                      units=last["units"], stages=stages, wall_with_setup_s=wall,
                      images=config.synthetic_test_images)
    bench.doc["sweep"] = {"ratio_to_codec": entry["ratio"], "stages": stages, "units": last["units"]}


# ------------------------------------------------------------------ goals, format, filing


def _rows(doc: dict, group_part: str, name_part: str) -> list[dict]:
    return [r for r in doc["rows"] if group_part in r["group"] and name_part in r["name"]]


def goals(doc: dict) -> list[dict]:
    """The issue's goals, each measured (met or not, with the figures) or not measured (with the step's status)."""
    out: list[dict] = []

    def goal(name: str, target: str, measured: object, met: bool | None) -> None:
        out.append({"goal": name, "target": target, "measured": measured, "met": met})

    large = [r for r in doc["rows"] if r["group"].startswith("inference") and "compiled" in r["name"]
             and "CUDA graph" not in r["name"] and not r["group"].endswith("batch 1 (baseline = DarknetModel fp32)")]
    fast = [r for r in large if r["name"].startswith("FastDarknet")]
    peer = [r for r in large if r["name"].startswith("peer")]
    if fast and peer:
        goal("FastDarknet compiled vs the peer, largest batch", ">= 1.0 (images/s ratio)",
             fast[0]["images_per_second"] / peer[0]["images_per_second"],
             fast[0]["images_per_second"] >= peer[0]["images_per_second"])
    else:
        goal("FastDarknet compiled vs the peer, largest batch", ">= 1.0 (images/s ratio)", None, None)
    if fast and "peak_fraction" in fast[0]:
        goal("FastDarknet compiled, fraction of the measured bf16 matmul peak", ">= 0.40",
             fast[0]["peak_fraction"], fast[0]["peak_fraction"] >= 0.40)
    else:
        goal("FastDarknet compiled, fraction of the measured bf16 matmul peak", ">= 0.40", None, None)
    one = [r for r in doc["rows"] if r["group"].startswith("inference") and r["group"].endswith(
        "batch 1 (baseline = DarknetModel fp32)") and r["name"].startswith("FastDarknet") and "CUDA graph" in r["name"]]
    best = min(one, key=lambda r: r["seconds"]) if one else None
    goal("FastDarknet at batch 1 (best CUDA graph row)", "<= 0.6 ms",
         {"ms": best["seconds"] * 1e3, "row": best["name"]} if best else None,
         best["seconds"] <= 0.6e-3 if best else None)
    for r in _rows(doc, "split", "front+back"):
        goal(f"front+back vs whole: {r['group']}", "<= 1.05", r["ratio"], r["ratio"] <= 1.05)
    for r in _rows(doc, "qlayer+tiling", "quantize+tile"):
        if "checks read" not in r["name"]:
            goal(f"{r['group']} / {r['name']}", "<= 3.0 x device copy", r["ratio"], r["ratio"] <= 3.0)
    for c in doc["checks"]:
        if c["name"].startswith("golden"):
            goal(c["name"], "every vector", c["detail"], c["passed"])
    actors = [c for c in doc["checks"] if c["name"].startswith("model actor")]
    goal("half-GPU model actors equal the local engine", "equal", len(actors) if actors else None,
         all(c["passed"] for c in actors) if actors else None)
    sweep = doc.get("sweep")
    goal("GPU sweep: wall x workers / codec time", "<= 1.10", sweep["ratio_to_codec"] if sweep else None,
         sweep["ratio_to_codec"] <= 1.10 if sweep else None)
    return out


def problems(doc: object) -> list[str]:
    """What is wrong with a record: its JSON Schema (benchmarks/gpu/record.schema.json), then what a schema
    cannot say (ratios are seconds over their baseline's, every row names the run's card)."""
    import jsonschema

    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    found = [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
             for e in jsonschema.Draft202012Validator(schema).iter_errors(doc)]
    if found or not isinstance(doc, dict):
        return found
    for i, r in enumerate(doc["rows"]):
        if r["card"] != doc["card"]["name"]:
            found.append(f"rows/{i}: card {r['card']!r} is not the run's {doc['card']['name']!r}")
        if r["baseline"]["seconds"] > 0 and not math.isclose(r["ratio"], r["seconds"] / r["baseline"]["seconds"],
                                                             rel_tol=1e-9):
            found.append(f"rows/{i}: ratio {r['ratio']} is not seconds / baseline seconds")
        if not any(b["group"] == r["group"] and b["name"] == r["baseline"]["name"] for b in doc["rows"]):
            found.append(f"rows/{i}: its baseline {r['baseline']['name']!r} is no row of {r['group']!r}")
    for name in doc["ratios"]:
        if not any(f"{r['group']} / {r['name']}" == name for r in doc["rows"]):
            found.append(f"ratios: {name!r} is no row")
    return found


STEPS: list[tuple[str, float, Callable[[Bench], None]]] = [
    ("card", 15, step_card),
    ("qlayer", 40, step_qlayer),
    ("ray", 45, step_ray),
    ("inference", 45, step_inference),
    ("split", 20, step_split),
    ("sweep", 90, step_sweep),
    ("compiled_large", 150, step_compiled_large),
    ("compiled_one", 80, step_compiled_one),
    ("split_compiled", 90, step_split_compiled),
    ("qlayer_compiled", 45, step_qlayer_compiled),
]


def card_info(device: torch.device) -> dict:
    info = {"name": "cpu", "device": device.type, "torch": torch.__version__, "cuda": torch.version.cuda,
            "python": sys.version.split()[0], "cudnn_benchmark": torch.backends.cudnn.benchmark,
            "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
            "matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32, "threads": torch.get_num_threads()}
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info.update(name=torch.cuda.get_device_name(device), capability=list(torch.cuda.get_device_capability(device)),
                    multiprocessors=props.multi_processor_count, memory_gib=props.total_memory / 2**30,
                    cudnn=torch.backends.cudnn.version())
    else:
        info["name"] = f"cpu: {machine_info()['cpu']}"
    return info


def run_bench(args: argparse.Namespace) -> int:
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("gpu_bench: no CUDA device here (--device cpu --quick is the dry run)", file=sys.stderr)
        return 2
    names = [name for name, _, _ in STEPS]
    only = args.only.split(",") if args.only else names
    unknown = sorted(set(only) - set(names))
    if unknown:
        print(f"gpu_bench: unknown steps {', '.join(unknown)}; steps are {', '.join(names)}", file=sys.stderr)
        return 2
    if args.quick:
        torch.set_num_threads(1)  # tiny sizes: one thread competes least with whatever else runs here
    out = Path(args.out)
    bench = Bench(device, args.quick, args.budget, out / RECORD_NAME, Sizes.of(args.quick),
                  {"large": args.mode_large, "one": args.mode_one, "quick_backend": args.quick_backend})
    moment = datetime.now(timezone.utc)
    bench.doc = {"schema": SCHEMA, "machine": machine_info(), "when": moment.isoformat(), "commit": args.commit,
                 "quick": args.quick, "budget_s": args.budget, "card": card_info(device), "settings": {
                     "modes": bench.modes, "steps": only, "sizes": asdict(bench.sizes)},
                 "steps": {}, "rows": [], "checks": [], "not_run": [], "goals": [], "ratios": {}}
    bench.watchdog()
    print(f"gpu_bench on {bench.card} (torch {torch.__version__}), budget {args.budget:.0f} s, "
          f"record {bench.path}", flush=True)
    for name, estimate, fn in STEPS:
        if name in only:
            bench.run_step(name, estimate, fn)
    bench.write(final=True)
    summary(bench.doc)
    found = problems(bench.doc)
    for problem in found:
        print(f"gpu_bench: record format: {problem}", file=sys.stderr)
    failed = [n for n, s in bench.doc["steps"].items() if s["status"] == "failed"]
    checks = [c["name"] for c in bench.doc["checks"] if not c["passed"]]
    if args.quick:  # the dry run: every step must run
        failed += [n for n, s in bench.doc["steps"].items() if s["status"] == "skipped"]
    if failed or checks:
        print(f"gpu_bench: steps failed: {failed or 'none'}; checks failed: {checks or 'none'}", file=sys.stderr)
    return 1 if found or failed or checks else 0


def summary(doc: dict) -> None:
    print(f"\n{doc['card']['name']}: {len(doc['rows'])} rows, {sum(c['passed'] for c in doc['checks'])} of "
          f"{len(doc['checks'])} checks passed, {doc['elapsed_s']:.0f} s")
    if doc["quick"]:
        print("  (--quick: tiny sizes; the goals below say nothing about the paths' speed)")
    for name, step in doc["steps"].items():
        print(f"  step {name:16} {step['status']:8} {step.get('seconds', 0):7.1f} s  {step.get('reason', '')[:90]}")
    for g in doc["goals"]:
        verdict = {True: "met", False: "MISSED", None: "not measured"}[g["met"]]
        measured = g["measured"]
        text = f"{measured:.3g}" if isinstance(measured, float) else json.dumps(measured)[:60]
        print(f"  goal {verdict:12} {g['goal'][:80]:80} {g['target']:>22}  {text}")


def place(path: str, history: str) -> int:
    """Copy a record into HISTORY/<its machine>/<when>-gpu-bench.json (the machine it was measured on, not this one);
    ``tools/bench_history.py compare --machine KEY`` then reads its ratios."""
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    found = problems(doc)
    if found:
        print(f"gpu_bench: {path} is not a gpu-bench record: {found[0]}", file=sys.stderr)
        return 1
    if not doc.get("commit"):
        import subprocess

        done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
        doc["commit"] = done.stdout.strip()
    moment = datetime.fromisoformat(doc["when"]).strftime("%Y%m%dT%H%M%SZ")
    target = Path(history) / machine_key(doc["machine"]) / f"{moment}-gpu-bench.json"
    write_atomic(target, (json.dumps(doc, indent=1) + "\n").encode())
    print(target)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="measure (writes OUT/gpu-bench.json as it goes)")
    run.add_argument("--out", required=True, help="directory for gpu-bench.json (on the device machine: $OUT)")
    run.add_argument("--device", default="cuda", help="cuda (default) or cpu")
    run.add_argument("--quick", action="store_true", help="tiny sizes: the dry run of every step")
    run.add_argument("--budget", type=float, default=None,
                     help="seconds for the whole run (default 480; 600 with --quick); steps that do not fit are "
                          f"skipped, and one that overruns by {GRACE_S:.0f} s ends the run")
    run.add_argument("--only", default="", help="comma-separated steps: " + ", ".join(n for n, _, _ in STEPS))
    run.add_argument("--commit", default="", help="the commit measured (the device machine has no git history)")
    run.add_argument("--mode-large", default="max-autotune-no-cudagraphs",
                     help="torch.compile mode at the largest batch")
    run.add_argument("--mode-one", default="default", help="torch.compile mode at batch 1 (then a CUDA graph)")
    run.add_argument("--quick-backend", default="aot_eager", help="torch.compile backend with --quick (inductor: "
                     "the code generation too, minutes on a small CPU)")
    check = sub.add_parser("check", help="check a record's format")
    check.add_argument("file")
    filing = sub.add_parser("place", help="file a record under benchmarks/history/<machine>/")
    filing.add_argument("file")
    filing.add_argument("--history", default=str(ROOT / "benchmarks" / "history"))
    args = parser.parse_args(argv)
    if args.command == "check":
        found = problems(json.loads(Path(args.file).read_text(encoding="utf-8")))
        for problem in found:
            print(problem)
        return 1 if found else 0
    if args.command == "place":
        return place(args.file, args.history)
    if args.budget is None:
        args.budget = 600.0 if args.quick else 480.0
    return run_bench(args)


if __name__ == "__main__":
    sys.exit(main())
