"""The sweep on a Ray cluster (spec E-8; ``cfc-ref run CONFIG --engine ray [--address ADDR]``, extra ``ray``).

The work splits as the system does, over the same engine-neutral steps as the local runner (``stages.py``):

- model actors (one per node by default, not counted against its CPUs) hold the detector: the front end of an image at a
  split (once per image and split, for all its settings), the back end of all of that image's settings in one
  call, and the cloud-only uploads;
- CPU tasks code the (image, setting) units, ``CODING_CHUNK`` settings of one image and split per task (Ray's few
  milliseconds per task spread over several units): the pipeline's mobile side to container bytes and its cloud
  side back;
- the driver alone records units in the run's results store (with the local engine's fingerprint, lock and resume
  rules, spec E-9) and aggregates at the end.

Workers need no shared filesystem: the driver reads every input (images, cfg, weights) and sends it through Ray's
object store; results come back the same way. A task is retried by Ray when its worker dies; an actor is restarted
and its pending calls retried. A ``CfcError`` fails the units it belongs to (one setting's coding, or a whole job when
the image itself is bad), the sweep goes on, and the run ends with ``SweepIncomplete`` naming them (E-4.2).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from cfc_ref.detector.detect import ImageDetections
from cfc_ref.errors import CfcError
from cfc_ref.experiment.config import ExperimentConfig, Setting, settings_of, split_points_of
from cfc_ref.experiment.units import Unit
from cfc_ref.processes import usable_cpus
from cfc_ref.timing import SettingSeconds, Stopwatch, stage_totals

if TYPE_CHECKING:
    from cfc_ref.experiment.rundir import Sweep

# Model actors are not counted against a node's CPUs (one per node, mostly waiting on the coding tasks); every
# coding task takes one CPU. A task that asked for more CPUs than any node has would wait for ever.
ACTOR_CPUS = 0
GPU_PER_ACTOR = 0.5  # with device cuda: a model actor takes half a GPU, so two share one
CODING_CHUNK = 6  # settings per coding task (docs/distributed.md: the per-unit cost of Ray, measured)


def _ray():  # type: ignore[no-untyped-def]
    try:
        import ray
    except ImportError:
        raise CfcError("the Ray engine needs Ray: python -m pip install 'ray>=2.60,<3' (the extra 'ray')") from None
    return ray


class _ModelHolder:
    """The body of the model actor (a plain class, so that it can be tested without Ray)."""

    def __init__(self, cfg_text: str, weights: bytes, config: ExperimentConfig, device: str = "cpu") -> None:
        from dataclasses import replace

        from cfc_ref import implementations
        from cfc_ref.detector.cfg import parse_cfg
        from cfc_ref.detector.model import DarknetModel
        from cfc_ref.detector.weights import load_weights
        from cfc_ref.experiment.models import inference_model

        torch.set_num_threads(1)
        model = DarknetModel(parse_cfg(cfg_text))
        load_weights(model, weights)
        self.model = inference_model(model.eval(), replace(config, device=device))
        self.implementation = implementations.check(config.implementation)  # spec E-12

    def front(self, data: bytes, image: str, split: str
              ) -> tuple[dict[str, np.ndarray], tuple[int, ...], dict[str, float]]:
        """The front end of one image at one split, the image's shape and the seconds of the stages (E-15.3)."""
        from cfc_ref.experiment.stages import decode_image, front_features

        watch = Stopwatch()
        with watch.active():
            pixels = decode_image(data, image)
            features = front_features(self.model, split, pixels)
        return features, pixels.shape, watch.as_dict()

    def back_many(self, split: str, shape: tuple[int, ...], batch: int, *chunks: list[dict[str, np.ndarray] | None]
                  ) -> list[ImageDetections | None]:
        """The back ends of every setting of one image and split as one batch (E-1.3; the coding tasks' chunks in
        order; None where a setting's coding failed)."""
        from cfc_ref.experiment.stages import back_detections_batch

        return back_detections_batch(self.model, split, [r for chunk in chunks for r in chunk], shape, batch,
                                     self.implementation)

    def back_many_timed(self, split: str, head: tuple[tuple[int, ...], dict[str, float]], batch: int,
                        *chunks: list[dict[str, np.ndarray] | None]
                        ) -> tuple[list[ImageDetections | None], dict[str, float], dict[str, float]]:
        """:meth:`back_many` with the batch's stage seconds and, passed on, the front pass's (``head``: the image's
        shape and those seconds, E-15.3)."""
        watch = Stopwatch()
        with watch.active():
            found = self.back_many(split, head[0], batch, *chunks)
        return found, watch.as_dict(), head[1]

    def cloud(self, data: bytes, image: str, settings: list[Setting]
              ) -> tuple[list[Unit], dict[str, dict[str, float]]]:
        """The cloud-only units of one image and the seconds spent on each setting (E-15.3)."""
        from cfc_ref.experiment.stages import cloud_detections, cloud_unit, cloud_upload, decode_image

        watch = Stopwatch()
        shares = SettingSeconds(watch)
        units = []
        with watch.active():
            with shares.charge([s.key for s in settings]):
                pixels = decode_image(data, image)
            for setting in settings:
                with shares.charge([setting.key]):
                    upload = cloud_upload(setting, pixels, data)
                    found = cloud_detections(self.model, upload, pixels.shape, self.implementation)
                    units.append(cloud_unit(upload, image, setting, found))
        return units, shares.charged


def code_task(config: ExperimentConfig, setting: Setting, front: tuple[dict[str, np.ndarray], ...],
              decoded: object = None) -> tuple[dict[str, np.ndarray], object]:
    """One (image, setting) through the pipeline (E-1.1), with the plain wire codec: no cache on a worker;
    ``decoded`` (E-1.4) the pictures of the streams decoded before in the same task."""
    from cfc_ref.codecs.hevc import HevcCodec
    from cfc_ref.experiment.stages import code_unit

    torch.set_num_threads(1)
    codec = HevcCodec(setting.codec_quality, config.encoder, config.decoder)  # type: ignore[arg-type]
    return code_unit(config, setting, front[0], codec, decoded)  # type: ignore[arg-type]


def code_many(config: ExperimentConfig, settings: list[Setting], front: tuple[dict[str, np.ndarray], ...]
              ) -> tuple[list[dict[str, np.ndarray] | None], list[tuple[object, dict[str, float]]]]:
    """Several settings of one image and split, each as :func:`code_task`: what the back end receives, and each
    setting's coding with its stage seconds (E-15.3); a setting whose coding raises a ``CfcError`` gives None and
    the message instead of its coding, and fails alone (E-4.2)."""
    from cfc_ref.codecs.decoded import DecodedPictures

    received: list[dict[str, np.ndarray] | None] = []
    codings: list[tuple[object, dict[str, float]]] = []
    decoded = DecodedPictures()  # E-1.4: a stream two settings share is decoded once in this task
    for setting in settings:
        watch = Stopwatch()
        try:
            with watch.active():
                features, coding = code_task(config, setting, front, decoded)
        except CfcError as err:
            features, coding = None, str(err)
        received.append(features)
        codings.append((coding, watch.as_dict()))
    return received, codings


@dataclass
class _Pending:
    """The refs of one (image, group) job in flight, and what the driver needs to write its units."""

    image: str
    settings: list[Setting]
    result: object  # ref: detections list and seconds (split) or units list and seconds (cloud)
    codings: list[object]  # refs of the Coding (or message) and stage seconds of each setting (split jobs)


def _cause(err: BaseException) -> BaseException:
    return getattr(err, "cause", None) or err


def run_ray(config: ExperimentConfig, address: str | None = None, progress: bool | object = True,
            actors: int | None = None) -> Path:
    """E-8.1: the sweep on a Ray cluster (``address``), or a local one started for it; returns results.json."""
    import time

    from cfc_ref.codecs.hevc import encoder_name
    from cfc_ref.experiment.models import model_files
    from cfc_ref.experiment.rundir import open_sweep
    from cfc_ref.progress import JobProgress

    ray = _ray()
    with open_sweep(config, device_here=False) as sweep:  # the GPUs are the cluster's, not the driver's
        settings = settings_of(config)
        jobs = []
        for image in sweep.images:
            for group in (*split_points_of(config), "cloud"):
                todo = [s for s in settings if (s.split == group if s.kind == "split" else group == "cloud")
                        and (s.key, image) not in sweep.done]
                if todo:
                    jobs.append(((image, group), todo))
        started_here = not ray.is_initialized()
        if started_here:
            try:
                ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level="ERROR",
                         configure_logging=True, num_cpus=None if address else (config.workers or usable_cpus()))
            except (ConnectionError, RuntimeError, ValueError) as err:
                raise CfcError(f"cannot reach a Ray cluster at {address or 'a new local cluster'}: {err}") from None
        bar = progress if isinstance(progress, JobProgress) else JobProgress(None, enabled=bool(progress))
        workers = int(ray.cluster_resources().get("CPU", 1))
        bar.start_sweep(f"{config.name} (ray)", sweep.total, len(sweep.done), workers)
        sweep.start("ray", workers)
        began = time.perf_counter()
        try:
            _sweep(ray, config, jobs, bar, actors, encoder_name(config.encoder),  # type: ignore[arg-type]
                   model_files(config), sweep)
        finally:
            if started_here:
                ray.shutdown()
        sweep.timing.add_job({"ray sweep": time.perf_counter() - began})
        bar.phase(f"{config.name}: aggregating {len(settings)} settings")
        path = sweep.finish()
        if not isinstance(progress, JobProgress):
            bar.close()
        return path


def _sweep(ray, config: ExperimentConfig, jobs: list, bar, actors: int | None,  # type: ignore[no-untyped-def]
           encoder_id: str, files: tuple[Path, Path], sweep: Sweep) -> None:
    from cfc_ref.experiment.stages import back_batches

    if max((node.get("Resources", {}).get("CPU", 0) for node in ray.nodes() if node.get("Alive")), default=0) < 1:
        raise CfcError("the Ray cluster has no node with a whole CPU for the coding tasks")
    gpus = GPU_PER_ACTOR if config.device != "cpu" else 0  # fractional: several actors share a GPU (E-8.4)
    if gpus and not ray.cluster_resources().get("GPU"):
        raise CfcError(f"device {config.device!r}: the Ray cluster has no GPU (device 'cpu' runs anywhere)")
    Actor = ray.remote(num_cpus=ACTOR_CPUS, num_gpus=gpus, max_restarts=-1, max_task_retries=-1)(_ModelHolder)
    coder = ray.remote(num_cpus=1, max_retries=5, retry_exceptions=False)(code_many)
    # the model's files in the object store, held here for the whole sweep: a restarted actor reads them again
    cfg_text, weights = ray.put(files[0].read_text(encoding="utf-8")), ray.put(files[1].read_bytes())
    count = actors or max(1, sum(1 for node in ray.nodes() if node.get("Alive")))
    pool = [Actor.remote(cfg_text, weights, config, "cuda" if gpus else "cpu") for _ in range(count)]
    config_ref = ray.put(config)
    batches = back_batches(config)
    pending: dict[object, _Pending] = {}
    for number, ((image, group), todo) in enumerate(jobs):
        actor = pool[number % count]
        try:
            data = ray.put(sweep.source.image_bytes(image))
        except CfcError as err:  # E-4.2: an image that cannot be read fails its units, not the sweep
            sweep.record((), [(s.key, image, str(err)) for s in todo])
            bar.advance(len(todo), len(todo))
            continue
        if group == "cloud":
            ref = actor.cloud.remote(data, image, todo)
            pending[ref] = _Pending(image, todo, ref, [])
            continue
        front = actor.front.remote(data, image, group)
        chunks = [todo[i:i + CODING_CHUNK] for i in range(0, len(todo), CODING_CHUNK)]
        coded = [coder.options(num_returns=2).remote(config_ref, chunk, front) for chunk in chunks]
        head = _head_of.remote(front)
        ref = actor.back_many_timed.remote(group, head, batches[group], *[received for received, _ in coded])
        pending[ref] = _Pending(image, todo, ref, [coding for _, coding in coded])
    for job, ready_ref in _completed(ray, pending):
        try:
            result = ray.get(ready_ref)
            coded = [coding for chunk in ray.get(job.codings) for coding in chunk]
        except Exception as err:  # noqa: BLE001 - a task's CfcError arrives wrapped by Ray
            cause = _cause(err)
            if not isinstance(cause, CfcError):
                raise
            sweep.record((), [(s.key, job.image, str(cause)) for s in job.settings])
            bar.advance(len(job.settings), len(job.settings))
            continue
        units: list[Unit] = []
        failures: list[tuple[str, str, str]] = []
        shares = SettingSeconds()
        if not job.codings:  # cloud-only units, complete
            units, charged = result
            shares.merge(charged)
        else:
            found, back_seconds, front_seconds = result
            shares.add(front_seconds, [s.key for s in job.settings])  # E-15.3: the pass, among what it served
            shares.add(back_seconds, [s.key for s, (coding, _) in zip(job.settings, coded, strict=True)
                                      if not isinstance(coding, str)])  # the batch, among its settings
            for setting, detections, (coding, seconds) in zip(job.settings, found, coded, strict=True):
                shares.add(seconds, [setting.key])
                if isinstance(coding, str):  # this setting's coding raised a CfcError
                    failures.append((setting.key, job.image, coding))
                else:
                    units.append(coding.unit(job.image, setting, encoder_id, detections))
        sweep.record(units, failures, seconds=shares.charged)
        sweep.timing.add_job(stage_totals(shares.charged))  # E-15.3: the sweep's stages, as the local engine's
        bar.advance(len(units) + len(failures), len(failures))


def _head_of_body(front: tuple[dict[str, np.ndarray], tuple[int, ...], dict[str, float]]
                  ) -> tuple[tuple[int, ...], dict[str, float]]:
    """The image's shape and the front pass's seconds, without the features (they stay in the object store)."""
    return front[1], front[2]


class _LazyRemote:
    """``ray.remote`` applied on first use, so that importing this module does not need Ray."""

    def __init__(self, function, **options) -> None:  # type: ignore[no-untyped-def]
        self.function, self.options, self.remote_function = function, options, None

    def remote(self, *args):  # type: ignore[no-untyped-def]
        if self.remote_function is None:
            self.remote_function = _ray().remote(**self.options)(self.function)
        return self.remote_function.remote(*args)


_head_of = _LazyRemote(_head_of_body, num_cpus=0)


def _completed(ray, pending: dict) -> Iterator[tuple[_Pending, object]]:  # type: ignore[no-untyped-def]
    """Jobs as they finish, whatever the order."""
    waiting = list(pending)
    while waiting:
        ready, waiting = ray.wait(waiting, num_returns=1)
        yield pending[ready[0]], ready[0]
