"""cfc-ref: reference for deep feature compression in collaborative object detection.

The public API (imported on first use, so ``import cfc_ref`` stays light):

    from cfc_ref import quantize, dequantize, tile, untile             # Q-layer, tiling (spec Q-, T-)
    from cfc_ref import EncodeSettings, encode_features, decode_features, decode_container   # the data path (O-2)
    from cfc_ref import pack, parse, get_codec, HevcCodec               # wire format and codec registry (W-, H-)
    from cfc_ref import DarknetModel, builtin_cfg, load_weights, split  # the detector and its split points (D-)
    from cfc_ref import evaluate, bd_kbpi_map                           # VOC mAP, BD-KBPI-mAP (M-)
    from cfc_ref import CfcError                                        # every error a user can cause

Components, one module each (spec/ has the normative text):
  qlayer        Q-layer, eqs. (2)–(3)             spec/qlayer.md
  tiling        channels → picture                spec/tiling.md
  fast/         fast variants of both, tested bit-equal (numpy buffers, batched torch, numba fused)
  codecs/       picture codecs by wire id         spec/container.md W-3, spec/codec.md
  baseline      cloud-only baseline (JPEG, original, HEVC of the RGB image)   spec/codec.md H-7
  container     wire format                       spec/container.md
  accounting    bit accounting                    spec/container.md W-5
  pipeline      features ⇄ container bytes: the one data path (mobile side, cloud side)
  detector/     YOLOv2-VOC, Darknet-exact; split points; loss; profile   spec/detector.md
  metrics/      VOC AP/mAP, BD-KBPI-mAP, annotation/detection files    spec/metrics.md
  data/         the synthetic VOC-layout dataset of the embedded default
  experiment/   sweep runner, fingerprints, aggregation, report, protocol   spec/experiment.md
  training/     training loop, codec in the loop (compression-augmented)   spec/training.md
  zoo/          shipped weights of the embedded default
  conformance/  adapter protocol for other implementations   spec/conformance.md
  configfile, fileio, progress   typed JSON configs, atomic writes, progress lines
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"
SPEC_VERSION = "2"  # spec/README.md O-0.1

_EXPORTS = {
    "quantize": "cfc_ref.qlayer", "dequantize": "cfc_ref.qlayer", "SideInfo": "cfc_ref.qlayer",
    "tile": "cfc_ref.tiling", "untile": "cfc_ref.tiling",
    "EncodeSettings": "cfc_ref.pipeline", "encode_features": "cfc_ref.pipeline",
    "decode_features": "cfc_ref.pipeline", "decode_container": "cfc_ref.pipeline",
    "pack": "cfc_ref.container", "parse": "cfc_ref.container", "TensorRecord": "cfc_ref.container",
    "get_codec": "cfc_ref.codecs", "CODEC_IDS": "cfc_ref.codecs", "HevcCodec": "cfc_ref.codecs.hevc",
    "DarknetModel": "cfc_ref.detector.model", "builtin_cfg": "cfc_ref.detector.cfg", "load_cfg": "cfc_ref.detector.cfg",
    "load_weights": "cfc_ref.detector.weights", "split": "cfc_ref.detector.split",
    "evaluate": "cfc_ref.metrics.voc", "bd_kbpi_map": "cfc_ref.metrics.bd",
    "CfcError": "cfc_ref.errors",
}
__all__ = sorted(_EXPORTS) + ["SPEC_VERSION", "__version__"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'cfc_ref' has no attribute {name!r}")
