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

from cfc_ref.conformance.adapters import load_adapter
from cfc_ref.conformance.process import (
    ProcessAdapter,
    ProcessFailure,
    ProcessRejection,
    decode_value,
    encode_value,
)
from cfc_ref.conformance.protocol import AdapterError

from cfc_testing import GOLDEN, ROOT, alive, descendants

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
    assert verdicts(done.stdout) == {"detector.network": "FAIL"}  # only the profiles it declares are shown
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
        with pytest.raises(ProcessFailure, match="not JSON"):
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


# ------------------------------------------------------------------ a harness that always ends (issue 19, C-2.5)

MISBEHAVING = ROOT / "tests" / "process_example" / "misbehaving.py"
NODE_EXAMPLE = ROOT / "tests" / "process_example" / "wire_server.js"


@spec("C-2.5")
@pytest.mark.parametrize("mode, words", [
    ("hang", "no answer to 'tile' (request 3) within 2 s"),
    ("stray-line", "not the answer to request"),
    ("huge-line", "longer than 1048576 bytes"),
    ("no-newline", "longer than 1048576 bytes"),
    ("crash", "closed its output"),
    ("wrong-id", "not the answer to request 3"),
    ("child-hangs", "within 2 s"),
    ("ignore-input", "within 2 s"),
    ("exit-at-once", "closed its output (exit status 7)"),  # reaped before it is named: never "exit status None"
    ("deep", "nested deeper than 64 levels"),  # 200,000 levels: a protocol failure, not an internal error
    ("nan", "a NaN literal"),
    ("bad-base64", "not valid base64"),
    ("bad-array", "has 3 bytes"),
    ("unknown-function", "answered UnknownFunction to 'tile'"),
])
def test_a_misbehaving_adapter_fails_its_test_in_bounded_time_and_leaves_nothing(mode, words):
    import time

    q = np.arange(64, dtype=np.uint8).reshape(1, 8, 8)
    adapter = ProcessAdapter(f"{sys.executable} {MISBEHAVING} {mode}", timeout=2, max_answer=1 << 20)
    first = adapter._process.pid  # noqa: SLF001 - the process to watch
    began = time.monotonic()
    try:
        adapter.tile(q, "tile", 8)  # request 2 (profiles was 1)
        with pytest.raises(ProcessFailure) as caught:
            adapter.tile(q, "tile", 8)
            adapter.tile(q, "tile", 8)
        assert words in str(caught.value), caught.value
        assert time.monotonic() - began < 15
        if mode in ("hang", "child-hangs", "crash"):
            assert "standard error ends:" in str(caught.value)  # the adapter's own words come with the failure
        assert not alive(first) and not [p for p in descendants(first) if alive(p)]
        assert np.asarray(adapter.tile(q, "tile", 8)).shape == (8, 8)  # a fresh adapter answers the next request
    finally:
        adapter.close()
    assert adapter._process is None  # noqa: SLF001


@spec("C-2.5")
def test_an_adapter_that_never_answers_profiles_is_a_usage_error_in_bounded_time():
    import time

    began = time.monotonic()
    with pytest.raises(AdapterError, match=r"did not answer 'profiles'.*within 1 s.*about to hang"):
        ProcessAdapter(f"{sys.executable} {MISBEHAVING} hang-profiles", timeout=1)
    assert time.monotonic() - began < 10
    slow = ProcessAdapter(f"{sys.executable} {MISBEHAVING} slow-start", timeout=10)  # slow, not broken
    slow.close()


@spec("C-2.5", "C-2.8")
def test_the_command_ends_by_itself_and_shows_why(tmp_path):
    import time

    began = time.monotonic()
    done, report = conformance(tmp_path, "--impl-cmd", f"{sys.executable} {MISBEHAVING} hang 40", "--profile",
                               "wire", "--timeout", "2")
    assert done.returncode == 1 and time.monotonic() - began < 120
    failed = [r for r in report["results"] if r["outcome"] == "failed"]
    assert failed and "within 2 s" in failed[0]["reason"] and "stuck on request 40" in failed[0]["reason"]
    assert sum(r["outcome"] == "passed" for r in report["results"]) > 80  # restarted: the rest still ran
    done, _ = conformance(tmp_path, "--impl-cmd", f"{sys.executable} {MISBEHAVING} hang 40", "--profile", "wire",
                          "--timeout", "1", "--deadline", "1")  # the hang meets the deadline, whenever it comes
    assert done.returncode == 1 and "deadline" in done.stdout


@spec("C-2.5", "C-2.8")
def test_the_node_example_passes_wire_with_its_standard_json(tmp_path):
    import shutil

    if not shutil.which("node"):
        pytest.skip("Node.js is not installed")
    done, report = conformance(tmp_path, "--impl-cmd", f"node {NODE_EXAMPLE}", "--profile", "wire")
    assert done.returncode == 0, done.stdout[-3000:]
    assert verdicts(done.stdout)["wire"] == "pass"
    skipped = [r for r in report["results"] if r["outcome"] == "skipped" and r["profile"] == "wire"]
    assert [r["test"] for r in skipped] == ["test_golden_vector[q_reject_bit_depth_float]"]
    assert "JSON cannot tell 8.0 from 8" in skipped[0]["reason"]


@spec("C-2.8")
def test_adapters_come_from_the_callers_directory(tmp_path):
    (tmp_path / "mymod.py").write_text("from cfc_ref.conformance.reference import *  # noqa\nPROFILES = ('wire',)\n")
    (tmp_path / "srv.py").write_text((ROOT / "tests" / "process_example" / "wire_server.py").read_text())
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    for args in (["--impl", "mymod"], ["--impl-cmd", f"{sys.executable} ./srv.py"]):
        done = subprocess.run([sys.executable, "-m", "cfc_ref.cli", "conformance", *args, "--profile", "wire"],
                              capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
        assert done.returncode == 0 and "wire               pass" in done.stdout, done.stderr[-2000:]


@spec("C-2.8")
def test_a_missing_extra_or_a_broken_suite_is_one_line(tmp_path, monkeypatch):
    from cfc_ref.conformance import runner

    monkeypatch.setattr(runner, "NEEDS", ("pytest", "no_such_package_xyz"))
    with pytest.raises(runner.ConformanceUsageError, match=r"python -m pip install no_such_package_xyz \(the extra "
                                                           r"'conformance'; missing: no_such_package_xyz\)"):
        runner.run_suite()
    monkeypatch.undo()
    (tmp_path / "broken.py").write_text("import no_such_module_abc\n")
    done, _ = conformance(tmp_path, "--impl", "broken")
    assert done.returncode == 2 and "no_such_module_abc" in done.stderr and done.stderr.count("\n") == 1


# ------------------------------------------------------------------ issue 30 (harness), issue 31 items 11-12


def _marked(marker: str) -> list[int]:
    import psutil

    found = []
    for process in psutil.process_iter(["cmdline"]):
        if marker in (process.info["cmdline"] or []) and alive(process.pid):
            found.append(process.pid)
    return found


@spec("C-2.5")
@pytest.mark.parametrize("mode", ["setsid-child", "setsid-orphan"])
def test_a_child_in_its_own_session_is_ended_with_the_adapter(mode):
    import time
    import uuid

    marker = f"cfc-test-{uuid.uuid4().hex}"
    adapter = ProcessAdapter(f"{sys.executable} {MISBEHAVING} {mode} 3 {marker}", timeout=10)
    q = np.arange(64, dtype=np.uint8).reshape(1, 8, 8)
    try:
        adapter.tile(q, "tile", 8)
        adapter.tile(q, "tile", 8)  # request 3 starts the child in a session of its own
        for _ in range(100):
            if _marked(marker):
                break
            time.sleep(0.05)
        assert _marked(marker), "the adapter's setsid child did not start"
    finally:
        adapter.close()
    assert _marked(marker) == []


@spec("C-2.5")
def test_an_adapter_that_keeps_breaking_the_protocol_is_declared_dead():
    q = np.arange(64, dtype=np.uint8).reshape(1, 8, 8)
    adapter = ProcessAdapter(f"{sys.executable} {MISBEHAVING} hang-from 3", timeout=1)
    try:
        adapter.tile(q, "tile", 8)  # request 2 answers; from 3 on (its restarts' "profiles" too) it hangs
        reasons = []
        for _ in range(5):
            with pytest.raises(ProcessFailure) as caught:
                adapter.tile(q, "tile", 8)
            reasons.append(str(caught.value))
        assert all("within 1 s" in r for r in reasons[:3]), reasons
        assert all(r.startswith("the adapter was declared dead after 3 requests in a row") for r in reasons[3:])
        assert reasons[3] == reasons[4] and "within 1 s" in reasons[3]  # one reason, naming the last failure
        assert adapter._process is None  # noqa: SLF001 - not started again
    finally:
        adapter.close()


@spec("C-2.5")
def test_a_64_mib_answer_and_a_flood_of_standard_error_are_read_at_pipe_speed():
    adapter = ProcessAdapter(f"{sys.executable} {MISBEHAVING} big-answer 3", timeout=30)
    try:
        adapter.tile(np.zeros((1, 8, 8), np.uint8), "tile", 8)
        answer = adapter.pack([])  # request 3: one answer line just under 64 MiB (the old reader needed ~46 s)
        assert isinstance(answer, bytes) and len(answer) == 3 * (((64 << 20) - 64) // 4)
    finally:
        adapter.close()
    flood = ProcessAdapter(f"{sys.executable} {MISBEHAVING} stderr-flood", timeout=10)
    try:
        assert np.asarray(flood.tile(np.zeros((1, 8, 8), np.uint8), "tile", 8)).shape == (8, 8)
    finally:
        flood.close()


@spec("C-2.5")
def test_per_profile_default_timeouts():
    from cfc_ref.conformance.process import DEFAULT_TIMEOUTS, PROFILE_FUNCTIONS

    assert set(DEFAULT_TIMEOUTS) == set(PROFILE_FUNCTIONS)
    adapter = ProcessAdapter(EXAMPLE)
    try:
        assert adapter.time_limit("quantize") == DEFAULT_TIMEOUTS["wire"] == 10
        assert adapter.time_limit("decode_hevc") == DEFAULT_TIMEOUTS["codec.decode"]
    finally:
        adapter.close()
    text = (ROOT / "spec" / "conformance.md").read_text()
    for profile, seconds in DEFAULT_TIMEOUTS.items():  # C-2.5 states each default
        assert f"`{profile}` {seconds:g} s" in text, profile


@spec("C-2.5", "C-2.8")
def test_one_hang_with_the_default_timeouts_costs_one_wire_timeout(tmp_path):
    import time

    began = time.monotonic()
    done, report = conformance(tmp_path, "--impl-cmd", f"{sys.executable} {MISBEHAVING} hang 10", "--profile",
                               "wire")
    assert done.returncode == 1 and time.monotonic() - began < 60, done.stdout[-2000:]
    failed = [r for r in report["results"] if r["outcome"] == "failed"]
    assert len(failed) == 1 and "within 10 s (the default for its profile" in failed[0]["reason"], failed


@spec("C-2.5", "C-2.8")
def test_a_dead_adapter_ends_the_run_with_one_reason(tmp_path):
    done, report = conformance(tmp_path, "--impl-cmd", f"{sys.executable} {MISBEHAVING} hang-from 10", "--profile",
                               "wire", "--timeout", "1")
    assert done.returncode == 1
    failed = [r for r in report["results"] if r["outcome"] == "failed"]
    dead = [r for r in failed if r["reason"].startswith("ProcessFailure: the adapter was declared dead")
            or "declared dead" in r["reason"]]
    assert len(failed) - len(dead) == 3 and len(dead) > 90, [r["reason"] for r in failed[:5]]
    assert len({r["reason"] for r in dead}) == 1


@spec("C-2.8", "C-2.5", "C-2.2")
def test_the_report_certifies_the_suite_the_implementation_and_the_machine(tmp_path):
    import hashlib

    from cfc_ref import SPEC_VERSION, __version__

    known = tmp_path / "known.txt"
    known.write_text("no_such_vector  # a typo: it would hide nothing\n")
    junit = tmp_path / "out.xml"
    done, report = conformance(tmp_path, "--impl-cmd", f"{sys.executable} {MISBEHAVING} named", "--profile", "wire",
                               "--xfail", str(known), "--junit-xml", str(junit))
    assert done.returncode == 0, done.stdout[-2000:]
    lines = "".join(f"{p.relative_to(GOLDEN).as_posix()} {hashlib.sha256(p.read_bytes()).hexdigest()}\n"
                    for p in sorted(GOLDEN.rglob("*"), key=lambda p: p.relative_to(GOLDEN).as_posix())
                    if p.is_file())
    assert report["suite"]["catalogue_sha256"] == hashlib.sha256(lines.encode()).hexdigest()
    assert (report["suite"]["version"], report["suite"]["spec_version"]) == (__version__, SPEC_VERSION)
    assert report["implementation"]["name"] == "misbehaving example" and report["implementation"]["version"] == "0.0.1"
    assert {"python", "os", "cpu", "cpu_count"} <= report["environment"].keys()
    assert list(report["profiles"]) == ["wire"] and {r["profile"] for r in report["results"]} == {"wire", "suite"}
    assert verdicts(done.stdout) == {"wire": "pass"} and "not run" not in done.stdout
    assert "warning: --xfail lists 1 id(s) that match no vector: no_such_vector" in done.stdout
    assert report["warnings"] and "conformance of misbehaving example 0.0.1" in done.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["known.txt", "out.xml", "report.json"]  # nothing else
    _check_junit(junit, report)


def _check_junit(path, report):
    import xml.etree.ElementTree as ET

    import junitparser

    root = ET.parse(path).getroot()
    assert root.tag == "testsuites" and int(root.get("tests")) == len(report["results"])
    suites = root.findall("testsuite")
    assert {s.get("name") for s in suites} == {"wire", "suite"}
    for suite in suites:
        cases = suite.findall("testcase")
        assert int(suite.get("tests")) == len(cases) and all(c.get("name") and c.get("classname") for c in cases)
        assert int(suite.get("failures")) == sum(c.find("failure") is not None for c in cases)
        assert int(suite.get("skipped")) == sum(c.find("skipped") is not None for c in cases)
        properties = {p.get("name"): p.get("value") for p in suite.find("properties")}
        assert properties["suite.catalogue_sha256"] == report["suite"]["catalogue_sha256"]
    parsed = junitparser.JUnitXml.fromfile(str(path))  # a maintained JUnit reader accepts it
    assert sum(suite.tests for suite in parsed) == len(report["results"])


@spec("C-2.8")
def test_two_reports_compared_say_what_changed(tmp_path):
    good_dir, bad_dir = tmp_path / "good", tmp_path / "bad"
    good_dir.mkdir()
    bad_dir.mkdir()
    _, _ = conformance(good_dir, "--impl-cmd", EXAMPLE, "--profile", "wire")
    done, _ = conformance(bad_dir, "--impl", "wrong_adapters.ties_to_even", "--profile", "wire")
    assert done.returncode == 1
    a, b = good_dir / "report.json", bad_dir / "report.json"

    def compare(*paths):
        return subprocess.run([sys.executable, "-m", "cfc_ref.cli", "conformance", "compare", *map(str, paths)],
                              capture_output=True, text=True, cwd=tmp_path, timeout=120)

    changed = compare(a, b)
    assert changed.returncode == 1, changed.stderr
    assert "test_golden_vector[q_ties_8bit]: passed -> failed" in changed.stdout
    assert "profile wire: pass -> FAIL" in changed.stdout and "implementation adapter" in changed.stdout
    same = compare(a, a)
    assert same.returncode == 0 and "nothing changed" in same.stdout and "no regression" in same.stdout
    (tmp_path / "x.json").write_text("{}")
    refused = compare(a, tmp_path / "x.json")
    assert refused.returncode == 2 and "not a cfc-ref-conformance-report/1 report" in refused.stderr
    assert refused.stderr.count("\n") == 1


@spec("C-2.5")
@pytest.mark.parametrize("command", ["python", "node"])
def test_the_examples_answer_a_malformed_request_and_an_unknown_function(command):
    import shutil

    if command == "node" and not shutil.which("node"):
        pytest.skip("Node.js is not installed")
    program = [sys.executable, str(ROOT / "tests/process_example/wire_server.py")] if command == "python" else [
        "node", str(NODE_EXAMPLE)]
    lines = ['{"id": 1, "function": "profiles", "args": []}', "this is not JSON",
             '{"id": 2, "function": "no_such_function", "args": []}']
    done = subprocess.run(program, input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=60)
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert answers[0]["result"]["profiles"] == ["wire"] and answers[0]["result"]["version"] == "1"
    assert answers[1] == {"id": None, "error": {"category": "MalformedRequest", "message": "this is not JSON"}} or (
        answers[1]["id"] is None and answers[1]["error"]["category"] == "MalformedRequest")
    assert answers[2]["id"] == 2 and answers[2]["error"]["category"] == "UnknownFunction"


@spec("C-2.5", "C-2.1")
@pytest.mark.parametrize("mode, words", [("deep 1", "nested deeper than 64 levels"), ("nan 1", "a NaN literal"),
                                         ("bad-base64 1", "not valid base64")])
def test_a_malformed_profiles_answer_is_one_line_naming_the_protocol_failure(tmp_path, mode, words):
    done, _ = conformance(tmp_path, "--impl-cmd", f"{sys.executable} {MISBEHAVING} {mode}")
    assert done.returncode == 2 and words in done.stderr and done.stderr.count("\n") == 1, done.stderr[-2000:]
    assert "INTERNALERROR" not in done.stdout + done.stderr and "Traceback" not in done.stdout + done.stderr
