"""OpenCV's Darknet importer (cv2.dnn.readNetFromDarknet), layer fusion off: the front end of a split.

OpenCV cannot start a network at an inner layer, so ``back_forward`` is not available (reported as such). Which
layers cross a cut is spec D-5.1 (taken from cfc_ref's cfg reader); the tensors themselves are OpenCV's."""

import cv2
import numpy as np

from cfc_ref.detector.cfg import load_cfg
from cfc_ref.detector.split import split_point
from cfc_ref.errors import DarknetError

PROFILES = ("detector.network",)
VERSION = f"opencv-python-headless {cv2.__version__} (fusion off)"
FUSION = False
_GROUP_START = ("conv_", "pool_", "identity_", "concat_", "reorg_", "permute_")


def _outputs_by_layer(net):
    """OpenCV names Darknet layer k's sublayers conv_k, bn_k, leaky_{k+1}; the last one is the layer's output."""
    last = {}
    index = -1
    for name in net.getLayerNames():
        if name.startswith(_GROUP_START):
            index += 1
        last[index] = name
    return last


def split_forward(cfg, weights, image, split):
    point = split_point(load_cfg(cfg), split)  # raises DarknetError for a bad split name (D-1.2)
    try:
        net = cv2.dnn.readNetFromDarknet(cfg, weights)
    except cv2.error as err:
        raise DarknetError(f"OpenCV refused the network: {str(err).splitlines()[-1]}") from None
    net.enableFusion(FUSION)
    names = _outputs_by_layer(net)
    net.setInput(np.ascontiguousarray(image, dtype=np.float32)[None])
    outs = net.forward([names[i] for i in point.crossing])
    return {name: np.ascontiguousarray(o[0], dtype=np.float32)
            for name, o in zip(point.crossing_names, outs, strict=True)}


def back_forward(cfg, weights, split, tensors):
    raise NotImplementedError("OpenCV's dnn cannot start a network at an inner layer")
