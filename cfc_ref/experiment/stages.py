"""The steps of one unit (spec E-1.1), engine-neutral: the local runner calls them in one process, the Ray engine on
actors and tasks. Inputs and outputs are plain values (bytes, numpy arrays, dataclasses), so they travel anywhere.

    pixels = decode_image(jpeg_bytes, image)
    features = front_features(model, "max_17", pixels)                   # every crossing tensor, C×H×W float32
    received, coding = code_unit(config, setting, features, codec)       # mobile side → container → cloud side
    detections = back_detections(model, "max_17", received, image, pixels.shape, classes)
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from cfc_ref.baseline import Upload, hevc_rgb_upload, jpeg_upload, original_upload
from cfc_ref.codecs import PictureCodec
from cfc_ref.detector.detect import voc_detections
from cfc_ref.detector.image import network_input
from cfc_ref.detector.model import DarknetModel
from cfc_ref.detector.split import split
from cfc_ref.errors import CfcError
from cfc_ref.experiment.config import ExperimentConfig, Setting
from cfc_ref.experiment.units import Unit, UnitBits
from cfc_ref.pipeline import EncodeSettings, decode_container, encode_features

DetectionRow = tuple[str, float, float, float, float, float]  # class, score, box (1-based VOC pixels)


def decode_image(data: bytes, where: str) -> np.ndarray:
    """A JPEG (or any Pillow image) as H×W×3 uint8, or a CfcError naming it."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
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
    return {name: tensor[0].cpu().numpy() for name, tensor in front(_input(model, pixels)).items()}


def coded_tensors(setting: Setting, crossing: list[str]) -> list[str]:
    """E-7.1: ``deployable`` codes every tensor that crosses the split; ``paper`` only the split layer's own."""
    return list(crossing) if setting.accounting == "deployable" else [setting.split]


@dataclass(frozen=True)
class Coding:
    """What coding one unit's tensors gave: bits from the container the cloud side parsed (W-5), the decoders that
    made the pictures, the samples coded, the crossing tensors left uncoded (paper accounting)."""

    bits: UnitBits
    decoders: tuple[str, ...]
    samples: int
    uncoded: tuple[str, ...]

    def unit(self, image: str, setting: Setting, encoder: str, detections: tuple[DetectionRow, ...]) -> Unit:
        return Unit(image, setting.key, self.bits, encoder, self.decoders, detections, self.samples, self.uncoded)


def code_unit(config: ExperimentConfig, setting: Setting, features: dict[str, np.ndarray], codec: PictureCodec
              ) -> tuple[dict[str, np.ndarray], Coding]:
    """E-1.1: the coded tensors through the pipeline's mobile side to container bytes and back through its cloud
    side; the back end's inputs and the coding. Under ``paper`` accounting the other crossing tensors reach the back
    end as they are (E-7.1)."""
    coded = coded_tensors(setting, list(features))
    settings = EncodeSettings(setting.bit_depth, layout=config.layout, codec=codec)  # type: ignore[arg-type]
    data = encode_features({name: features[name] for name in coded}, settings)  # mobile side: the uplink bytes
    cloud = decode_container(data, config.decoder)  # cloud side: what it parses
    received = dict(cloud.features)
    uncoded = tuple(name for name in features if name not in coded)
    received.update({name: features[name] for name in uncoded})  # not deployable: never sent, not counted
    bits = UnitBits(cloud.bits.payload_bytes, cloud.bits.side_info_bytes, cloud.bits.container_bytes)
    samples = sum(int(features[name].size) for name in coded)
    return received, Coding(bits, tuple(sorted(set(cloud.decoders.values()))), samples, uncoded)


def _detections(model: DarknetModel, raw: torch.Tensor, image: str, pixels_shape: tuple[int, ...],
                classes: tuple[str, ...]) -> tuple[DetectionRow, ...]:
    height, width = pixels_shape[:2]
    found = voc_detections(raw, model.region, image, width, height, classes)
    return tuple((d.cls, d.score, *d.box) for d in found)  # type: ignore[misc]


@torch.no_grad()
def back_detections(model: DarknetModel, split_name: str, received: dict[str, np.ndarray], image: str,
                    pixels_shape: tuple[int, ...], classes: tuple[str, ...]) -> tuple[DetectionRow, ...]:
    """The back end on what the cloud received, then region decoding and NMS (D-4)."""
    _, back = split(model, split_name)
    raw = back({name: torch.from_numpy(v)[None].to(_device(model)) for name, v in received.items()})
    return _detections(model, raw, image, pixels_shape, classes)


def cloud_upload(setting: Setting, pixels: np.ndarray, file_bytes: bytes) -> Upload:
    """E-1.2: the cloud-only upload of one image."""
    if setting.upload == "original":
        return original_upload(file_bytes)
    if setting.upload == "hevc":
        assert setting.qp is not None
        return hevc_rgb_upload(pixels, setting.qp)
    assert setting.jpeg_quality is not None
    return jpeg_upload(pixels, setting.jpeg_quality)


@torch.no_grad()
def cloud_detections(model: DarknetModel, upload: Upload, image: str, pixels_shape: tuple[int, ...],
                     classes: tuple[str, ...]) -> tuple[DetectionRow, ...]:
    """The whole model on what the cloud decoded from the upload."""
    return _detections(model, model(_input(model, upload.image)), image, pixels_shape, classes)


def cloud_unit(upload: Upload, image: str, setting: Setting, detections: tuple[DetectionRow, ...]) -> Unit:
    """E-1.2: a cloud-only unit: the upload's bytes, no side info, no container."""
    return Unit(image, setting.key, UnitBits(len(upload.payload), 0, 0), upload.method, ("Pillow",), detections)
