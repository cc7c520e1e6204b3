"""tools/download_voc.sh refuses what is not VOC2007 test or the YOLOv2-VOC weights (offline: file:// URLs).

The VOC success path needs the real archive (no internet here); its refusal, and both paths of the weights check, are
tested (a full-size weights file written by our own writer stands in for the published one)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile

import pytest

from cfc_ref.detector.cfg import builtin_cfg
from cfc_ref.detector.model import DarknetModel
from cfc_ref.detector.weights import weights_bytes

from cfc_testing import ROOT

SCRIPT = ROOT / "tools" / "download_voc.sh"
pytestmark = pytest.mark.skipif(not shutil.which("curl"), reason="curl is not installed")


def run(dest, part, voc_url="file:///nonexistent", weights_url="file:///nonexistent", **env_changes):
    env = dict(os.environ, CFC_VOC_URL=voc_url, CFC_WEIGHTS_URL=weights_url, PYTHON=sys.executable)
    env.update(env_changes)
    env = {k: v for k, v in env.items() if v is not None}
    return subprocess.run(["bash", str(SCRIPT), str(dest), part], capture_output=True, text=True, env=env,
                          timeout=300, cwd=ROOT)


def test_rejects_an_archive_that_is_not_voc2007_test(tmp_path):
    (tmp_path / "x.txt").write_text("not VOC")
    with tarfile.open(tmp_path / "fake.tar", "w") as tar:
        tar.add(tmp_path / "x.txt", arcname="x.txt")
    result = run(tmp_path / "data", "voc", voc_url=f"file://{tmp_path / 'fake.tar'}")
    assert result.returncode != 0 and "MD5 mismatch" in result.stderr


def test_a_partial_archive_is_moved_aside_and_downloaded_again(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "VOCtest_06-Nov-2007.tar").write_bytes(b"half a download")
    result = run(tmp_path / "data", "voc")
    assert result.returncode != 0 and "failed its MD5 check (moved to" in result.stderr, result.stderr
    assert (tmp_path / "data" / "VOCtest_06-Nov-2007.tar.bad").read_bytes() == b"half a download"
    assert "put VOCtest_06-Nov-2007.tar into" in result.stderr and "CFC_VOC_URL" in result.stderr


def test_offline_says_what_to_do(tmp_path):
    result = run(tmp_path / "data", "weights")
    assert result.returncode != 0 and "by hand" in result.stderr and "CFC_WEIGHTS_URL" in result.stderr


def test_the_interpreter_behind_cfc_ref_is_used(tmp_path):
    (tmp_path / "full.weights").write_bytes(weights_bytes(DarknetModel(builtin_cfg("yolo-voc"))))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "cfc-ref").write_text(f"#!{sys.executable}\n")
    path = f"{bin_dir}:/usr/bin:/bin"
    right = run(tmp_path / "b", "weights", weights_url=f"file://{tmp_path / 'full.weights'}", PYTHON=None, PATH=path)
    assert right.returncode == 0, right.stderr
    (bin_dir / "cfc-ref").unlink()
    (bin_dir / "python3").write_text("#!/bin/sh\nexit 1\n")
    (bin_dir / "python3").chmod(0o755)
    wrong = run(tmp_path / "c", "weights", weights_url=f"file://{tmp_path / 'full.weights'}", PYTHON=None, PATH=path)
    assert wrong.returncode != 0 and "set PYTHON to the interpreter where cfc-ref is installed" in wrong.stderr


def test_weights_checks(tmp_path):
    (tmp_path / "short.weights").write_bytes(b"\0" * 1000)
    wrong = run(tmp_path / "a", "weights", weights_url=f"file://{tmp_path / 'short.weights'}")
    assert wrong.returncode != 0 and "not 202704264 bytes" in wrong.stderr
    (tmp_path / "full.weights").write_bytes(weights_bytes(DarknetModel(builtin_cfg("yolo-voc"))))
    right = run(tmp_path / "b", "weights", weights_url=f"file://{tmp_path / 'full.weights'}")
    assert right.returncode == 0, right.stderr
    assert "load strictly into yolo-voc.cfg" in right.stdout and "weights ready" in right.stdout


def test_bad_part(tmp_path):
    assert run(tmp_path, "everything").returncode == 2


def test_a_file_placed_by_hand_is_checked_and_used_offline(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "yolo-voc.weights").write_bytes(weights_bytes(DarknetModel(builtin_cfg("yolo-voc"))))
    result = run(tmp_path / "data", "weights")  # no URL reachable: the file by hand is what counts
    assert result.returncode == 0, result.stderr
    assert "load strictly into yolo-voc.cfg" in result.stdout and "weights ready" in result.stdout
