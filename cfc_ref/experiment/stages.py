"""The steps of one unit (spec E-1.1), engine-neutral: the local runner calls them in one process, the Ray engine on
actors and tasks. Inputs and outputs are plain values (bytes, numpy arrays, dataclasses), so they travel anywhere.

    pixels = decode_image(jpeg_bytes, image)
    features = front_features(model, "max_17", pixels)                   # every crossing tensor, C×H×W float32
    received, coding = code_unit(config, setting, features, codec)       # mobile side → container → cloud side
    detections = back_detections(model, "max_17", received, pixels.shape)   # ImageDetections (D-4.2)

Each step marks its stage for the run's per-stage timing (spec E-10; ``cfc_ref.timing``).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from cfc_ref.baseline import Upload, hevc_rgb_upload, jpeg_upload, original_upload
from cfc_ref.codecs import PictureCodec
from cfc_ref.codecs.decoded import DecodedPictures
from cfc_ref.detector.detect import ImageDetections, image_detections
from cfc_ref.detector.image import network_input
from cfc_ref.detector.model import INPUT, DarknetModel
from cfc_ref.detector.split import split, split_point
from cfc_ref.errors import CfcError
from cfc_ref.experiment.config import ExperimentConfig, Setting, settings_of
from cfc_ref.experiment.units import Unit, UnitBits, feature_hash
from cfc_ref.implementations import DEFAULT, Implementation
from cfc_ref.implementations import check as check_implementation
from cfc_ref.pipeline import EncodeSettings, decode_container, encode_uplink
from cfc_ref.timing import stage


def decode_image(data: bytes, where: str) -> np.ndarray:
    """A JPEG (or any Pillow image) as H×W×3 uint8, or a CfcError naming it."""
    try:
        with stage("image"), Image.open(io.BytesIO(data)) as opened:
            return np.asarray(opened.convert("RGB"))
    except (OSError, Image.DecompressionBombError) as err:
        raise CfcError(f"{where}: not a readable image ({err})") from None


def _device(model: DarknetModel) -> torch.device:
    return next(model.parameters()).device


def _input(model: DarknetModel, pixels: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(network_input(pixels, model.config.width, model.config.height))[None]
    return x.to(_device(model))


@torch.no_grad()
def front_features(model: DarknetModel, split_name: str, pixels: np.ndarray) -> dict[str, np.ndarray]:
    """D-5.1: the front end of one image: every tensor that crosses the split, as C×H×W float32."""
    front, _ = split(model, split_name)
    with stage("front"):
        return {name: tensor[0].cpu().numpy() for name, tensor in front(_input(model, pixels)).items()}


@torch.no_grad()
def front_features_all(model: DarknetModel, split_names: tuple[str, ...], pixels: np.ndarray
                       ) -> dict[str, dict[str, np.ndarray]]:
    """:func:`front_features` of several split points from one pass over the layers (E-1.1): each split's front end
    is a prefix of the same layers on the same input, so its tensors are the same numbers (tested)."""
    if not split_names:
        return {}
    points = [split_point(model.config, name) for name in split_names]
    with stage("front"):
        outputs = model.run({INPUT: _input(model, pixels)}, 0, max(p.index for p in points) + 1)
        return {p.name: {name: outputs[i][0].cpu().numpy() for i, name in zip(p.crossing, p.crossing_names,
                                                                               strict=True)} for p in points}


def coded_tensors(setting: Setting, crossing: list[str]) -> list[str]:
    """E-7.1: ``deployable`` codes every tensor that crosses the split; ``paper`` only the split layer's own."""
    return list(crossing) if setting.accounting in ("deployable", "both") else [setting.split]


@dataclass(frozen=True)
class Coding:
    """What coding one unit's tensors gave: bits from the container the cloud side parsed (W-5), the decoders that
    made the pictures, the samples coded, the crossing tensors left uncoded (paper accounting)."""

    bits: UnitBits
    decoders: tuple[str, ...]
    samples: int
    uncoded: tuple[str, ...]
    features: tuple[tuple[str, str], ...] = ()  # E-9.7: the SHA-256 of each tensor the back end receives
    clipped: int = 0  # E-14.2: elements the fcm quantizer clipped

    def unit(self, image: str, setting: Setting, encoder: str, detections: ImageDetections) -> Unit:
        return Unit(image, setting.key, self.bits, encoder, self.decoders, detections, self.samples, self.uncoded,
                    self.features, self.clipped)


def code_unit(config: ExperimentConfig, setting: Setting, features: dict[str, np.ndarray], codec: PictureCodec,
              decoded: DecodedPictures | None = None) -> tuple[dict[str, np.ndarray], Coding]:
    """E-1.1: the coded tensors through the pipeline's mobile side to container bytes and back through its cloud
    side; the back end's inputs and the coding. Under ``paper`` accounting the other crossing tensors reach the back
    end as they are (E-7.1)."""
    coded = coded_tensors(setting, list(features))
    settings = EncodeSettings(setting.bit_depth, layout=config.layout, codec=codec,  # type: ignore[arg-type]
                              quantizer=setting.quantizer, ranges=config.fcm_ranges)  # E-14.1
    with stage("coding"):  # Q-layer, tiling and the container; the codec's encode and decode are their own stages
        implementation = check_implementation(config.implementation)
        uplink = encode_uplink({name: features[name] for name in coded}, settings, implementation)  # uplink bytes
        cloud = decode_container(uplink.data, config.decoder, implementation, decoded)  # cloud side: what it parses
    received = dict(cloud.features)
    uncoded = tuple(name for name in features if name not in coded)
    received.update({name: features[name] for name in uncoded})  # not deployable: never sent, not counted
    bits = UnitBits(cloud.bits.payload_bytes, cloud.bits.side_info_bytes, cloud.bits.container_bytes)
    samples = sum(int(features[name].size) for name in coded)
    hashes = tuple((name, feature_hash(received[name])) for name in sorted(received))  # E-9.7
    return received, Coding(bits, tuple(sorted(set(cloud.decoders.values()))), samples, uncoded, hashes,
                            uplink.clipped)


def _detections(model: DarknetModel, raw: torch.Tensor, pixels_shape: tuple[int, ...],
                implementation: Implementation) -> ImageDetections:
    """Region decoding and NMS (D-4.2), through the fast path that equals the reference (D-8.3), or the reference."""
    height, width = pixels_shape[:2]
    with stage("detection"):
        return image_detections(raw, model.region, width, height, implementation)


@torch.no_grad()
def back_detections(model: DarknetModel, split_name: str, received: dict[str, np.ndarray],
                    pixels_shape: tuple[int, ...], implementation: Implementation = DEFAULT) -> ImageDetections:
    """The back end on what the cloud received, then region decoding and NMS (D-4)."""
    _, back = split(model, split_name)
    with stage("back"):
        raw = back({name: torch.from_numpy(v)[None].to(_device(model)) for name, v in received.items()})
    return _detections(model, raw, pixels_shape, implementation)


def back_batches(config: ExperimentConfig) -> dict[str, int]:
    """E-1.3: the back ends of a split point run in batches of its number of settings."""
    sizes: dict[str, int] = {}
    for setting in settings_of(config):
        if setting.kind == "split":
            sizes[setting.split] = sizes.get(setting.split, 0) + 1
    return sizes


@torch.no_grad()
def back_detections_batch(model: DarknetModel, split_name: str, received: list[dict[str, np.ndarray] | None],
                          pixels_shape: tuple[int, ...], batch: int, implementation: Implementation = DEFAULT
                          ) -> list[ImageDetections | None]:
    """E-1.3: the back ends of one image's settings at one split point as one batch of exactly ``batch`` inputs
    (the split point's number of settings in the sweep; rows of settings not given, or whose coding failed
    (None), are zeros). A row's numbers depend on the batch size only, never on the other rows (tested), so they are
    the same whichever of the split point's settings are computed together (a fresh run, a resumed one, either
    engine)."""
    present = [r for r in received if r is not None]
    if len(received) > batch:
        raise CfcError(f"{len(received)} back ends of {split_name} in a batch of {batch}")
    if not present:
        return [None] * len(received)
    _, back = split(model, split_name)
    with stage("back"):
        inputs = {}
        for name, template in present[0].items():
            rows = np.zeros((batch, *template.shape), dtype=np.float32)
            for i, tensors in enumerate(received):
                if tensors is not None:
                    rows[i] = tensors[name]
            inputs[name] = torch.from_numpy(rows).to(_device(model))
        raw = back(inputs)
    return [None if r is None else _detections(model, raw[i:i + 1], pixels_shape, implementation)
            for i, r in enumerate(received)]


def cloud_upload(setting: Setting, pixels: np.ndarray, file_bytes: bytes) -> Upload:
    """E-1.2: the cloud-only upload of one image."""
    with stage("upload"):
        if setting.upload == "original":
            return original_upload(file_bytes)
        if setting.upload == "hevc":
            assert setting.qp is not None
            return hevc_rgb_upload(pixels, setting.qp)
        assert setting.jpeg_quality is not None
        return jpeg_upload(pixels, setting.jpeg_quality)


@torch.no_grad()
def cloud_detections(model: DarknetModel, upload: Upload, pixels_shape: tuple[int, ...],
                     implementation: Implementation = DEFAULT) -> ImageDetections:
    """The whole model on what the cloud decoded from the upload."""
    with stage("back"):
        raw = model(_input(model, upload.image))
    return _detections(model, raw, pixels_shape, implementation)


def cloud_unit(upload: Upload, image: str, setting: Setting, detections: ImageDetections) -> Unit:
    """E-1.2: a cloud-only unit: the upload's bytes, no side info, no container."""
    return Unit(image, setting.key, UnitBits(len(upload.payload), 0, 0), upload.method, ("Pillow",), detections)
