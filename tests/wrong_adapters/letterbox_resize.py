"""Wrong on purpose: the network input letterboxed (aspect kept, grey 0.5 borders, as later Darknet versions do)
instead of Darknet's stretching resize_image (spec D-4.1)."""

import numpy as np

from cfc_ref.detector.image import network_input as _network_input

PROFILES = ("detector.image",)


def network_input(image, width, height):
    from cfc_ref.conformance.reference import network_input as checked

    checked(image, width, height)  # every check
    return _network_input(np.asarray(image), width, height, method="letterbox")
