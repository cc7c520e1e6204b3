"""The conformance suite catches wrong implementations, in every profile (spec C-2.3), and loads adapters as
documented (C-2.1)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from cfc_ref.conformance.adapters import load_adapter
from cfc_ref.conformance.protocol import AdapterError, declared_profiles
from cfc_ref.conformance.vectors import failing_vectors

from cfc_testing import GOLDEN, ROOT

spec = pytest.mark.spec


@spec("C-2.3")
def test_reference_passes_every_vector():
    reference = load_adapter("cfc_ref.conformance.reference")
    assert {"wire", "metrics.ap", "metrics.bd", "detector.network", "detector.region"} <= set(
        declared_profiles(reference))
    assert failing_vectors(reference, GOLDEN, declared_profiles(reference)) == {}


def _caught(adapter: str) -> dict[str, str]:
    impl = load_adapter(f"wrong_adapters.{adapter}")
    return failing_vectors(impl, GOLDEN, declared_profiles(impl))


@spec("C-2.3", "M-1.1")
def test_iou_at_least_half_is_caught():
    failures = _caught("voc_iou_at_least")
    assert "ap_iou_exactly_half" in failures and "ap_car_dog" not in failures


@spec("C-2.3", "M-1.2")
def test_difficult_as_false_positive_is_caught():
    assert {"ap_car_dog", "ap_difficult_hit_ignored"} <= _caught("voc_difficult_as_fp").keys()


@spec("C-2.3", "M-5.1")
def test_bd_on_the_linear_rate_is_caught():
    failures = _caught("bd_linear_rate")
    assert {f"bd_{kind}_{curve}_{method}" for kind in ("rate", "metric") for curve in ("max17_default",
            "max11_default") for method in ("cubic", "pchip")} <= failures.keys()


@spec("C-2.3", "M-5.8")
def test_the_monotonic_method_without_its_constraints_is_caught():
    """Every vector where a constraint is active at the optimum tells it apart; where none is (the fit is the plain
    cubic) BD-mAP agrees, as M-5.8 says it must."""
    import json

    from cfc_testing import GOLDEN

    failures = _caught("bd_monotonic_unconstrained")
    vectors = json.loads((GOLDEN / "metrics" / "bd_monotonic.json").read_text())["vectors"]
    active = {v["id"] for v in vectors if v["result"] == "valid" and v["operation"] == "bd_metric"
              and "constraint-active" in v["flags"]}
    assert len(active) > 5 and active <= failures.keys()
    assert not {v["id"] for v in vectors if "constraint-inactive" in v["flags"] and v["operation"] == "bd_metric"
                and v["result"] == "valid"} & failures.keys()


@spec("C-2.3", "D-2.4")
def test_textbook_reorg_is_caught():
    failures = _caught("textbook_reorg")
    assert {"net_front_reorg_10", "net_back_max_5", "net_back_conv_9"} <= failures.keys()
    assert "net_back_reorg_10" not in failures  # reorg ran on the front end: the back end never sees it


@spec("C-2.3", "D-5.1", "D-5.2")
def test_dropped_passthrough_is_caught():
    failures = _caught("dropped_passthrough")
    assert {"net_front_max_5", "net_front_conv_9"} <= failures.keys() and "net_front_conv_4" not in failures


@spec("C-2.3", "H-4.3")
def test_lossless_through_ffmpeg_is_caught():
    failures = _caught("ffmpeg_lossless")
    assert len(failures) == 14 and all(vid.endswith("_ll") for vid in failures)


@spec("C-2.3", "Q-3.2")
def test_ties_to_even_is_caught():
    failures = failing_vectors(load_adapter("wrong_adapters.ties_to_even"), GOLDEN)
    assert {"q_ties_8bit", "q_ties_1bit", "q_ties_2bit"} <= failures.keys()


@spec("C-2.3", "T-2.1")
def test_transposed_tile_order_is_caught():
    failures = failing_vectors(load_adapter("wrong_adapters.transposed_tiles"), GOLDEN)
    assert "t_tile_512x13x13_a8" in failures and "t_tile_256x26x26_a8" in failures
    assert "t_tile_1x1x1_a8" not in failures  # one channel has one possible place: no false alarm


@spec("C-2.3", "Q-2.1", "O-1.3")
def test_big_endian_side_info_is_caught():
    failures = failing_vectors(load_adapter("wrong_adapters.big_endian_side_info"), GOLDEN)
    assert "q_leaky_8bit" in failures and "w_raw_8bit" in failures


@spec("C-2.3", "C-1.3")
def test_a_plain_value_error_for_every_rejection_is_caught():
    from cfc_ref.conformance.vectors import load_vectors

    failures = failing_vectors(load_adapter("wrong_adapters.plain_value_error"), GOLDEN)
    invalid = {v.id for c in ("qlayer", "tiling", "container") for v in load_vectors(GOLDEN, c)
               if v.fields["result"] == "invalid"}
    assert failures.keys() == invalid  # every rejection, and nothing else
    assert all("rejected with ValueError, the vector names" in reason for reason in failures.values())


@spec("C-1.3")
def test_an_adapter_may_name_the_category_by_attribute():
    from cfc_ref.conformance.vectors import error_category

    class Foreign(ValueError):
        category = "ContainerError"

    assert "ContainerError" in error_category(Foreign("from a C++ library"))
    assert error_category(ValueError("x")) >= {"ValueError", "Exception"}


@spec("C-2.1")
def test_incomplete_adapter_is_a_usage_error():
    with pytest.raises(AdapterError, match="dequantize, tile, untile, pack, parse"):
        load_adapter("wrong_adapters.incomplete")
    with pytest.raises(AdapterError, match="cannot import"):
        load_adapter("no_such_module_anywhere")


@spec("C-2.1")
def test_env_var_chooses_adapter(monkeypatch):
    monkeypatch.setenv("CFC_IMPL", "wrong_adapters.ties_to_even")
    assert load_adapter().__name__ == "wrong_adapters.ties_to_even"
    assert load_adapter("cfc_ref.conformance.reference").__name__ == "cfc_ref.conformance.reference"


def _run_suite(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "tests"))
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "--benchmark-disable",
                           str(ROOT / "tests" / "test_conformance.py"), *args],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)


@spec("C-2.1", "C-2.2")
def test_command_line_option_and_xfail_file(tmp_path):
    wrong = _run_suite("--cfc-impl=wrong_adapters.ties_to_even", "-k", "ties")
    ties = ["q_ties_8bit", "q_ties_1bit", "q_ties_2bit", "q_relu_ties", "q_ties_4bit", "q_ties_10bit", "q_ties_12bit",
            "q_ties_16bit", "q_relu_ties_12bit"]
    assert wrong.returncode == 1 and f"{len(ties)} failed" in wrong.stdout, wrong.stdout[-2000:]
    xfail = tmp_path / "known.txt"
    xfail.write_text("# our known deviation\n" + "\n".join(ties) + "  # all of them\n")
    tracked = _run_suite("--cfc-impl=wrong_adapters.ties_to_even", f"--cfc-xfail={xfail}", "-k", "ties")
    assert tracked.returncode == 0 and f"{len(ties)} xfailed" in tracked.stdout, tracked.stdout[-2000:]
    missing = _run_suite("--cfc-impl=wrong_adapters.incomplete", "-k", "ties")
    assert missing.returncode != 0 and "lacks" in (missing.stdout + missing.stderr)


# ------------------------------------------------------------------ faults a from-spec implementation found (issue 19)


@spec("C-2.3", "Q-3.2")
def test_floor_of_t_plus_half_is_caught():
    failures = _caught("floor_plus_half")
    assert "q_round_half_up_not_floor_plus_half" in failures and "q_leaky_8bit" not in failures


@spec("C-2.3", "M-2.1")
def test_exact_decimal_thresholds_are_caught():
    failures = _caught("voc_exact_decimal_thresholds")
    assert {f for f in failures if not f.startswith("ap_reject")} == {"ap_thresholds_as_the_devkit"}, failures


@spec("C-2.3", "D-2.2")
def test_spec_literal_pool_windows_are_caught():
    failures = _caught("spec_literal_pool")
    assert {"net_pools_front_max_0", "net_pools_front_max_1"} <= failures.keys()
    assert "net_front_max_5" not in failures  # 2×2 windows agree: only the 3×3 vectors tell


@spec("C-2.3", "D-1.5")
def test_a_maxpool_stride_defaulting_to_its_size_is_caught():
    failures = _caught("pool_stride_is_size")
    assert set(failures) == {"net_pools_front_max_2"}, failures


@spec("C-2.3", "D-4.2")
def test_clipping_before_nms_is_caught():
    failures = _caught("clipped_nms")
    assert "region_nms_unclipped" in failures, failures


# ------------------------------------------------------------------ the sixteen teeth holes of issue 30

HOLES = [  # (wrong adapter, clauses, vectors that must catch it, and nothing else may fail)
    ("ties_to_even_uint16", ("Q-3.2",), {"q_ties_10bit", "q_ties_12bit", "q_ties_16bit", "q_relu_ties_12bit"} | {
        f"q_operation_order_{order}_{n}bit" for order in ("binary32", "distributed", "reciprocal") for n in (12, 16)}),
    ("float64_not_rounded", ("Q-1.1",), {"q_float64_rounded_first", "q_float64_rounded_first_10bit",
                                         "q_float64_rounded_first_16bit"}),
    ("fused_dequantize", ("Q-4.1", "O-1.2"), {f"dq_no_fused_multiply_add_{n}bit" for n in (8, 10, 12, 16)}),
    ("untile_crops", ("T-5.2",), {"t_reject_larger_picture", "t_reject_taller_picture"}),
    ("container_no_channel_bound", ("W-2.1", "W-4.1"), {"w_reject_channels_65536", "w_pack_reject_channels_65536"}),
    ("container_infinite_side_info", ("W-4.1", "Q-2.3"), {"w_reject_side_pos_inf", "w_reject_side_neg_inf",
                                                          "w_reject_relu_inf"}),
    ("raw_uint16_unchecked", ("W-3.1",), {"w_reject_raw_sample_10bit", "w_reject_raw_sample_12bit",
                                          "w_pack_reject_raw_sample_10bit"}),
    ("writer_unchecked_side_info", ("W-4.3",), {"w_pack_reject_side_inf", "w_pack_reject_side_order",
                                                "w_pack_reject_relu_negative"}),
    ("writer_unchecked_raw_samples", ("W-4.3",), {"w_pack_reject_raw_sample_4bit", "w_pack_reject_raw_sample_10bit"}),
    ("ap_without_envelope", ("M-2.2",), {"ap_all_point_envelope"}),
    ("bd_metric_refuses_non_monotonic", ("M-5.5",), {"bd_metric_non_monotonic_cubic", "bd_metric_non_monotonic_pchip",
                                                   # M-5.8's BD-mAP of curves that dip: caught by them too
                                                   "bd_monotonic_metric_ceiling", "bd_monotonic_metric_constant_fit",
                                                   "bd_monotonic_metric_dip",
                                                   "bd_monotonic_metric_embedded_retrained_12"}),
    ("bn_epsilon_in_variance", ("D-2.1",), {"net_smallvar_front_conv_9", "net_smallvar_back_conv_9"}),
    ("bn_torch_epsilon", ("D-2.1",), {"net_smallvar_front_conv_9", "net_smallvar_back_conv_9"}),
    ("pool_size_defaults_to_two", ("D-1.5",), {"net_pools_stride_front_max_0", "net_pools_stride_front_max_1"}),
    ("region_grid_swapped", ("D-2.5",), {"region_grid_4x6_500x333", "region_grid_4x6_320x480"}),
    ("nms_pixel_iou", ("D-4.2",), {"region_nms_box_iou_31x13"}),
    ("letterbox_resize", ("D-4.1",), {"img_37x23_to_16x16", "img_5x40_to_13x17", "img_300x7_to_32x32",
                                      "img_1x9_to_4x6", "img_6x10_to_1x5"}),
]


@pytest.mark.parametrize("adapter, clauses, expected", HOLES, ids=[h[0] for h in HOLES])
def test_each_fault_an_implementer_made_is_caught_by_its_vectors(adapter, clauses, expected):
    failures = _caught(adapter)
    assert set(failures) == expected, f"{adapter} ({', '.join(clauses)}): {sorted(failures)}"


test_each_fault_an_implementer_made_is_caught_by_its_vectors = spec(
    "C-2.3", "Q-3.2", "Q-1.1", "Q-4.1", "T-5.2", "W-2.1", "W-4.1", "W-3.1", "W-4.3", "M-2.2", "M-5.5", "D-2.1",
    "D-1.5", "D-2.5", "D-4.2", "D-4.1")(test_each_fault_an_implementer_made_is_caught_by_its_vectors)


@spec("C-2.3", "D-4.1")
def test_the_stretch_resize_is_observable_through_the_protocol():
    """D-4.1 was not testable at all: split_forward takes the image already at network size. The image-level probe
    (detector.image) is a profile of its own, in the detector group, and the reference declares it."""
    from cfc_ref.conformance.protocol import GROUPS, PROFILE_FUNCTIONS

    assert PROFILE_FUNCTIONS["detector.image"] == ("network_input",) and "detector.image" in GROUPS["detector"]
    assert "detector.image" in declared_profiles(load_adapter("cfc_ref.conformance.reference"))


@spec("W-2.2", "Q-1.2", "Q-4.1", "Q-4.2", "T-4.3", "T-5.2", "W-4.2", "W-4.3", "D-4.1")
@pytest.mark.parametrize("vector_id", [
    "w_names_case_sensitive", "w_reject_duplicate_name_bytes", "q_reject_float64_overflow", "q_float64_underflow",
    "dq_negative_zero_lo", "dq_relu_negative_zero_hi", "dq_uint16_samples_at_8bit", "dq_int32_samples_at_8bit",
    "dq_reject_int32_negative", "dq_reject_bool_samples", "t_reject_1x16884x1_a16", "t_reject_larger_picture",
    "w_reject_4_bytes", "w_side_negative_zero", "w_pack_reject_side_inf", "img_6x10_to_1x5", "img_reject_gray"])
def test_the_reference_follows_the_clauses_made_exact(vector_id):
    """Issue 30's readings, each pinned by a vector the reference (and the JavaScript example) reproduce."""
    import warnings

    from cfc_ref.conformance.protocol import PROFILE_FUNCTIONS
    from cfc_ref.conformance.vectors import check_vector, profile_vectors

    vector = next(v for p in PROFILE_FUNCTIONS for v in profile_vectors(GOLDEN, p) if v.id == vector_id)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a binary64 value beyond binary32 is refused without a RuntimeWarning
        check_vector(load_adapter("cfc_ref.conformance.reference"), vector)


@spec("C-2.3", "Q-3.1")
@pytest.mark.parametrize("order", ["distributed", "divide_last", "reciprocal", "binary32"])
def test_every_other_order_of_the_q_layer_operations_is_caught(order):
    """Issue 30: the four operation-order faults of Q-3.1 were caught by one to three vectors each; the exact ties
    of q_operation_order_* catch each at 8, 12 and 16 bits."""
    failures = _caught(f"order_{order}")
    assert {f"q_operation_order_{order}_{n}bit" for n in (8, 12, 16)} <= failures.keys() and len(failures) >= 6
    assert all(v.startswith(("q_operation_order_", "q_round_half_up", "q_division", "q_spread", "q_subnormal",
                             "q_wide")) for v in failures), sorted(failures)


FCM_FAULTS = {  # wrong qlayer.fcm adapter → (clause, vectors aimed at it: each bit-depth class where the rule reaches)
    "fcm_round_half_up": ("Q-7.2", {"fcm_floor_1bit", "fcm_floor_8bit", "fcm_floor_10bit", "fcm_floor_16bit"}),
    "fcm_scale_first": ("Q-7.2", {f"fcm_range_ends_{n}bit" for n in (1, 8, 10, 12, 16)}
                        | {f"fcm_level_boundaries_{n}bit" for n in (1, 8, 10, 12, 16)}),
    "fcm_binary32": ("Q-7.2", {f"fcm_boundary_pairs_{n}bit" for n in (8, 10, 12, 16)}
                     | {f"fcm_range_rounding_{n}bit" for n in (8, 10, 12, 16)}),
    "fcm_no_clamp": ("Q-7.2", {f"fcm_outside_{n}bit" for n in (1, 8, 10, 12, 16)}),
    "fcm_unrounded_range": ("Q-7.1", {f"fcm_range_rounding_{n}bit" for n in (1, 8, 10, 12, 16)}
                            | {"fcm_reject_range_rounds_equal", "fcm_reject_range_1e39"}),
    "fcm_clipped_at_the_bounds": ("Q-7.3", {"fcm_clip_count_8bit", "fcm_clip_count_12bit"}),
    "fcm_clipped_not_counted": ("Q-7.3", {"fcm_clip_count_8bit", "fcm_clip_count_12bit", "fcm_clip_absorbed_16bit"}),
    "fcm_negative_zero_sent": ("Q-7.1", {"fcm_negative_zero_lo_8bit", "fcm_underflow_lo_12bit"}),
    "fcm_float64_unrounded": ("Q-1.1", {f"fcm_float64_input_{n}bit" for n in (1, 8, 10, 16)}),
}


@spec("C-2.3", "Q-7.1", "Q-7.2", "Q-7.3")
@pytest.mark.parametrize("adapter", sorted(FCM_FAULTS))
def test_every_fcm_fault_is_caught_at_every_bit_depth_it_reaches(adapter):
    import warnings

    clause, aimed = FCM_FAULTS[adapter]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the wrong arithmetic overflows where the vectors probe it
        failures = _caught(adapter)
    assert aimed <= failures.keys(), f"{adapter} ({clause}) passes {sorted(aimed - failures.keys())}"
    assert "fcm_reject_range_equal" not in failures  # every one of them refuses what the reference refuses
