"""tools/build_hm.sh plumbing (spec H-2.2), on a stand-in source tree: real HM source cannot be fetched here.

The stand-in's makefile fails if -Werror reaches the compiler flags or a high-bit-depth build is asked for; its
"decoder" hands the stream to libde265 (in process through cfc-ref's pylibde265 backend, or the dec265 program), so
the script's self-test against golden/hm-16.12 runs for real. The real HM-16.12 is checked by tests/test_codec_hevc.py
whenever it is installed (spec H-4.6).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile

import pytest

from cfc_ref.codecs.hevc.pylibde265 import pylibde265_available

from cfc_testing import ROOT

spec = pytest.mark.spec
SCRIPT = ROOT / "tools" / "build_hm.sh"
MAKEFILE = """include common/makefile.base
release:
\ttest -z "$(findstring -Werror,$(CPPFLAGS))"
\ttest "$(HIGHBITDEPTH)" = "0"
\tmkdir -p ../../bin
\tcp ../../fake/enc.sh ../../bin/TAppEncoderStatic
\tcp ../../fake/dec.sh ../../bin/TAppDecoderStatic
\tchmod +x ../../bin/TAppEncoderStatic ../../bin/TAppDecoderStatic
"""
DECODER = """#!/bin/sh
[ "$1" = --help ] && { echo "HM software: Decoder Version [16.12]"; exit 0; }
while [ $# -gt 0 ]; do case "$1" in -b) in=$2; shift 2;; -o) out=$2; shift 2;; *) shift;; esac; done
exec {delegate}
"""
ENCODER = '#!/bin/sh\necho "HM software: Encoder Version [16.12]"\n'


def stand_in_tree(root, decoder_body=None):
    (root / "source/App/TAppEncoder").mkdir(parents=True)
    (root / "build/linux/common").mkdir(parents=True)
    (root / "fake").mkdir()
    (root / "build/linux/makefile").write_text(MAKEFILE)
    (root / "build/linux/common/makefile.base").write_text("CPPFLAGS = -Wall -Werror -O2\n")
    (root / "fake/dec.sh").write_text(decoder_body or DECODER.replace("{delegate}", _delegate()))
    (root / "fake/enc.sh").write_text(ENCODER)
    return root


def run_script(source, install, selftest="decode"):
    env = dict(os.environ, CFC_HM_DIR=str(install), CFC_HM_SELFTEST=selftest, JOBS="2", PYTHON=sys.executable)
    return subprocess.run(["bash", str(SCRIPT), str(source)], capture_output=True, text=True, env=env, timeout=600)


DEC265 = shutil.which("dec265") or shutil.which("libde265-dec265")


def _delegate() -> str:
    if pylibde265_available():
        return f'{sys.executable} -m cfc_ref.cli codec decode --decoder pylibde265 "$in" -o "$out" >/dev/null'
    return f'{DEC265} -q -o "$out" "$in"'


needs_libde265 = pytest.mark.skipif(not (pylibde265_available() or DEC265),
                                    reason="the stand-in HM decoder delegates to libde265 (pylibde265 or dec265), "
                                           "neither of which is installed")


@spec("H-2.2")
@needs_libde265
def test_builds_installs_and_self_tests_from_a_tree(tmp_path):
    result = run_script(stand_in_tree(tmp_path / "HM-16.12"), tmp_path / "bin")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "bin/TAppEncoderStatic").exists() and (tmp_path / "bin/TAppDecoderStatic").exists()
    assert "PASS (strict" in result.stdout
    assert "-Werror" in (tmp_path / "HM-16.12/build/linux/common/makefile.base").read_text()  # source untouched


@spec("H-2.2")
@needs_libde265
def test_builds_from_an_archive(tmp_path):
    tree = stand_in_tree(tmp_path / "HM-16.12")
    archive = tmp_path / "HM-16.12.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tree, arcname="HM-16.12")
    result = run_script(archive, tmp_path / "bin", selftest="none")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "bin/TAppDecoderStatic").exists()


@spec("H-2.2")
def test_self_test_rejects_a_wrong_decoder(tmp_path):
    wrong = "#!/bin/sh\nwhile [ $# -gt 0 ]; do case \"$1\" in -o) out=$2; shift 2;; *) shift;; esac; done\n" \
            "head -c 173056 /dev/zero > \"$out\"\n"
    result = run_script(stand_in_tree(tmp_path / "HM", wrong), tmp_path / "bin")
    assert result.returncode != 0 and "self-test failed" in result.stderr


@spec("H-2.2")
def test_clear_errors(tmp_path):
    missing = run_script(tmp_path / "nowhere", tmp_path / "bin")
    assert missing.returncode != 0 and "does not exist" in missing.stderr
    (tmp_path / "empty").mkdir()
    not_hm = run_script(tmp_path / "empty", tmp_path / "bin")
    assert not_hm.returncode != 0 and "does not look like an HM source tree" in not_hm.stderr
    (tmp_path / "x.rar").write_bytes(b"")
    bad_archive = run_script(tmp_path / "x.rar", tmp_path / "bin")
    assert bad_archive.returncode != 0 and "archive" in bad_archive.stderr
