#!/usr/bin/env python3
"""What the real-size job's network stages cost per image, and which speed-ups the numbers allow (issue 34).

    python tools/bench_network_stages.py [--config tools/configs/bench-real-size.json] [--weights FILE] [--json OUT]

Per image, a sweep runs one front end per split point, the back ends of each split point as one batch of its
number of settings (spec E-1.3) and the whole network once per cloud-only upload. This tool times exactly that
set of calls, on one torch thread as a run's workers do, with the network variants a run could use:

- ``exact``: the Darknet-exact ``DarknetModel`` (what ``inference: exact``, the default, runs);
- ``fast``: ``FastDarknet`` (``inference: fast``: batch norm folded, channels_last; within D-8.2's tolerance);
- ``fast, cloud batched``: the same, with the cloud-only uploads of an image as one batch (E-1.3 runs them one at a
  time today);
- ``fast bf16``: ``FastDarknet(dtype=torch.bfloat16)`` (AMX/AVX-512-BF16 on CPUs that have them; outside D-8.2's
  tolerance, so a change of numbers, reported with its largest difference);
- ``exact, 2 threads``: one network call on two threads (wall and CPU seconds), against two workers of one thread.

It prints the CPU seconds per image of each variant and the largest difference of its region input from the exact
model's, and, from ``--codec-seconds`` (the codec's CPU seconds per image in the run, from its results store), the
ratio of wall × workers to codec time the job would have. Only time is read from untrained weights.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

import torch

from cfc_ref.detector.cfg import load_cfg
from cfc_ref.detector.model import DarknetModel
from cfc_ref.detector.split import split
from cfc_ref.detector.weights import load_weights
from cfc_ref.experiment.config import cfg_path, load_config, settings_of, split_points_of


def calls_per_image(config_path: str) -> tuple[dict[str, int], int, str, str]:
    """(back-end batch size per split point, cloud-only uploads per image, cfg, weights) of the config's sweep."""
    config = load_config(config_path)
    settings = settings_of(config)
    batches = Counter(s.split for s in settings if s.kind == "split")
    cloud = sum(1 for s in settings if s.kind == "cloud")
    return {name: batches[name] for name in split_points_of(config)}, cloud, str(cfg_path(config)), config.weights


def cpu_time(fn, repeats: int, clock=time.process_time) -> float:
    """Median seconds of ``fn`` on ``clock`` (default: CPU of this process, all threads) over ``repeats`` calls after
    one warm-up."""
    fn()
    times = []
    for _ in range(repeats):
        start = clock()
        fn()
        times.append(clock() - start)
    return sorted(times)[len(times) // 2]


def image_cost(net, batches: dict[str, int], cloud: int, cloud_batched: bool, repeats: int,
               dtype: torch.dtype = torch.float32) -> dict[str, float]:
    """CPU seconds of one image's network calls: fronts, batched backs, cloud-only wholes."""
    x = torch.rand(1, 3, 416, 416, generator=torch.Generator().manual_seed(0))
    out = {"front": 0.0, "back": 0.0, "cloud": 0.0}
    with torch.no_grad():
        for name, n in batches.items():
            front, back = split(net, name)
            tensors = front(x)
            batch = {k: v.expand(n, *v.shape[1:]).contiguous() for k, v in tensors.items()}
            out["front"] += cpu_time(lambda front=front: front(x), repeats)
            out["back"] += cpu_time(lambda back=back, batch=batch: back(batch), repeats)
        if cloud_batched:
            xs = x.expand(cloud, -1, -1, -1).contiguous()
            out["cloud"] = cpu_time(lambda: net(xs), repeats)
        else:
            out["cloud"] = cloud * cpu_time(lambda: net(x), repeats)
    out["total"] = out["front"] + out["back"] + out["cloud"]
    return out


def largest_difference(net, reference: DarknetModel) -> float:
    x = torch.rand(2, 3, 416, 416, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        return float((net(x).float() - reference(x)).abs().max())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="tools/configs/bench-real-size.json")
    parser.add_argument("--weights", help="weights file (default: the config's)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--codec-seconds", type=float, default=0.0,
                        help="HEVC encode + decode CPU seconds per image in the run (its results store)")
    parser.add_argument("--other-seconds", type=float, default=0.0,
                        help="the run's other stages' CPU seconds per image (coding, detection, aggregation, ...)")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)
    batches, cloud, cfg, weights = calls_per_image(args.config)
    model = DarknetModel(load_cfg(cfg))
    load_weights(model, args.weights or weights)
    model.eval()
    from cfc_ref.fast.detector import FastDarknet

    torch.set_num_threads(1)
    fast = FastDarknet(model)
    variants = {
        "exact": (model, False),
        "fast": (fast, False),
        "fast, cloud batched": (fast, True),
    }
    results: dict[str, dict] = {}
    for name, (net, batched) in variants.items():
        results[name] = image_cost(net, batches, cloud, batched, args.repeats)
        results[name]["largest_difference"] = 0.0 if net is model else largest_difference(net, model)
        print(f"{name:24} " + "  ".join(f"{k} {v:7.3f}" for k, v in results[name].items()), flush=True)
    try:
        bf16 = FastDarknet(model, dtype=torch.bfloat16)
        results["fast bf16"] = image_cost(bf16, batches, cloud, False, args.repeats)
        results["fast bf16"]["largest_difference"] = largest_difference(bf16, model)
        print(f"{'fast bf16':24} " + "  ".join(f"{k} {v:7.3f}" for k, v in results["fast bf16"].items()), flush=True)
    except RuntimeError as err:  # no bf16 kernels on this CPU
        results["fast bf16"] = {"error": str(err)[:200]}
    x = torch.rand(1, 3, 416, 416)
    with torch.no_grad():
        one_cpu = cpu_time(lambda: model(x), args.repeats)
        one_wall = cpu_time(lambda: model(x), args.repeats, time.perf_counter)
        torch.set_num_threads(2)
        two_cpu = cpu_time(lambda: model(x), args.repeats)
        two_wall = cpu_time(lambda: model(x), args.repeats, time.perf_counter)
        torch.set_num_threads(1)
    results["threads"] = {"1 thread cpu": one_cpu, "1 thread wall": one_wall, "2 threads cpu": two_cpu,
                          "2 threads wall": two_wall}
    print("whole network, one image: " + ", ".join(f"{k} {v:.3f} s" for k, v in results["threads"].items()))
    if args.codec_seconds:
        for name, row in results.items():
            if "total" in row:
                row["ratio_to_codec"] = (row["total"] + args.codec_seconds + args.other_seconds) / args.codec_seconds
                print(f"{name:24} wall x workers / codec = ({row['total']:.2f} + {args.codec_seconds:.2f} + "
                      f"{args.other_seconds:.2f}) / {args.codec_seconds:.2f} = {row['ratio_to_codec']:.2f}")
    doc = {"config": args.config, "batches": batches, "cloud_uploads": cloud, "torch": torch.__version__,
           "results": results}
    if args.json:
        Path(args.json).write_text(json.dumps(doc, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
