#!/usr/bin/env python3
"""Run the conformance vectors against peer implementations and write docs/conformance-matrix.md (spec C-2.9).

Each peer is an adapter under tools/peers/ wrapping one published library as it is. Every vector a peer does not
reproduce must be explained here by a named spec clause (``EXPLAINED``); an unexplained disagreement is printed as
such and makes the tool exit 1, so the published matrix never hides a finding.

    python tools/conformance_matrix.py                    # print the matrix
    python tools/conformance_matrix.py -o docs/conformance-matrix.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import platform
import re
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

from cfc_ref import SPEC_VERSION, __version__  # noqa: E402
from cfc_ref.conformance.protocol import declared_profiles  # noqa: E402
from cfc_ref.conformance.vectors import check_vector, profile_vectors  # noqa: E402

GOLDEN = ROOT / "golden"
PEERS = ("pylibde265", "libde265_dec265", "hm", "ffmpeg_pyav", "bjontegaard_bd", "mean_average_precision_pkg",
         "opencv_darknet", "opencv_darknet_fused")
UNSUPPORTED = "NotImplementedError"

# peer → [(vector id pattern, clause, explanation)]: the first matching rule explains a disagreement.
EXPLAINED: dict[str, list[tuple[str, str, str]]] = {
    "ffmpeg_pyav": [
        (r".*_ll$", "H-4.3", "FFmpeg mis-decodes lossless streams that enable transquant bypass with the RExt tools; "
                             "the package refuses FFmpeg for them"),
    ],
    "bjontegaard_bd": [
        (r"bd_monotonic_.*", "M-5.8", "the package has no monotonic constrained cubic (its methods are cubic, pchip "
                                      "and akima): it refuses the method name"),
        (r"bd_(metric_)?reject_.*", "M-5.3, M-5.5", "the package computes (or warns and returns) a number for curves "
                                                     "the spec refuses: fewer than 4 points, non-monotonic or "
                                                     "repeated values, no overlap, a rate of 0"),
    ],
    "mean_average_precision_pkg": [
        (r"ap_difficult_hit_ignored", "M-1.2, M-2.1", "a detection of a difficult object counts as a false positive "
                                                     "(all-point AP 1/2, as with that rule alone), and the 11-point "
                                                     "interpolation takes precision 1 at recall 0 (VOC07 6/11)"),
        (r"ap_car_dog", "M-1.2, M-2.3", "the difficult rule above, and a class without ground truth ('cat') gets AP 0 "
                                        "and counts in the mean instead of being left out"),
        (r"ap_score_tie_input_order", "M-1.2", "detections of equal score are not kept in input order"),
        (r"ap_reject_unknown_class", "M-2.3", "classes are integer ids: a detection of a class outside the list "
                                              "cannot be expressed (the adapter fails with KeyError)"),
        (r"ap_reject_.*", "M-2.3", "no refusal: the package returns a number"),
        (r"ap_thresholds_as_the_devkit", "C-2.6", "the package computes AP in float32: it counts the same 8 of 11 "
                                                  "recall thresholds, but 8/11 in float32 is 2e-8 from the binary64 "
                                                  "value, beyond C-2.6's 1e-9"),
        (r"ap_all_point_envelope", "C-2.6", "float32 again: its 11-point AP 37/44 is 2.7e-8 from the binary64 value "
                                            "(the envelope itself is applied)"),
    ],
    "opencv_darknet": [
        (r"net_(\w+_)?back_.*|net_reject_missing_passthrough|net_(reject_)?weights_.*", "D-5.1",
         "not supported: OpenCV's dnn cannot start a network at an inner layer, so it has no back end (the weights "
         "version vectors are back ends)"),
        (r"net_smallvar_front_.*", "D-2.1", "OpenCV's batch norm adds Darknet's ε to the variance, "
                                            "(x − mean)/sqrt(var + 1e-6), not to the standard deviation: with "
                                            "variances down to 1e-4 that moves max_7 by 0.027, exactly what the wrong "
                                            "adapter bn_epsilon_in_variance gives"),
        (r"net_reject_(short|long)_weights", "D-3.2", "a weights file of the wrong length is accepted (OpenCV reads "
                                                      "what the layers need and ignores the rest or reads short)"),
        (r"net_pools(_stride)?_front_.*", "D-1.5", "OpenCV's Darknet importer does not apply Darknet's cfg defaults: a "
                                         "[convolutional] section without size= is refused (kernel_size > 0)"),
    ],
}
EXPLAINED["opencv_darknet_fused"] = EXPLAINED["opencv_darknet"]


@dataclass
class PeerResult:
    name: str
    version: str
    summary: str
    profiles: tuple[str, ...]
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)  # profile → (vectors, reproduced)
    disagreements: list[tuple[str, str, str, str, str]] = field(default_factory=list)  # id, section, clause, why, got

    @property
    def unexplained(self) -> list[tuple[str, str, str, str, str]]:
        return [d for d in self.disagreements if d[2] == "UNEXPLAINED"]


def explain(peer: str, vector_id: str) -> tuple[str, str]:
    for pattern, clause, why in EXPLAINED.get(peer, []):
        if re.fullmatch(pattern, vector_id):
            return clause, why
    return "UNEXPLAINED", "no clause explains this disagreement yet"


def evaluate(peer: str) -> PeerResult:
    module = importlib.import_module(f"peers.{peer}")
    profiles = declared_profiles(module) if getattr(module, "PROFILES", ()) else ()
    result = PeerResult(peer, module.VERSION, (module.__doc__ or "").strip().splitlines()[0], profiles)
    for profile in profiles:
        vectors = profile_vectors(GOLDEN, profile)
        good = 0
        for vector in vectors:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    check_vector(module, vector)
                good += 1
            except Exception as err:  # the peer's crash is a disagreement too
                clause, why = explain(peer, vector.id)
                got = f"{type(err).__name__}: {err}".splitlines()[0][:160]
                result.disagreements.append((vector.id, vector.section, clause, why, got))
        result.counts[profile] = (len(vectors), good)
    return result


def markdown(results: list[PeerResult]) -> str:
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d")
    lines = [
        "# Conformance matrix of peer implementations",
        "",
        f"Made by `tools/conformance_matrix.py` on {now}: cfc-ref {__version__}, spec version {SPEC_VERSION}, "
        f"Python {platform.python_version()}, {platform.machine()} {platform.system()}. Each peer is an adapter in "
        "`tools/peers/` wrapping the published library as it is; the vectors are those of `golden/` (spec "
        "C-2.1). Every disagreement is explained by the clause it breaks; the tool exits 1 on any it cannot "
        "explain.",
        "",
        "| peer | version | profile | vectors | reproduced | disagree |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        if not r.profiles:
            lines.append(f"| {r.name} | {r.version} | — | — | — | not installed here |")
        for profile, (total, good) in r.counts.items():
            lines.append(f"| {r.name} | {r.version} | {profile} | {total} | {good} | {total - good} |")
    lines += ["", "## Disagreements, by peer", ""]
    for r in results:
        if not r.disagreements:
            continue
        lines += [f"### {r.name} — {r.summary}", "", "| vector | clause | why | what the peer did |",
                  "|---|---|---|---|"]
        for vid, _section, clause, why, got in r.disagreements:
            lines.append(f"| `{vid}` | {clause} | {why} | {got.replace('|', '/')} |")
        lines.append("")
    lines += ["## Not in the matrix", "",
              "- torchmetrics' `MeanAveragePrecision` follows COCO (101 recall points, `iscrowd` rather than VOC's "
              "difficult flag, IoU ≥ threshold); it has no setting for the VOC rules of M-1 and M-2, so it is not a "
              "peer for `metrics.ap`.",
              "- OpenCV with its default layer fusion (batch norm and leaky ReLU fused into the convolution) agrees "
              "with fusion off on these vectors; garbage from fused leaky layers, reported with another build, "
              "was not reproduced with the version above.",
              "- No peer answers `detector.region` (OpenCV's region layer emits its own table, not detections after "
              "Darknet's NMS) or a back end of a split (`detector.network`'s `back_forward`).", ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", help="write the Markdown here (default: print it)")
    parser.add_argument("peers", nargs="*", help=f"any of {', '.join(PEERS)} (default: all)")
    args = parser.parse_args()
    unknown = set(args.peers) - set(PEERS)
    if unknown:
        parser.error(f"unknown peer(s): {', '.join(sorted(unknown))}")
    results = [evaluate(p) for p in args.peers or PEERS]
    text = markdown(results)
    if args.output:
        Path(args.output).write_text(text)
    else:
        print(text)
    unexplained = [(r.name, d[0]) for r in results for d in r.unexplained]
    for name, vid in unexplained:
        print(f"UNEXPLAINED: {name} disagrees on {vid}", file=sys.stderr)
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
