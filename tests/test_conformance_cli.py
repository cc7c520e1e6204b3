"""``cfc-ref conformance`` (spec C-2.8) and the process adapter (C-2.5), end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from cfc_ref.conformance.process import (
    ProcessAdapter,
    ProcessFailure,
    ProcessRejection,
    decode_value,
    encode_value,
)
from cfc_ref.conformance.protocol import AdapterError, load_adapter

from cfc_testing import ROOT

spec = pytest.mark.spec
EXAMPLE = f"{sys.executable} {ROOT / 'tests' / 'process_example' / 'wire_server.py'}"


def conformance(tmp_path, *args: str) -> tuple[subprocess.CompletedProcess, dict | None]:
    report = tmp_path / "report.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT / "tests"))
    done = subprocess.run([sys.executable, "-m", "cfc_ref.cli", "conformance", "--json", str(report), *args],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=900)
    return done, (json.loads(report.read_text()) if report.exists() else None)


def verdicts(stdout: str) -> dict[str, str]:
    lines = stdout.split("profiles:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    return {line.split()[0]: line.split(None, 1)[1] for line in lines}


@spec("C-2.8", "C-2.1")
def test_the_reference_passes_every_profile_it_declares(tmp_path):
    from cfc_ref.conformance.protocol import declared_profiles

    done, report = conformance(tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    declared = declared_profiles(load_adapter("cfc_ref.conformance.reference"))
    assert {p: v for p, v in verdicts(done.stdout).items() if p in declared} == {p: "pass" for p in declared}
    assert not any(r["outcome"] == "failed" for r in report["results"])
    assert {"wire", "metrics.ap", "metrics.bd", "detector.network", "detector.region"} <= {
        r["profile"] for r in report["results"] if r["outcome"] == "passed"}
    assert "M-1.1" in done.stdout and "D-5.1" in done.stdout  # the per-clause table


@spec("C-2.8", "C-2.3")
def test_a_wrong_adapter_fails_its_profile_and_names_the_clause(tmp_path):
    done, report = conformance(tmp_path, "--impl", "wrong_adapters.textbook_reorg")
    assert done.returncode == 1
    assert verdicts(done.stdout)["detector.network"] == "FAIL" and verdicts(done.stdout)["wire"] == "not run"
    failed = [r for r in report["results"] if r["outcome"] == "failed"]
    assert failed and all(r["profile"] == "detector.network" for r in failed)
    assert "test_golden_vector[net_front_reorg_10]" in {r["test"] for r in failed}


@spec("C-2.8", "C-2.2")
def test_known_deviations_are_expected_failures(tmp_path):
    known = tmp_path / "known.txt"
    known.write_text("ap_iou_exactly_half  # we match at IoU >= 0.5 on purpose\nap_car_dog  # stale: it passes\n")
    done, report = conformance(tmp_path, "--impl", "wrong_adapters.voc_iou_at_least", "--profile", "metrics.ap",
                               "--xfail", str(known))
    outcomes = {r["test"]: r["outcome"] for r in report["results"]}
    assert outcomes["test_golden_vector[ap_iou_exactly_half]"] == "xfailed"
    assert outcomes["test_golden_vector[ap_reject_unknown_class]"] == "failed"  # its other faults still show
    assert outcomes["test_golden_vector[ap_car_dog]"] == "failed"  # a listed vector that passes: the list is stale
    assert done.returncode == 1


@spec("C-2.5", "C-2.8")
def test_the_process_example_passes_wire(tmp_path):
    done, report = conformance(tmp_path, "--impl-cmd", EXAMPLE)
    assert done.returncode == 0, done.stdout[-3000:]
    assert verdicts(done.stdout)["wire"] == "pass"
    assert sum(r["outcome"] == "passed" and r["profile"] == "wire" for r in report["results"]) >= 83


@spec("C-2.1", "C-2.8")
@pytest.mark.parametrize("args,message", [
    (["--impl", "no_such_module_here"], "cannot import adapter module"),
    (["--profile", "everything"], "unknown profile 'everything'"),
    (["--impl-cmd", "/nonexistent/impl"], "cannot start adapter command"),
    (["--impl-cmd", "false"], "did not answer 'profiles'"),
    (["--impl", "x", "--impl-cmd", "y"], "not both"),
    (["--xfail", "/nonexistent/known.txt"], "does not exist"),
])
def test_usage_errors_are_one_line(tmp_path, args, message):
    done, _ = conformance(tmp_path, *args)
    assert done.returncode == 2 and message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done


@spec("C-2.5")
@settings(max_examples=60, deadline=None)
@given(value=st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2**53, 2**53), st.text(max_size=8), st.binary(max_size=16),
              arrays(st.sampled_from(["<f4", "<u2", "|u1", "<f8", "<i4"]), array_shapes(max_dims=3, max_side=4))),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8))
def test_values_survive_the_json_framing(value):
    back = decode_value(json.loads(json.dumps(encode_value(value))))

    def same(a, b):
        if isinstance(a, np.ndarray):
            return isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape and (
                a.view(f"u{a.itemsize}") == b.view(f"u{b.itemsize}")).all()
        if isinstance(a, (list, dict)):
            return type(a) is type(b) and len(a) == len(b) and all(
                same(x, y) for x, y in (zip(a.values(), b.values(), strict=True) if isinstance(a, dict)
                                        else zip(a, b, strict=True)))
        return a == b and type(a) is type(b)

    assert same(value, back)


@spec("C-2.5", "C-1.3")
def test_process_rejections_carry_the_category_and_protocol_breaks_are_not_rejections(tmp_path):
    adapter = ProcessAdapter(EXAMPLE)
    try:
        assert adapter.PROFILES == ("wire",)
        with pytest.raises(ProcessRejection) as caught:
            adapter.quantize(np.zeros((1, 1, 1), np.float32), 0, "minmax")
        assert caught.value.category == "QLayerError" and isinstance(caught.value, ValueError)
        with pytest.raises(AttributeError):
            _ = adapter.voc_eval  # not a declared profile's function
    finally:
        adapter.close()
    liar = tmp_path / "liar.py"
    liar.write_text("import sys, json\nfor line in sys.stdin:\n    r = json.loads(line)\n"
                    "    print(json.dumps({'id': r['id'], 'result': ['wire']}) if r['function'] == 'profiles' "
                    "else 'not json', flush=True)\n")
    adapter = ProcessAdapter(f"{sys.executable} {liar}")
    try:
        with pytest.raises(ProcessFailure, match="not a JSON response"):
            adapter.parse(b"CFCR")
        assert not issubclass(ProcessFailure, ValueError)  # so an invalid vector cannot pass by a crash
    finally:
        adapter.close()
    with pytest.raises(AdapterError, match="unknown profile"):
        bad = tmp_path / "bad.py"
        bad.write_text("import sys, json\nfor line in sys.stdin:\n    r = json.loads(line)\n"
                       "    print(json.dumps({'id': r['id'], 'result': ['everything']}), flush=True)\n")
        ProcessAdapter(f"{sys.executable} {bad}")


@spec("C-2.9")
def test_every_peer_disagreement_is_explained():
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import conformance_matrix as matrix
    finally:
        sys.path.remove(str(ROOT / "tools"))
    published = (ROOT / "docs" / "conformance-matrix.md").read_text()
    for peer in matrix.PEERS:
        assert f"| {peer} |" in published
        if peer in ("hm", "libde265_dec265"):
            continue  # external programs (HM, Debian's dec265): the golden environment's codec check covers them
        result = matrix.evaluate(peer)
        assert not result.unexplained, result.unexplained
        assert all(clause[0] in "CDHMQTW" for _, _, clause, _, _ in result.disagreements)
    assert matrix.explain("ffmpeg_pyav", "blobs416x416_8bit_qp22")[0] == "UNEXPLAINED"  # a lossy miss would show
