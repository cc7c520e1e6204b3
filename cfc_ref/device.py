"""Where the networks run (spec E-8.4): one check for every command that takes a device name."""

from __future__ import annotations

import re

from cfc_ref.errors import CfcError


def check_device(name: object, where: str = "device", allow_auto: bool = False) -> str:
    """``cpu``, ``cuda`` or ``cuda:N`` (and ``auto`` where allowed) naming a device that is here, or a CfcError."""
    import torch

    choices = "cpu, cuda or cuda:N" + (" or auto" if allow_auto else "")
    if not isinstance(name, str) or not re.fullmatch(r"cpu|cuda(:\d{1,3})?" + ("|auto" if allow_auto else ""), name):
        raise CfcError(f"{where} must be {choices}, got {name!r}")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise CfcError(f"{where} {name!r}: no CUDA device here (device 'cpu' runs anywhere)")
        index = int(name.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise CfcError(f"{where} {name!r}: this machine has {torch.cuda.device_count()} CUDA devices")
    return name
