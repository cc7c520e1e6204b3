#!/usr/bin/env python3
"""Ray engine measurements (spec E-8; issue 11): run by tests/distributed/test_bench_ray.py inside a loopback-only
network namespace with a cluster at $RAY_ADDRESS. Prints one JSON object.

    python tools/bench_ray.py sweep CONFIG          # units/s of a whole sweep on the cluster
    python tools/bench_ray.py overhead CONFIG N     # N units through Ray (one per task, and CODING_CHUNK per task)
                                                    # vs the same calls in process
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from cfc_ref.experiment.config import load_config, settings_of


def sweep(config_path: str) -> dict:
    from cfc_ref.experiment.ray_engine import run_ray

    config = load_config(config_path)
    began = time.perf_counter()
    run_ray(config, address="auto", progress=False)
    seconds = time.perf_counter() - began
    return {"seconds": seconds, **steady(Path(config.output), seconds)}


def steady(output: Path, seconds: float) -> dict:
    """End-to-end units/s, and the rate over the sweep as its results store timed it (from the sweep's start under
    the lock to its end; the process start-up and imports before it excluded)."""
    from cfc_ref.experiment.store import RunStore

    with RunStore.open(output, create=False) as store:
        units = len(store.done())
        wall = store.sweeps()[-1]["wall"]
    return {"units": units, "units_per_s": units / seconds, "steady_units_per_s": units / wall}


def overhead(config_path: str, count: int) -> dict:
    """The same coding call (one image, one lossy setting), N times in this process and N times as Ray tasks run
    one after another on a one-CPU cluster: the ratio is Ray's per-unit cost over the bare pipeline + codec call."""
    import ray

    from cfc_ref.codecs.hevc import HevcCodec
    from cfc_ref.data.synthetic import write_dataset
    from cfc_ref.experiment.ray_engine import CODING_CHUNK, code_many, code_task
    from cfc_ref.experiment.stages import code_unit, decode_image, front_features
    from cfc_ref.zoo.embedded import load_embedded_model

    config = load_config(config_path)
    write_dataset(config.dataset_root, train=0, test=1)
    setting = next(s for s in settings_of(config) if s.kind == "split" and s.qp is not None)
    pixels = decode_image((Path(config.dataset_root) / "JPEGImages" / "test_000000.jpg").read_bytes(), "image")
    features = front_features(load_embedded_model(), setting.split, pixels)
    codec = HevcCodec(setting.codec_quality, config.encoder, config.decoder)  # type: ignore[arg-type]
    code_unit(config, setting, features, codec)  # warm up
    began = time.perf_counter()
    for _ in range(count):
        code_unit(config, setting, features, codec)
    bare = (time.perf_counter() - began) / count
    ray.init(address="auto", log_to_driver=False, logging_level="ERROR")
    task = ray.remote(num_cpus=1)(code_task)
    front = ray.put((features, pixels.shape))
    config_ref = ray.put(config)
    ray.get(task.remote(config_ref, setting, front))  # warm up the worker
    began = time.perf_counter()
    ray.get([task.remote(config_ref, setting, front) for _ in range(count)])
    through_ray = (time.perf_counter() - began) / count
    many = ray.remote(num_cpus=1, num_returns=2)(code_many)
    ray.get(many.remote(config_ref, [setting] * CODING_CHUNK, front))
    began = time.perf_counter()
    ray.get([ref for _ in range(count // CODING_CHUNK)
             for ref in many.remote(config_ref, [setting] * CODING_CHUNK, front)])
    chunked = (time.perf_counter() - began) / (count // CODING_CHUNK * CODING_CHUNK)
    return {"unit_bare_s": bare, "unit_ray_s": through_ray, "ratio": through_ray / bare,
            "unit_ray_chunked_s": chunked, "chunk": CODING_CHUNK, "ratio_chunked": chunked / bare, "units": count}


if __name__ == "__main__":
    mode, path = sys.argv[1], sys.argv[2]
    print(json.dumps(sweep(path) if mode == "sweep" else overhead(path, int(sys.argv[3]))))
