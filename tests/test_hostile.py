"""The faults a hostile or unlucky user finds (issue 21): killed runs and their locks, trainings bound to their
checkpoints, tampered units, damaged images repaired, symbolic links and escaping ids, hostile manifests, inputs that
used to end in an internal error, silently accepted nonsense (spec E-2.3, E-3.1, E-3.4, E-6.1, E-9.1, H-3.4, H-4.7,
R-3.3, M-3.2, M-5.3)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from cfc_ref.data.synthetic import write_dataset
from cfc_ref.detector.cfg import write_cfg
from cfc_ref.detector.weights import save_weights
from cfc_ref.errors import CfcError
from cfc_ref.experiment.local_engine import run
from cfc_ref.zoo.embedded import embedded_config

from cfc_testing import GOLDEN, ROOT, alive, descendants, one_line, resume, stop_when, tiny
from cfc_testing import run_cli as cli

spec = pytest.mark.spec


# ------------------------------------------------------------------ 1. a killed run leaves no lock and no workers


@spec("E-3.1")
@pytest.mark.parametrize("signal_number", [signal.SIGKILL, signal.SIGTERM])
def test_killing_the_main_process_only_ends_its_workers_and_frees_the_directory(model_files, tmp_path,
                                                                              signal_number):
    config = tiny(model_files, tmp_path / "out", images=6, workers=2, qps=(32, 37, 42))
    write_dataset(tmp_path / "data", train=0, test=6)
    path = tmp_path / "c.json"
    path.write_text(config.to_json())
    log = tmp_path / "encodes.log"
    process = subprocess.Popen([sys.executable, "-m", "cfc_ref.cli", "run", str(path), "--quiet"], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
                               env=dict(os.environ, CFC_ENCODE_LOG=str(log)))
    stop_when(process, lambda: log.exists() and bool(log.read_text()))  # workers are encoding
    marker = str(tmp_path / "c.json")
    before = descendants(process.pid)
    assert len(before) >= 3, "the run should have a fork server and worker processes"
    process.send_signal(signal_number)  # the main process only, not its group
    resume(process)
    process.wait(timeout=60)
    deadline = time.time() + 20
    while time.time() < deadline:
        living = [p for p in before if alive(p)]
        if not living:
            break
        time.sleep(0.1)
    assert not living, f"worker processes outlived the run: {living}"
    result = subprocess.run([sys.executable, "-m", "cfc_ref.cli", "run", marker, "--quiet"], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr  # the lock went with the run


@spec("E-3.1", "E-6.1")
def test_ctrl_c_is_one_line_and_leaves_no_worker(model_files, tmp_path):
    config = tiny(model_files, tmp_path / "out", images=6, workers=2, qps=(32, 37, 42))
    write_dataset(tmp_path / "data", train=0, test=6)
    path = tmp_path / "c.json"
    path.write_text(config.to_json())
    log = tmp_path / "encodes.log"
    process = subprocess.Popen([sys.executable, "-m", "cfc_ref.cli", "run", str(path), "--quiet"], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True,
                               env=dict(os.environ, CFC_ENCODE_LOG=str(log)))
    # The run is in its sweep once a worker has encoded; it used to be detected by a pack's brief presence, which a
    # loaded machine could miss entirely: the run then finished first and the test saw exit 0 (issue 32)
    stop_when(process, lambda: log.exists() and bool(log.read_text()))
    os.killpg(process.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole process group
    workers = descendants(process.pid)
    resume(process)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    deadline = time.time() + 20
    while time.time() < deadline and any(alive(p) for p in workers):
        time.sleep(0.1)
    assert not [p for p in workers if alive(p)]
    assert err.count("\n") == 1 and "interrupted" in err and "Traceback" not in err, err


def _failing_initializer(config, threads):  # runs in a pool worker
    raise CfcError("the worker's bitstream pack cannot be made: reason given")


@spec("E-6.1")
def test_a_worker_that_cannot_start_is_named_in_one_line(model_files, tmp_path, monkeypatch):
    import tempfile

    from cfc_ref.experiment.local_engine import LocalPoolExecutor, run_job

    scratch = tmp_path / "tmp"  # the pool says why through a pipe: nothing in the temporary directory, which a
    scratch.mkdir()             # killed run could not clean up (it used to leave cfc-ref-workers-* there)
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    config = tiny(model_files, tmp_path / "out")
    with LocalPoolExecutor(2, _failing_initializer, (config, 1)) as executor, pytest.raises(CfcError,
                                                                                              match="reason given"):
        list(executor.map(run_job, [(config, "x", ())]))
    assert [p.name for p in scratch.iterdir() if not p.name.startswith("pymp-")] == []  # (multiprocessing's own
    # pymp-* directory holds the fork server's socket; multiprocessing removes it when the process ends)


@spec("E-6.1")
def test_a_plain_file_where_the_cache_goes_is_refused_before_any_worker(model_files, tmp_path, capsys):
    config = tiny(model_files, tmp_path / "out", workers=2)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "cache").write_text("not a directory")
    (tmp_path / "c.json").write_text(config.to_json())
    one_line(*cli(["run", str(tmp_path / "c.json"), "--quiet"], capsys), "cache is not a directory")


# ------------------------------------------------------------------ 2. trainings are bound to their checkpoints


@spec("R-3.3")
def test_a_checkpoint_resumes_only_the_training_it_belongs_to(tmp_path):
    import torch

    from cfc_ref.errors import TrainingError
    from cfc_ref.locking import RunLocked, run_lock
    from cfc_ref.training.run import TrainConfig, train_run
    from cfc_ref.zoo.embedded import load_embedded_model

    model = load_embedded_model()
    (tmp_path / "init.cfg").write_text(write_cfg(model.config))
    save_weights(model, tmp_path / "init.weights")
    base = TrainConfig(dataset_root=str(tmp_path / "data"), synthetic_train_images=4, init="darknet",
                       cfg=str(tmp_path / "init.cfg"), weights=str(tmp_path / "init.weights"), split="max_11",
                       mode="proxy", iterations=2, batch_size=2, warmup=1, checkpoint_every=1,
                       output=str(tmp_path / "t"))
    train_run(base, log=lambda _: None)
    assert (tmp_path / "t" / "checkpoint.pt").exists()
    with pytest.raises(TrainingError, match=r"different (mode, split|split, mode)"):
        train_run(replace(base, mode="codec", split="max_17"), log=lambda _: None)
    assert json.loads((tmp_path / "t" / "training.json").read_text())["split"] == "max_11"
    with pytest.raises(TrainingError, match="different iterations"):  # the schedule follows the budget
        train_run(replace(base, iterations=3), log=lambda _: None)
    assert train_run(replace(base, name="renamed"), log=lambda _: None)  # a label: not bound
    with run_lock(tmp_path / "t", "cfc-ref train"), pytest.raises(RunLocked, match="another cfc-ref train"):
        train_run(base, log=lambda _: None)
    (tmp_path / "e").mkdir()
    (tmp_path / "e" / "checkpoint.pt").write_bytes(b"")
    with pytest.raises(TrainingError, match="not a cfc-ref checkpoint"):
        train_run(replace(base, output=str(tmp_path / "e")), log=lambda _: None)
    assert torch.get_num_threads() >= 1


# ------------------------------------------------------------------ 4. a damaged image is repaired and finished


@spec("E-2.3", "E-4.2")
def test_a_damaged_image_once_repaired_is_computed_and_nothing_else_is(model_files, tmp_path, capsys):
    config = tiny(model_files, tmp_path / "out", images=3)
    write_dataset(tmp_path / "data", train=0, test=3)
    image = tmp_path / "data" / "JPEGImages" / "test_000001.jpg"
    good = image.read_bytes()
    image.write_bytes(good[:100])
    (tmp_path / "c.json").write_text(config.to_json())
    code, err = cli(["run", str(tmp_path / "c.json"), "--quiet"], capsys)
    one_line(code, err, "units failed", "test_000001")
    from cfc_ref.experiment.store import RunStore

    with RunStore.open(tmp_path / "out", create=False) as store:
        kept = store.unit_ids()
    image.write_bytes(good)  # repaired
    code, err = cli(["run", str(tmp_path / "c.json"), "--quiet"], capsys)
    assert code == 0, err
    with RunStore.open(tmp_path / "out", create=False) as store:
        ids = store.unit_ids()
    assert all(ids[k] == v for k, v in kept.items()) and len(ids) == 3 * len(kept) // 2
    assert not (tmp_path / "out" / "failed.json").exists()
    other = tmp_path / "data" / "JPEGImages" / "test_000002.jpg"  # an image with units may not change
    other.write_bytes(other.read_bytes() + b"\0")
    one_line(*cli(["run", str(tmp_path / "c.json"), "--quiet"], capsys), "test_000002", "dataset.images changed")


# ------------------------------------------------------------------ 5. links and ids that escape


@spec("E-9.1")
@pytest.mark.parametrize("name", [".lock", "results.sqlite", "cache"])
def test_no_write_through_a_planted_link(model_files, tmp_path, capsys, name):
    target = tmp_path / "victim"
    target.write_text("precious")
    config = tiny(model_files, tmp_path / "out")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / name).symlink_to(target)
    (tmp_path / "c.json").write_text(config.to_json())
    code, err = cli(["run", str(tmp_path / "c.json"), "--quiet"], capsys)
    assert code == 2 and ("symbolic link" in err or "not a directory" in err), err
    assert target.read_text() == "precious"


@spec("E-3.2", "E-9.1")
def test_report_and_figures_replace_a_planted_link_instead_of_writing_through_it(model_files, tmp_path, capsys):
    config = tiny(model_files, tmp_path / "out")
    path = run(config, progress=False)
    target = tmp_path / "victim"
    target.write_text("precious")
    for name in ("report.md", "fig4_lossless.png"):
        (tmp_path / "out" / name).unlink(missing_ok=True)
        (tmp_path / "out" / name).symlink_to(target)
    assert cli(["report", str(path), "--no-layers"], capsys)[0] == 0
    assert target.read_text() == "precious" and not (tmp_path / "out" / "report.md").is_symlink()
    assert oct((tmp_path / "out" / "report.md").stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@spec("E-3.4")
@pytest.mark.parametrize("ident", ["../escape", "/etc/passwd", ".hidden", "a\\b", "a\x01b"])
def test_image_ids_that_are_not_plain_names_are_refused(model_files, tmp_path, capsys, ident):
    config = tiny(model_files, tmp_path / "out", dataset_kind="voc")
    write_dataset(tmp_path / "data", train=0, test=2)
    (tmp_path / "data" / "ImageSets" / "Main" / "test.txt").write_text(f"test_000000\n{ident}\n")
    (tmp_path / "c.json").write_text(config.to_json())
    one_line(*cli(["run", str(tmp_path / "c.json"), "--quiet"], capsys), "is not a plain file name")
    assert not (tmp_path / "out" / "results.sqlite").exists()


@spec("E-3.4")
def test_a_fifo_in_the_dataset_is_refused_not_waited_on(model_files, tmp_path, capsys):
    config = tiny(model_files, tmp_path / "out", dataset_kind="voc")
    write_dataset(tmp_path / "data", train=0, test=2)
    fifo = tmp_path / "data" / "Annotations" / "test_000001.xml"
    fifo.unlink()
    os.mkfifo(fifo)
    (tmp_path / "c.json").write_text(config.to_json())
    one_line(*cli(["run", str(tmp_path / "c.json"), "--quiet"], capsys), "not a regular file")


@spec("E-3.4")
def test_a_zip_dataset_is_read_by_member_name_only(tmp_path):
    import zipfile

    from cfc_ref.data.source import open_voc
    from cfc_ref.data.synthetic import write_dataset_zip

    path = write_dataset_zip(tmp_path / "d.zip", test=2)
    again = write_dataset_zip(tmp_path / "d.zip", test=2)
    assert again == path and zipfile.ZipFile(path).testzip() is None
    source = open_voc(path)
    assert source.ids("test") == ["test_000000", "test_000001"] and source.image_bytes("test_000000")[:2] == b"\xff\xd8"
    with pytest.raises(CfcError, match="not a plain file name"):
        source.image_bytes("../d")
    with pytest.raises(CfcError, match="does not exist"):
        source.image_bytes("test_000009")


# ------------------------------------------------------------------ 6. codec check trusts no manifest


def _vectors(tmp_path: Path, mutate) -> Path:
    import shutil

    directory = tmp_path / "vectors"
    directory.mkdir()
    manifest = json.loads((GOLDEN / "hm-16.12" / "manifest.json").read_text())
    manifest["vectors"] = manifest["vectors"][:1]
    vector = manifest["vectors"][0]
    for key in ("bitstream", "input"):
        shutil.copy(GOLDEN / "hm-16.12" / vector[key], directory / vector[key])
    mutate(manifest, directory)
    (directory / "manifest.json").write_text(json.dumps(manifest))
    return directory


def _set(key, value):
    return lambda m, d: m["vectors"][0].update({key: value})


@spec("H-4.7", "E-6.1")
@pytest.mark.parametrize("mutate, words", [
    (_set("bitstream", "../x.bin"), "vectors/0/bitstream"),
    (_set("input", "../x.yuv"), "vectors/0/input"),
    (_set("input", "../../a/x.yuv"), "vectors/0/input"),
    (_set("bitstream", "/etc/passwd"), "vectors/0/bitstream"),
    (_set("width", "abc"), "vectors/0/width"),
    (_set("width", 416.5), "vectors/0/width"),
    (_set("bit_depth", "10"), "vectors/0/bit_depth"),
    (_set("bit_depth", None), "vectors/0/bit_depth"),
    (_set("bitstream", 5), "vectors/0/bitstream"),
    (_set("id", ["x"]), "vectors/0/id"),
    (lambda m, d: m.update(vectors="none"), "vectors"),
    (lambda m, d: (d / "link.bin").symlink_to(d / m["vectors"][0]["bitstream"]) or m["vectors"][0].update(
        bitstream="link.bin"), "symbolic link"),
    (lambda m, d: os.mkfifo(d / "pipe.bin") or m["vectors"][0].update(bitstream="pipe.bin"), "not a regular file"),
    (lambda m, d: m["vectors"].append(dict(m["vectors"][0])), "unique"),
])
def test_hostile_manifests_are_refused_before_any_decoding(tmp_path, capsys, mutate, words):
    directory = _vectors(tmp_path, mutate)
    one_line(*cli(["codec", "check", str(directory)], capsys), words)


@spec("H-4.7")
def test_a_manifest_with_nan_or_huge_nesting_is_refused(tmp_path, capsys):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "manifest.json").write_text('{"vectors": [{"id": "x", "width": NaN}]}')
    one_line(*cli(["codec", "check", str(tmp_path / "a")], capsys), "NaN is not JSON")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "manifest.json").write_text("[" * 100_000 + "]" * 100_000)
    one_line(*cli(["codec", "check", str(tmp_path / "b")], capsys), "nested too deeply")


@spec("H-4.7")
def test_decode_only_vectors_never_fail_strict_and_16_bits_is_refused(tmp_path, capsys):
    def decode_only(manifest, directory):
        for key in ("hm_options", "input", "bitstream_sha256"):
            manifest["vectors"][0].pop(key)

    directory = _vectors(tmp_path, decode_only)
    code, _ = cli(["codec", "check", str(directory), "--strict"], capsys)
    table = capsys.readouterr().out
    assert code == 0 and "\nencode " not in table, table
    from cfc_ref.codecs.hevc.check import check_directory

    report = check_directory(directory)
    assert [r.name for r in report.rows if r.name == "encode"] == [] and not report.problems(True)
    manifest = json.loads((directory / "manifest.json").read_text())
    manifest["vectors"][0]["bit_depth"] = 16
    (directory / "manifest.json").write_text(json.dumps(manifest))
    report = check_directory(directory, ["fast"])
    assert report.rows[0].name == "fast" and report.rows[0].outcomes[manifest["vectors"][0]["id"]].status == "refused"
    assert "outside this package's 1–12 bits" in report.rows[0].outcomes[manifest["vectors"][0]["id"]].detail


# ------------------------------------------------------------------ 7, 8. inputs a user can give: one line, exit 2


def _voc(tmp_path: Path) -> Path:
    voc = tmp_path / "voc"
    (voc / "ImageSets" / "Main").mkdir(parents=True)
    (voc / "Annotations").mkdir()
    (voc / "ImageSets" / "Main" / "test.txt").write_text("a\n")
    (voc / "Annotations" / "a.xml").write_text("<annotation><object><name>cat</name><bndbox><xmin>1</xmin><ymin>1"
                                               "</ymin><xmax>9</xmax><ymax>9</ymax></bndbox></object></annotation>")
    return voc


@spec("E-6.1", "M-3.2")
@pytest.mark.parametrize("detection", ['"score": 1' + "0" * 400 + ', "box": [1, 2, 3, 4]',
                                       '"score": 0.5, "box": "1234"', '"score": true, "box": [1, 2, 3, 4]',
                                       '"score": 0.5, "box": [1, 2, "3", 4]', '"score": 0.5, "box": [1, 2, 3]'])
def test_detection_files_with_values_that_are_not_numbers(tmp_path, capsys, detection):
    (tmp_path / "d.json").write_text('{"detections": [{"image": "a", "class": "cat", ' + detection + "}]}")
    one_line(*cli(["metrics", "map", str(_voc(tmp_path)), str(tmp_path / "d.json")], capsys), "finite number")


@spec("M-5.3", "M-5.5")
def test_bd_curves_with_an_map_outside_0_1_are_refused(tmp_path, capsys):
    from cfc_ref.errors import MetricsError
    from cfc_ref.metrics.bd import bd_kbpi_map, bd_map

    anchor = [(10, 0.5), (20, 0.6), (40, 0.7), (80, 0.75)]
    for bad in ([(10, 0.5), (20, 0.6), (40, 0.7), (80, 7.0)], [(10, -0.5), (20, 0.6), (40, 0.7), (80, 0.75)]):
        with pytest.raises(MetricsError, match=r"outside \[0, 1\]"):
            bd_kbpi_map(anchor, bad)
        with pytest.raises(MetricsError, match=r"outside \[0, 1\]"):
            bd_map(anchor, bad)
    (tmp_path / "a.csv").write_text("".join(f"{r},{m}\n" for r, m in anchor))
    (tmp_path / "b.csv").write_text("10,0.5\n20,0.6\n40,0.7\n80,7\n")
    one_line(*cli(["metrics", "bd", str(tmp_path / "a.csv"), str(tmp_path / "b.csv")], capsys), "[0, 1]")


@spec("E-6.1", "D-1.4")
def test_cfg_anchors_must_be_finite(tmp_path, capsys):
    text = write_cfg(embedded_config())
    start = text.index("anchors=")
    end = text.index("\n", start)
    (tmp_path / "inf.cfg").write_text(text[:start] + "anchors=inf," + text[start + 8:end].split(",", 1)[1]
                                      + text[end:])
    one_line(*cli(["layers", "--cfg", str(tmp_path / "inf.cfg"), "--png", ""], capsys), "anchors must be finite")


@spec("E-6.1")
@pytest.mark.parametrize("change, words", [
    (dict(classes=("disc", "disc", "square", "triangle", "cross")), "classes must be distinct"),
    (dict(classes=("disc", "square")), "the model detects 5 classes"),
    (dict(output=""), "output and dataset_root must name a directory"),
])
def test_config_values_that_would_give_wrong_numbers(model_files, tmp_path, capsys, change, words):
    config = tiny(model_files, tmp_path / "out")
    raw = json.loads(config.to_json())
    raw.update({k: list(v) if isinstance(v, tuple) else v for k, v in change.items()})
    (tmp_path / "c.json").write_text(json.dumps(raw))
    one_line(*cli(["run", str(tmp_path / "c.json"), "--quiet"], capsys), words)


@spec("E-6.1")
@pytest.mark.parametrize("argv, words", [
    (["layers", "--width-factor", "inf", "--png", ""], "--width-factor"),
    (["layers", "--device", "bogus", "--png", ""], "--device must be"),
    (["codec", "encode", "x.raw", "-o", "y", "--width", "-8", "--height", "8", "--bit-depth", "8", "--qp", "3"],
     "--width must be"),
])
def test_arguments_that_used_to_be_internal_errors(tmp_path, capsys, argv, words):
    one_line(*cli(argv, capsys), words)


@spec("E-6.1")
def test_layers_on_cuda_without_one(capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is here")
    one_line(*cli(["layers", "--device", "cuda", "--png", ""], capsys), "no CUDA device here")


@spec("E-6.1", "R-3.3")
@pytest.mark.parametrize("change, words", [({"device": "bogus"}, "device must be"), ({"seed": 2**70}, "seed"),
                                           ({"output": ""}, "output must name")])
def test_training_values_that_used_to_be_internal_errors(tmp_path, capsys, change, words):
    (tmp_path / "t.json").write_text(json.dumps(change))
    one_line(*cli(["train", str(tmp_path / "t.json"), "--iterations", "1"], capsys), words)


@spec("E-6.1")
def test_a_terminal_that_cannot_show_the_output(tmp_path):
    result = subprocess.run([sys.executable, "-m", "cfc_ref.cli", "demo"], cwd=ROOT, capture_output=True,
                            env=dict(os.environ, PYTHONIOENCODING="latin-1"), timeout=120)
    assert result.returncode == 0 and b"max_17" in result.stdout, result.stderr


@spec("E-6.1", "E-3.2")
def test_a_full_disk_names_the_file(tmp_path, monkeypatch):
    import errno

    from cfc_ref import fileio

    real = os.fdopen

    class Full:
        def __init__(self, fd, mode):
            self.fh = real(fd, mode)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fileio.os, "fdopen", Full)
    with pytest.raises(OSError) as caught:
        fileio.write_atomic(tmp_path / "report.md", b"text")
    assert caught.value.filename == str(tmp_path / "report.md") and not list(tmp_path.iterdir())


@spec("H-3.4")
def test_x265_refuses_a_picture_below_its_ctu_by_name():
    from cfc_ref.codecs.hevc import encode_picture
    from cfc_ref.errors import CodecError

    with pytest.raises(CodecError, match="at least 16×16 samples.*HM.*alignment 16"):
        encode_picture(np.zeros((8, 8), np.uint8), 8, 30)
    assert encode_picture(np.zeros((16, 16), np.uint8), 8, 30)
