#!/usr/bin/env python3
"""Write golden/metrics/vectors.json: VOC AP cases derived by hand, BD values from a peer package (spec C-1.2).

Nothing here imports cfc_ref. The AP cases are small enough to work out on paper; each expected value is written as
the fraction derived in the vector's comment. BD-KBPI-mAP and BD-mAP values come from the ``bjontegaard`` package
(its ``bd_rate`` and ``bd_psnr``, the same Bjøntegaard integrals, spec M-5), an implementation independent of ours.

    python tools/make_golden_metrics.py                 # refuses if the manifest exists
    python tools/make_golden_metrics.py --regenerate    # overwrite; say why in the commit message (spec C-1.2)
    python tools/make_golden_metrics.py --extend        # add the vectors the tool has gained; pinned ones stay as
                                                        # they are (BD values move in the 13th digit with numpy)
"""

from __future__ import annotations

import argparse
import json
import sys
from fractions import Fraction as F
from pathlib import Path

SCHEMA = "cfc-ref-golden/1"
OUT = Path(__file__).resolve().parent.parent / "golden" / "metrics" / "vectors.json"


def gt(image: str, cls: str, box: list[float], difficult: bool = False) -> dict:
    return {"image": image, "class": cls, "box": box, "difficult": difficult}


def det(image: str, cls: str, score: float, box: list[float]) -> dict:
    return {"image": image, "class": cls, "score": score, "box": box}


def expected(voc07: dict[str, F | None], every: dict[str, F | None]) -> dict:
    """Per-class AP for both methods and their means over classes with ground truth (M-2.3)."""
    def one(aps: dict[str, F | None]) -> dict:
        defined = [a for a in aps.values() if a is not None]
        return {"ap": {c: None if a is None else float(a) for c, a in aps.items()},
                "map": float(sum(defined) / len(defined))}
    return {"voc07": one(voc07), "all": one(every)}


def ap_vectors() -> list[dict]:
    vectors = [{
        "id": "ap_car_dog", "section": "M-2.1", "flags": ["difficult", "duplicate", "no-gt-image", "pixel-inclusive"],
        "comment": "car: npos 3 (the difficult box in B does not count). Detections by score: 0.9 A→A1 TP, 0.8 A→A1 "
                   "again FP (duplicate), 0.7 B→difficult box ignored, 0.6 B→B1 TP, 0.5 C (no ground truth) FP, "
                   "0.4 A→A2 TP. recall 1/3,1/3,2/3,2/3,1; precision 1,1/2,2/3,1/2,3/5. VOC07: (4·1 + 3·2/3 + "
                   "4·3/5)/11 = 8.4/11. All-point: 1/3·1 + 1/3·2/3 + 1/3·3/5 = 34/45. dog: ground truth (0,0,1,1) "
                   "is 2×2 pixels inclusive; the detection (0,0,2,1) overlaps 4/6 > 0.5 inclusive (TP, AP 1) but "
                   "1/2 = 0.5 without the +1 (FP, AP 0). mAP = mean of car and dog; 'cat' has no ground truth and "
                   "is left out (None).",
        "classes": ["car", "dog", "cat"],
        "ground_truth": [gt("A", "car", [10, 10, 50, 50]), gt("A", "car", [100, 100, 140, 160]),
                         gt("B", "car", [20, 20, 80, 60]), gt("B", "car", [200, 200, 260, 240], True),
                         gt("D", "dog", [0, 0, 1, 1])],
        "detections": [det("A", "car", 0.9, [11, 11, 50, 51]), det("A", "car", 0.8, [10, 12, 49, 50]),
                       det("B", "car", 0.7, [201, 199, 260, 241]), det("B", "car", 0.6, [22, 20, 80, 62]),
                       det("C", "car", 0.5, [0, 0, 30, 30]), det("A", "car", 0.4, [100, 102, 141, 160]),
                       det("D", "dog", 0.3, [0, 0, 2, 1])],
        "expected": expected({"car": F(84, 110), "dog": F(1), "cat": None},
                             {"car": F(34, 45), "dog": F(1), "cat": None}),
    }, {
        "id": "ap_iou_exactly_half", "section": "M-1.1", "flags": ["iou-threshold", "pixel-inclusive"],
        "comment": "ground truth (0,0,3,0) is 4×1 pixels. 0.9: (0,0,1,0), 2 pixels inside, IoU 2/4 = 0.5 exactly — "
                   "not > 0.5, a false positive. 0.8: (0,0,2,0), IoU 3/4, true positive. recall 0,1; precision "
                   "0,1/2: AP 1/2 both ways (with IoU >= 0.5 it would be 1).",
        "classes": ["car"], "ground_truth": [gt("A", "car", [0, 0, 3, 0])],
        "detections": [det("A", "car", 0.9, [0, 0, 1, 0]), det("A", "car", 0.8, [0, 0, 2, 0])],
        "expected": expected({"car": F(1, 2)}, {"car": F(1, 2)}),
    }, {
        "id": "ap_score_tie_input_order", "section": "M-1.2", "flags": ["score-tie"],
        "comment": "two detections of score 0.5; the stable sort keeps input order: first B (no ground truth, FP), "
                   "then A (TP). recall 0,1; precision 0,1/2: AP 1/2 (TP first would give 1).",
        "classes": ["car"], "ground_truth": [gt("A", "car", [0, 0, 9, 9])],
        "detections": [det("B", "car", 0.5, [0, 0, 9, 9]), det("A", "car", 0.5, [0, 0, 9, 9])],
        "expected": expected({"car": F(1, 2)}, {"car": F(1, 2)}),
    }, {
        "id": "ap_difficult_hit_ignored", "section": "M-1.2", "flags": ["difficult"],
        "comment": "0.9 hits only the difficult box: neither TP nor FP. 0.8 hits the other box: TP. recall 1, "
                   "precision 1: AP 1 (a difficult hit counted as FP would give 1/2).",
        "classes": ["car"],
        "ground_truth": [gt("A", "car", [0, 0, 9, 9]), gt("A", "car", [20, 20, 29, 29], True)],
        "detections": [det("A", "car", 0.9, [20, 20, 29, 29]), det("A", "car", 0.8, [0, 0, 9, 9])],
        "expected": expected({"car": F(1)}, {"car": F(1)}),
    }, {
        "id": "ap_no_detections", "section": "M-2.1", "flags": ["no-detections"],
        "comment": "ground truth and no detection: recall never reaches any threshold above 0 and no precision "
                   "exists; AP 0 both ways.",
        "classes": ["car", "dog"], "ground_truth": [gt("A", "car", [0, 0, 9, 9]), gt("A", "dog", [0, 0, 9, 9])],
        "detections": [det("A", "dog", 0.7, [0, 0, 9, 9])],
        "expected": expected({"car": F(0), "dog": F(1)}, {"car": F(0), "dog": F(1)}),
    }]
    vectors.append({
        "id": "ap_thresholds_as_the_devkit", "section": "M-2.1", "flags": ["thresholds"],
        "comment": "npos 5; detections TP, TP, TP, FP, FP, TP: recall 1/5, 2/5, 3/5, 3/5, 3/5, 4/5, precision 1, 1, 1, "
                   "3/4, 3/5, 2/3. The thresholds are the devkit's np.arange(0, 1.1, 0.1): t_6 = 0.6000000000000001 "
                   "lies above the binary64 3/5 (0.59999999999999998), so t_6 and t_7 take 2/3 and t_8 = 0.8 "
                   "(equal to the binary64 4/5) takes 2/3: VOC07 (6·1 + 3·2/3)/11 = 8/11. Exact decimal thresholds "
                   "would give 25/33. All-point: 3·1/5 + 1/5·2/3 = 11/15.",
        "classes": ["car"],
        "ground_truth": [gt("A", "car", [100 * k, 0, 100 * k + 9, 9]) for k in range(5)],
        "detections": [det("A", "car", 0.9, [0, 0, 9, 9]), det("A", "car", 0.8, [100, 0, 109, 9]),
                       det("A", "car", 0.7, [200, 0, 209, 9]), det("A", "car", 0.6, [50, 50, 59, 59]),
                       det("A", "car", 0.5, [60, 60, 69, 69]), det("A", "car", 0.4, [300, 0, 309, 9])],
        "expected": expected({"car": F(8, 11)}, {"car": F(11, 15)}),
    })
    for v in vectors:
        v["result"] = "valid"
    invalid = [
        ("ap_reject_unknown_class", "M-2.3", "a detection of a class not in the list",
         ["car"], [gt("A", "car", [0, 0, 9, 9])], [det("A", "bus", 0.5, [0, 0, 9, 9])]),
        ("ap_reject_undefined_map", "M-2.3", "no class has non-difficult ground truth: mAP is undefined",
         ["car"], [gt("A", "car", [0, 0, 9, 9], True)], [det("A", "car", 0.5, [0, 0, 9, 9])]),
        ("ap_reject_inverted_box", "M-2.3", "a detection box with xmax < xmin",
         ["car"], [gt("A", "car", [0, 0, 9, 9])], [det("A", "car", 0.5, [5, 0, 1, 1])]),
        ("ap_reject_inverted_ground_truth", "M-2.3", "a ground-truth box with xmax < xmin",
         ["car"], [gt("A", "car", [9, 0, 0, 9])], [det("A", "car", 0.5, [0, 0, 9, 9])]),
        ("ap_reject_ground_truth_of_unknown_class", "M-2.3", "ground truth of a class not in the list",
         ["car"], [gt("A", "car", [0, 0, 9, 9]), gt("A", "bus", [0, 0, 9, 9])], [det("A", "car", 0.5, [0, 0, 9, 9])]),
    ]
    for vid, section, comment, classes, truths, dets in invalid:
        vectors.append({"id": vid, "section": section, "flags": ["invalid"], "result": "invalid",
                        "error": "MetricsError", "comment": comment, "classes": classes, "ground_truth": truths,
                        "detections": dets})
    for v in vectors:
        v["operation"] = "voc_eval"
    return vectors


ANCHOR = [[95.0, 0.6], [160.0, 0.68], [260.0, 0.72], [420.0, 0.745]]
CURVES = {"max17_default": [[30.0, 0.55], [55.0, 0.66], [110.0, 0.71], [240.0, 0.744]],
          "max11_default": [[120.0, 0.62], [190.0, 0.69], [330.0, 0.73], [600.0, 0.747]]}


def edge_ap_vectors() -> list[dict]:
    """Issue 30: rules the first vectors probed in one shape only."""
    return [{
        "id": "ap_all_point_envelope", "section": "M-2.2", "flags": ["envelope"], "result": "valid",
        "operation": "voc_eval",
        "comment": "npos 3; detections TP, FP, TP, TP: recall 1/3, 1/3, 2/3, 1, precision 1, 1/2, 2/3, 3/4. All-point "
                   "with the precision envelope (non-increasing from the right): 1/3·1 + 1/3·3/4 + 1/3·3/4 = 5/6; "
                   "without it 1/3·1 + 1/3·2/3 + 1/3·3/4 = 29/36. VOC07: 4 thresholds (0 … 0.30000000000000004) "
                   "take 1, the other 7 take 3/4: 37/44.",
        "classes": ["car"],
        "ground_truth": [gt("A", "car", [0, 0, 9, 9]), gt("A", "car", [20, 0, 29, 9]), gt("A", "car", [40, 0, 49, 9])],
        "detections": [det("A", "car", 0.9, [0, 0, 9, 9]), det("A", "car", 0.8, [100, 100, 109, 109]),
                       det("A", "car", 0.7, [20, 0, 29, 9]), det("A", "car", 0.6, [40, 0, 49, 9])],
        "expected": expected({"car": F(37, 44)}, {"car": F(5, 6)}),
    }]


NON_MONOTONIC = [[80.0, 0.62], [150.0, 0.70], [250.0, 0.69], [400.0, 0.75]]  # mAP falls once as the rate rises


def edge_bd_vectors() -> list[dict]:
    """Issue 30: BD-mAP of a curve whose mAP does not increase with the rate (M-5.5 allows it)."""
    import bjontegaard

    vectors = []
    for method in ("cubic", "pchip"):
        value = bjontegaard.bd_psnr([p[0] for p in ANCHOR], [p[1] for p in ANCHOR], [p[0] for p in NON_MONOTONIC],
                                    [p[1] for p in NON_MONOTONIC], method=method, require_matching_points=False,
                                    min_overlap=0)
        vectors.append({"id": f"bd_metric_non_monotonic_{method}", "section": "M-5.5",
                        "flags": [method, "bd-metric", "non-monotonic"], "result": "valid", "operation": "bd_metric",
                        "comment": "the test curve's mAP falls from 0.70 to 0.69 between 150 and 250 KBPI: BD-mAP "
                                   "need not increase with the rate, so it is computed, not refused",
                        "method": method, "anchor": ANCHOR, "test": NON_MONOTONIC, "expected": float(value)})
    return vectors


def bd_vectors() -> list[dict]:
    import bjontegaard  # the peer (pip install bjontegaard); only this tool needs it

    def cols(curve: list[list[float]]) -> tuple[list[float], list[float]]:
        return [p[0] for p in curve], [p[1] for p in curve]

    vectors = []
    for name, test in CURVES.items():
        for method in ("cubic", "pchip"):
            rate = bjontegaard.bd_rate(*cols(ANCHOR), *cols(test), method=method, require_matching_points=False,
                                       min_overlap=0)
            psnr = bjontegaard.bd_psnr(*cols(ANCHOR), *cols(test), method=method, require_matching_points=False,
                                       min_overlap=0)
            common = {"result": "valid", "comment": f"{name} against the cloud-only anchor", "method": method,
                      "anchor": ANCHOR, "test": test}
            vectors.append({"id": f"bd_rate_{name}_{method}", "section": "M-5.2", "flags": [method],
                            "operation": "bd_rate", **common, "expected": float(rate)})
            vectors.append({"id": f"bd_metric_{name}_{method}", "section": "M-5.5", "flags": [method, "bd-metric"],
                            "operation": "bd_metric", **common, "expected": float(psnr)})
    refusals = [
        ("bd_rate", "bd_reject_3_points", "M-5.3", "fewer than 4 points", ANCHOR[:3]),
        ("bd_rate", "bd_reject_non_monotonic", "M-5.3", "mAP falls as the rate rises",
         [[30, 0.55], [55, 0.7], [110, 0.66], [240, 0.74]]),
        ("bd_rate", "bd_reject_repeated_map", "M-5.3", "two points with the same mAP",
         [[30, 0.55], [55, 0.66], [110, 0.66], [240, 0.74]]),
        ("bd_rate", "bd_reject_no_overlap", "M-5.3", "mAP ranges do not overlap",
         [[1, 0.1], [2, 0.2], [3, 0.3], [4, 0.4]]),
        ("bd_rate", "bd_reject_zero_rate", "M-5.3", "a rate of 0", [[0, 0.55], [55, 0.66], [110, 0.71], [240, 0.744]]),
        ("bd_metric", "bd_metric_reject_repeated_rate", "M-5.5", "two points with the same KBPI",
         [[30, 0.55], [55, 0.66], [55, 0.7], [240, 0.744]]),
        ("bd_metric", "bd_metric_reject_3_points", "M-5.5", "fewer than 4 points", ANCHOR[:3]),
        ("bd_rate", "bd_reject_repeated_rate", "M-5.3", "two points with the same rate (mAP still rises)",
         [[30, 0.55], [55, 0.66], [55, 0.7], [240, 0.744]]),
        ("bd_rate", "bd_reject_single_point_overlap", "M-5.3", "the mAP ranges meet in one point (0.6)",
         [[10, 0.4], [20, 0.5], [30, 0.55], [40, 0.6]]),
        ("bd_rate", "bd_reject_map_above_one", "M-5.3", "an mAP of 7", [[30, 0.55], [55, 0.66], [110, 0.71],
                                                                       [240, 7.0]]),
        ("bd_metric", "bd_metric_reject_single_point_overlap", "M-5.5", "the KBPI ranges meet in one point (420)",
         [[420, 0.5], [500, 0.55], [600, 0.58], [900, 0.6]]),
        ("bd_metric", "bd_metric_reject_map_below_zero", "M-5.5", "an mAP of -0.5",
         [[30, -0.5], [55, 0.66], [110, 0.71], [240, 0.744]]),
    ]
    for operation, vid, section, comment, test in refusals:
        vectors.append({"id": vid, "section": section, "flags": ["invalid"], "operation": operation,
                        "result": "invalid", "error": "MetricsError", "comment": comment, "method": "cubic",
                        "anchor": ANCHOR, "test": test})
    return vectors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--regenerate", action="store_true", help="overwrite the existing manifest")
    mode.add_argument("--extend", action="store_true", help="keep every pinned vector, add the new ones")
    args = parser.parse_args()
    if OUT.exists() and not (args.regenerate or args.extend):
        sys.exit(f"{OUT} exists; pass --regenerate or --extend (and say why in the commit message)")
    import bjontegaard

    version = getattr(bjontegaard, "__version__", None)
    if version is None:
        from importlib.metadata import version as dist_version
        version = dist_version("bjontegaard")
    body = {"schema": SCHEMA, "version": 1, "component": "metrics", "spec": "spec/metrics.md",
            "generator": f"tools/make_golden_metrics.py: AP derived by hand (fractions in the tool and the comments), "
                         f"BD from the bjontegaard package {version} (bd_rate, bd_psnr), independent of cfc_ref/",
            "vectors": ap_vectors() + bd_vectors() + edge_ap_vectors() + edge_bd_vectors()}
    if args.extend:
        pinned = json.loads(OUT.read_text())
        kept = {v["id"]: v for v in pinned["vectors"]}
        fresh = [v for v in body["vectors"] if v["id"] not in kept]
        body = dict(pinned, vectors=pinned["vectors"] + fresh)
        body = {k: body[k] for k in ("schema", "version", "component", "spec", "generator") if k in body} | {
            "count": len(body["vectors"]), "vectors": body["vectors"]}
        print(f"keeping {len(kept)} pinned vectors, adding {len(fresh)}: {', '.join(v['id'] for v in fresh)}")
    ids = [v["id"] for v in body["vectors"]]
    assert len(ids) == len(set(ids)), "duplicate vector ids"
    body = {k: v for k, v in body.items() if k != "vectors"} | {"count": len(ids), "vectors": body["vectors"]}
    OUT.write_text(json.dumps(body, indent=1, ensure_ascii=False) + "\n")
    print(f"{OUT}: {len(ids)} vectors")


if __name__ == "__main__":
    main()
