"""Every error a user can cause ends with one line and exit 2, never a traceback (spec E-6.1; issue 15's list)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cfc_ref.cli import main
from cfc_ref.conformance import reference
from cfc_ref.errors import CfcError

from cfc_testing import ROOT, run_cli

spec = pytest.mark.spec


def assert_one_line_error(code: int, err: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err and err.count("\n") == 1 and err.startswith("cfc-ref"), err


CONV = "[convolutional]\nfilters={f}\nsize={s}\nstride=1\nactivation=leaky\n"


@spec("E-6.1", "D-1.4")
@pytest.mark.parametrize("body", [CONV.format(f=1000000000, s=3), CONV.format(f=16, s=100000),
                                  CONV.format(f=18, s=3) + "[reorg]\nstride=2\n"])
def test_layers_with_an_oversized_or_impossible_cfg(tmp_path, capsys, body):
    cfg = tmp_path / "bad.cfg"
    cfg.write_text("[net]\nwidth=15\nheight=15\nchannels=3\n" + body + "[region]\nanchors=1,1\nnum=1\nclasses=1\n")
    assert_one_line_error(*run_cli(["layers", "--cfg", str(cfg), "--png", ""], capsys))


@spec("E-6.1")
def test_layers_with_an_oversized_input(capsys):
    assert_one_line_error(*run_cli(["layers", "--width", "100000", "--png", ""], capsys))


@spec("E-6.1", "M-3.2")
def test_metrics_inputs(tmp_path, capsys):
    (tmp_path / "a.csv").write_bytes(b"\xff\xfe1,0.5\n")
    (tmp_path / "b.csv").write_text("1,0.5\n2,0.6\n")
    assert_one_line_error(*run_cli(["metrics", "bd", str(tmp_path / "a.csv"), str(tmp_path / "b.csv")], capsys))
    voc = tmp_path / "voc"
    (voc / "ImageSets" / "Main").mkdir(parents=True)
    (voc / "Annotations").mkdir()
    (voc / "ImageSets" / "Main" / "test.txt").write_text("a\n")
    (voc / "Annotations" / "a.xml").write_text("<annotation><object><name>cat</name><bndbox><xmin>1</xmin>"
                                               "<ymin>1</ymin><xmax>9</xmax><ymax>9</ymax></bndbox></object>"
                                               "</annotation>")
    detections = tmp_path / "d.json"
    detections.write_text(json.dumps({"detections": [{"image": "a", "class": "cat", "score": 1, "box": [1, 2, 3]}]}))
    assert_one_line_error(*run_cli(["metrics", "map", str(voc), str(detections)], capsys))
    (voc / "ImageSets" / "Main" / "test.txt").write_bytes(b"\xc3\x28\n")
    assert_one_line_error(*run_cli(["metrics", "map", str(voc), str(detections)], capsys))


@spec("E-6.1", "D-3.2")
def test_run_with_a_huge_sparse_weights_file(tmp_path):
    """A 20 GB sparse file is refused by its size, at once (a subprocess, so that its memory is its own)."""
    sparse = tmp_path / "huge.weights"
    with open(sparse, "wb") as fh:
        fh.write(np.array([0, 2, 0], "<i4").tobytes() + bytes(8))
        fh.truncate(20 * 2**30)
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "cfc_ref.cli", "run", "--weights", str(sparse), "--output",
                             str(out), "--limit", "1", "--quiet"], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert_one_line_error(result.returncode, result.stderr)
    assert "this cfg needs" in result.stderr and not (out / "config.json").exists()


@spec("E-6.1")
def test_argument_errors_are_one_line(capsys):
    assert_one_line_error(*run_cli(["codec", "encode", "x", "-o", "y", "--width", "ten", "--height", "8",
                                    "--bit-depth", "8", "--qp", "1"], capsys))
    assert_one_line_error(*run_cli(["report", "r.json", "--retrained", "max_11"], capsys))
    assert_one_line_error(*run_cli(["nonsense"], capsys))


@spec("E-6.1")
def test_internal_errors_are_one_line_too(capsys, monkeypatch):
    import cfc_ref.demo

    monkeypatch.setattr(cfc_ref.demo, "round_trip", lambda *a: 1 / 0)
    code, err = run_cli(["demo"], capsys)
    assert code == 3 and "internal error: ZeroDivisionError" in err and err.count("\n") == 1
    monkeypatch.setenv("CFC_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        main(["demo"])


# ------------------------------------------------------------------ the reference adapter on malformed Python input

GOOD = dict(name="x", shape=[1, 8, 8], bit_depth=8, mode="minmax", layout="tile", align=8, codec="raw",
            side_info=bytes(8), payload=bytes(64))


@spec("W-4.3", "C-2.1")
@pytest.mark.parametrize("bad", [dict(GOOD, side_info="abcdefgh"), {k: v for k, v in GOOD.items() if k != "mode"},
                                 dict(GOOD, name=b"x"), dict(GOOD, bit_depth=True), dict(GOOD, shape=[1, 8]),
                                 dict(GOOD, align=8.0), dict(GOOD, layout=None), "record", None])
def test_reference_pack_rejects_malformed_records_with_named_errors(bad):
    assert reference.parse(reference.pack([GOOD]))[0]["name"] == "x"
    with pytest.raises(CfcError):
        reference.pack([bad])


@spec("Q-2.3", "T-1.1")
@pytest.mark.parametrize("call", [
    lambda: reference.dequantize(np.zeros((2, 3, 3), np.uint8), "abcdefgh", 8, "minmax"),
    lambda: reference.untile(np.zeros((8, 8), np.uint8), "abc", "tile", 8),
    lambda: reference.untile(np.zeros((8, 8), np.uint8), None, "tile", 8),
    lambda: reference.untile(np.zeros((8, 8), np.uint8), (1, 8.0, 8), "tile", 8),
    lambda: reference.pack(None),
])
def test_reference_adapter_rejects_malformed_arguments_with_named_errors(call):
    with pytest.raises(CfcError):
        call()


# ------------------------------------------------------------------ fuzz: every command over malformed files

FILE_COMMANDS = {
    "inspect": lambda f, d: ["inspect", f],
    "codec-decode": lambda f, d: ["codec", "decode", f, "-o", f"{d}/out.raw"],
    "codec-encode": lambda f, d: ["codec", "encode", f, "-o", f"{d}/out.bin", "--width", "16", "--height", "16",
                                  "--bit-depth", "8", "--qp", "30"],
    "codec-check": lambda f, d: ["codec", "check", d],
    "metrics-bd": lambda f, d: ["metrics", "bd", f, f],
    "metrics-map": lambda f, d: ["metrics", "map", d, f],
    "report": lambda f, d: ["report", f, "--no-layers"],
    "layers": lambda f, d: ["layers", "--cfg", f, "--png", "", "--repeats", "1"],
    # a config that happens to be valid must not start a sweep or a training: the overrides below are refused
    # after the file's own checks, so every check of the file still runs
    "run": lambda f, d: ["run", f, "--quiet", "--limit", "0"],
    "train": lambda f, d: ["train", f, "--iterations", "0"],
}
STRUCTURED = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=200).map(str.encode),
    st.recursive(st.none() | st.booleans() | st.integers(-3, 10**12) | st.floats() | st.text(max_size=8),
                 lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                 max_leaves=12).map(lambda v: json.dumps(v).encode()),
    st.sampled_from([b"[net]\nwidth=-3\n", b"[net]\nwidth=32\nheight=32\n[convolutional]\nfilters=x\n",
                     b"CFCR\x01\x00\x01\x00", b"\x00\x00\x00\x01\x40\x01", b"kbpi,map\n1,nan\n",
                     b'{"name": 1, "dataset_root": []}', b'{"schema": "cfc-ref-results/2", "rows": [{}]}']),
)


@spec("E-6.1")
@pytest.mark.parametrize("command", sorted(FILE_COMMANDS))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=STRUCTURED)
def test_fuzz_every_command_over_malformed_files(command, content, tmp_path_factory, capsys):
    directory = tmp_path_factory.mktemp("fuzz")
    path = directory / ("input.json" if command in ("metrics-map", "report", "run", "train") else "input")
    path.write_bytes(content)
    (directory / "manifest.json").write_bytes(content)
    (directory / "ImageSets" / "Main").mkdir(parents=True)
    (directory / "ImageSets" / "Main" / "test.txt").write_bytes(content)
    code, err = run_cli(FILE_COMMANDS[command](str(path), str(directory)), capsys)
    assert code in (0, 1, 2), err  # never 3 (an internal error) and never an exception out of main()
    assert "Traceback" not in err and err.count("\n") <= 1, err
    if code == 2:
        assert err.startswith("cfc-ref")


# ------------------------------------------------------------------ mutation fuzz: valid files with one hostile value

HOSTILE = st.one_of(st.sampled_from([None, True, False, "", "../x", "/etc/passwd", "a" * 5000, -1, 0, 2**70,
                                     10**400, -(10**400), 1e308, -0.0, [], {}, [[[]]], "NaN", "8", "1e999"]),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=6),
                    st.integers(-(2**64), 2**64))


def _leaves(value, path=()):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list) and value:
        for index, item in enumerate(value[:3]):
            yield from _leaves(item, (*path, index))
    yield path


def _mutated(base, path, new):
    import copy

    out = copy.deepcopy(base)
    if not path:
        return new
    node = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = new
    return out


@pytest.fixture(scope="module")
def valid_inputs(tmp_path_factory):
    """One valid file of each kind a command reads: run and train configs, results.json, a vectors manifest, a
    detections file, a cfg."""
    from cfc_ref.data.synthetic import CLASSES
    from cfc_ref.experiment.config import ExperimentConfig
    from cfc_ref.experiment.local_engine import run

    d = tmp_path_factory.mktemp("valid")
    config = ExperimentConfig(name="v", dataset_root=str(d / "data"), dataset_kind="synthetic",
                              synthetic_test_images=1, classes=CLASSES, splits=("max_11",), lossless_bit_depths=(8,),
                              lossy_bit_depths=(8,), qps=(37,), jpeg_qualities=(50, 90), original_upload=False,
                              workers=1, output=str(d / "run"))
    results = json.loads(run(config, progress=False).read_text())
    manifest = json.loads((ROOT / "golden" / "hm-16.12" / "manifest.json").read_text())
    manifest["vectors"] = manifest["vectors"][:1]
    return {"run": json.loads(config.to_json()), "train": {"iterations": 1, "split": "max_11", "output": "x"},
            "report": results, "codec-check": manifest,
            "metrics-map": {"detections": [{"image": "a", "class": "cat", "score": 0.5, "box": [1, 2, 8, 9]}]}}


MUTATION_COMMANDS = {
    "run": lambda f, d: ["run", f, "--quiet", "--limit", "0"],
    "train": lambda f, d: ["train", f, "--iterations", "0"],
    "report": lambda f, d: ["report", f, "--no-layers"],
    "codec-check": lambda f, d: ["codec", "check", d, "--no-encode"],
    "metrics-map": lambda f, d: ["metrics", "map", d, f],
}


@spec("E-6.1", "H-4.7", "E-5.1", "M-3.2")
@pytest.mark.parametrize("command", sorted(MUTATION_COMMANDS))
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzz_valid_files_with_one_hostile_value(command, data, valid_inputs, tmp_path_factory, capsys):
    """Exit 0 with a result, or exit 2 with one line — never an internal error, a traceback or a hang (issue 21)."""
    import shutil

    base = valid_inputs[command]
    leaves = list(_leaves(base))
    path = leaves[data.draw(st.integers(0, len(leaves) - 1), label="leaf")]
    value = _mutated(base, path, data.draw(HOSTILE, label="value"))
    directory = tmp_path_factory.mktemp("mutation")
    target = directory / ("manifest.json" if command == "codec-check" else "input.json")
    target.write_text(json.dumps(value))
    if command == "codec-check":
        for key in ("bitstream", "input"):
            name = base["vectors"][0][key]
            shutil.copy(ROOT / "golden" / "hm-16.12" / name, directory / name)
    if command == "metrics-map":
        (directory / "ImageSets" / "Main").mkdir(parents=True)
        (directory / "Annotations").mkdir()
        (directory / "ImageSets" / "Main" / "test.txt").write_text("a\n")
        (directory / "Annotations" / "a.xml").write_text(
            "<annotation><object><name>cat</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>9</xmax><ymax>9</ymax>"
            "</bndbox></object></annotation>")
    code, err = run_cli(MUTATION_COMMANDS[command](str(target), str(directory)), capsys)
    assert code in (0, 1, 2), err
    assert "Traceback" not in err and err.count("\n") <= 1, err
    if code == 2:
        assert err.startswith("cfc-ref")


def test_a_curve_file_the_csv_module_cannot_read_is_one_line(tmp_path, capsys):
    """Found by the fuzz above in a clean-clone run: b'\\r\\x00' reached csv.Error ("new-line character seen in
    unquoted field") as an internal error."""
    from cfc_testing import run_cli

    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\r\x00")
    good = tmp_path / "good.csv"
    good.write_text("kbpi,map\n1,0.5\n2,0.6\n4,0.7\n8,0.75\n")
    code, err = run_cli(["metrics", "bd", str(bad), str(good)], capsys)
    assert code == 2 and "not a readable CSV file" in err and str(bad) in err and err.count("\n") == 1, err
