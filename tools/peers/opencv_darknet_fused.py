"""OpenCV's Darknet importer with its default layer fusion on (batch norm and activation fused into the
convolution)."""

import cv2

from peers import opencv_darknet

PROFILES = opencv_darknet.PROFILES
VERSION = f"opencv-python-headless {cv2.__version__} (fusion on, the default)"


def split_forward(cfg, weights, image, split):
    opencv_darknet.FUSION = True
    try:
        return opencv_darknet.split_forward(cfg, weights, image, split)
    finally:
        opencv_darknet.FUSION = False


back_forward = opencv_darknet.back_forward
