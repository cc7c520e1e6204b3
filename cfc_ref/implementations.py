"""Which implementation of each stage runs (spec E-12): the readable reference, or the fast twin beside it that a
test proves equal. A run uses ``fast`` unless its config says ``implementation: reference`` (``cfc-ref run
--reference``); its results store, ``results.json`` and report name what ran (E-12.2).

| stage | clauses | reference | fast (what a run uses by default) |
|---|---|---|---|
| Q-layer | Q-3, Q-6.1 | ``cfc_ref.qlayer.quantize`` | ``cfc_ref.fast.qlayer_numpy.Quantizer`` (reused buffers) |
| tiling | T-2..T-6 | ``cfc_ref.tiling.tile`` / ``untile`` | ``cfc_ref.fast.tiling.tile_fast`` / ``untile_fast`` |
| region + NMS | D-4.2, D-8.3 | ``cfc_ref.detector.region`` | ``cfc_ref.fast.region`` (one IoU matrix per image) |
| VOC matching | M-1, M-2, M-7.1 | ``cfc_ref.metrics.voc.evaluate`` | ``cfc_ref.fast.voc.evaluate`` (all images) |
| bootstrap | M-6.1, M-7.1 | ``cfc_ref.metrics.bootstrap`` | ``cfc_ref.fast.voc.map_bootstrap`` (from the matches) |

The network itself is the Darknet-exact ``DarknetModel`` in both (its D-8.3 speed-ups are bit-exact and inside it);
its folded, non-exact copy ``FastDarknet`` is the separate config key ``inference: fast`` (D-8.2), which changes
numbers. This module names and checks; the call sites (``pipeline``, ``detector.detect``, ``experiment.aggregate``)
take the choice as an argument, so the code that runs is visible where it runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from cfc_ref.errors import CfcError

Implementation = Literal["fast", "reference"]
IMPLEMENTATIONS: tuple[Implementation, ...] = ("fast", "reference")
DEFAULT: Implementation = "fast"


@dataclass(frozen=True)
class Stage:
    name: str
    clauses: str
    reference: str
    fast: str
    proof: str  # the test (path::name) that proves the fast twin equal to the reference

    def runs(self, implementation: Implementation) -> str:
        return self.reference if implementation == "reference" else self.fast


STAGES: dict[str, Stage] = {
    "qlayer": Stage("Q-layer", "Q-3, Q-6.1", "cfc_ref.qlayer.quantize", "cfc_ref.fast.qlayer_numpy.Quantizer",
                    "tests/test_qlayer.py::test_fast_quantizer_equals_reference"),
    "tiling": Stage("tiling and untiling", "T-2..T-5, T-6.1", "cfc_ref.tiling.tile, cfc_ref.tiling.untile",
                    "cfc_ref.fast.tiling.tile_fast, cfc_ref.fast.tiling.untile_fast",
                    "tests/test_tiling.py::test_fast_paths_equal_reference"),
    "region": Stage("region decoding and NMS", "D-4.2, D-8.3", "cfc_ref.detector.region.surviving",
                    "cfc_ref.fast.region.detection_arrays",
                    "tests/test_fast_eval.py::test_fast_nms_and_detections_equal_the_reference"),
    "voc": Stage("VOC matching and AP", "M-1, M-2, M-7.1", "cfc_ref.metrics.voc.evaluate", "cfc_ref.fast.voc.evaluate",
                 "tests/test_fast_eval.py::test_fast_matching_and_ap_equal_the_reference"),
    "bootstrap": Stage("mAP bootstrap", "M-6.1, M-7.1", "cfc_ref.metrics.bootstrap.map_bootstrap",
                       "cfc_ref.fast.voc.map_bootstrap",
                       "tests/test_fast_eval.py::test_fast_bootstrap_is_bit_equal_to_the_reference_and_the_resample_"
                       "written_out"),
}


def check(implementation: object, where: str = "implementation") -> Implementation:
    """One of ``fast`` or ``reference``, or a CfcError naming ``where``."""
    if implementation not in IMPLEMENTATIONS:
        raise CfcError(f"{where} must be one of {', '.join(IMPLEMENTATIONS)}, got {implementation!r}")
    return implementation  # type: ignore[return-value]


def record(implementation: Implementation) -> dict[str, str]:
    """E-12.2: what ran for each stage (stage → the function or class), as a run records it."""
    return {key: stage.runs(implementation) for key, stage in STAGES.items()}
