"""HEVC codec layer (spec/codec.md): settings, conforming decoding of the 75 HM-16.12 vectors, robustness."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import stat
import tempfile
from fractions import Fraction

import av
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cfc_ref.codecs.hevc import HevcCodec, decode_picture, encode_picture, encoder_name
from cfc_ref.codecs.hevc import decoders as decoders_module
from cfc_ref.codecs.hevc import pylibde265 as pylibde265_module
from cfc_ref.codecs.hevc.check import check_directory, raw_bytes
from cfc_ref.codecs.hevc.decoders import DECODERS, available_decoders, ffmpeg_allowed, hm_allowed
from cfc_ref.codecs.hevc.external import run_tool, scratch_dir
from cfc_ref.codecs.hevc.pylibde265 import decode_pylibde265
from cfc_ref.codecs.hevc.settings import HM_COMMON_OPTIONS, X265_PARAMS, check_quality, hm_options, x265_params
from cfc_ref.codecs.hevc.syntax import (
    NAL_PPS,
    NAL_SPS,
    NAL_VPS,
    BitReader,
    self_contained,
    split_nal_units,
    stream_info,
)
from cfc_ref.codecs.hevc.x265 import x265_version
from cfc_ref.errors import CodecError, DecoderRefusal

from cfc_testing import GOLDEN, ROOT

spec = pytest.mark.spec
HM_DIR = GOLDEN / "hm-16.12"
HM_MANIFEST = json.loads((HM_DIR / "manifest.json").read_text())
X265_DIR = GOLDEN / "x265"
X265_MANIFEST = json.loads((X265_DIR / "manifest.json").read_text())
VECTORS = HM_MANIFEST["vectors"]
IDS = [v["id"] for v in VECTORS]


def load_input(directory, v) -> np.ndarray:
    dtype = "u1" if v["bit_depth"] == 8 else "<u2"
    samples = np.fromfile(directory / v["input"], dtype=dtype).reshape(v["height"], v["width"])
    return samples.astype(np.uint8 if v["bit_depth"] == 8 else np.uint16)


def recon_hash(picture: np.ndarray, bit_depth: int) -> str:
    return hashlib.sha256(raw_bytes(picture, bit_depth)).hexdigest()


@spec("H-2.1")
@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_hm_options_are_the_vectors_options(vector):
    assert hm_options(vector["width"], vector["height"], vector["bit_depth"], vector["qp"]) == vector["hm_options"]


@spec("H-2.1")
def test_spec_lists_the_hm_options():
    text = (ROOT / "spec" / "codec.md").read_text()
    block = text.split("```")[1].split()
    assert block[: len(HM_COMMON_OPTIONS)] == list(HM_COMMON_OPTIONS)
    spec_params = text.split("```")[5].replace("\n", "").strip()
    assert spec_params == ":".join(X265_PARAMS) == X265_MANIFEST["x265_params"]


@spec("H-4.1", "H-4.2")
@pytest.mark.parametrize("decoder", ["pylibde265", "hm", "libde265", "ffmpeg"])
@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_every_decoder_is_right_or_refuses(decoder, vector):
    """Each offered decoder reproduces recon_sha256 or refuses (H-4.3); it never returns a wrong picture."""
    if not DECODERS[decoder].available():
        pytest.skip(f"decoder {decoder} is not installed")
    stream = (HM_DIR / vector["bitstream"]).read_bytes()
    info = stream_info(stream)
    if not DECODERS[decoder].allowed(info):
        with pytest.raises(DecoderRefusal, match="not allowed for this stream"):
            decode_picture(stream, (vector["height"], vector["width"]), vector["bit_depth"], decoder)
        return
    picture, used = decode_picture(stream, (vector["height"], vector["width"]), vector["bit_depth"], decoder)
    assert used == decoder
    assert recon_hash(picture, vector["bit_depth"]) == vector["recon_sha256"]


@spec("H-4.4", "H-4.1")
@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_default_path_decodes_every_vector(vector):
    stream = (HM_DIR / vector["bitstream"]).read_bytes()
    shape = (vector["height"], vector["width"])
    if not ffmpeg_allowed(stream_info(stream)) and available_decoders() == ["ffmpeg"]:
        with pytest.raises(CodecError, match="install libde265"):
            decode_picture(stream, shape, vector["bit_depth"])
        pytest.skip("only ffmpeg is installed and it is not conforming for this stream: refused, as H-4.4 says")
    picture, _ = decode_picture(stream, shape, vector["bit_depth"])
    assert recon_hash(picture, vector["bit_depth"]) == vector["recon_sha256"]


@spec("H-4.3")
def test_ffmpeg_refusal_class_is_the_lossless_vectors():
    refused = {v["id"] for v in VECTORS if not ffmpeg_allowed(stream_info((HM_DIR / v["bitstream"]).read_bytes()))}
    assert refused == {v["id"] for v in VECTORS if v["qp"] == "lossless"}
    x265_lossless = [v for v in X265_MANIFEST["vectors"] if v["qp"] == "lossless"]
    assert all(ffmpeg_allowed(stream_info((X265_DIR / v["bitstream"]).read_bytes())) for v in x265_lossless)


@spec("H-4.3")
def test_hm_refusal_class_is_x265_lossless():
    """HM-16.12 aborts on level >= 5 streams with 16x16 CTBs: x265 writes level 8.5 for lossless, HM writes none."""
    assert all(hm_allowed(stream_info((HM_DIR / v["bitstream"]).read_bytes())) for v in VECTORS)
    refused = {v["id"] for v in X265_MANIFEST["vectors"]
               if not hm_allowed(stream_info((X265_DIR / v["bitstream"]).read_bytes()))}
    assert refused == {v["id"] for v in X265_MANIFEST["vectors"] if v["qp"] == "lossless"}
    if DECODERS["hm"].available():  # the refusal is not arbitrary: HM-16.12 really aborts on them
        from cfc_ref.codecs.hevc.hm import decode_hm

        v = next(v for v in X265_MANIFEST["vectors"] if v["qp"] == "lossless")
        with pytest.raises(CodecError, match="parseSPS"):
            decode_hm((X265_DIR / v["bitstream"]).read_bytes(), (v["height"], v["width"]), max(v["bit_depth"], 8))


@spec("H-4.3")
def test_ffmpeg_really_fails_the_refused_class():
    """The refusal is not arbitrary: decoded anyway, FFmpeg gets these wrong (the H-4.3 measurement)."""
    from cfc_ref.codecs.hevc.ffmpeg import decode_ffmpeg

    wrong = 0
    for v in VECTORS:
        if v["qp"] != "lossless":
            continue
        stream = (HM_DIR / v["bitstream"]).read_bytes()
        picture = decode_ffmpeg(stream, (v["height"], v["width"]), max(v["bit_depth"], 8))
        wrong += recon_hash(picture, v["bit_depth"]) != v["recon_sha256"]
    assert wrong == 14


@spec("H-2.1")
@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_hm_reproduces_bitstreams(vector):
    from cfc_ref.codecs.hevc.hm import hm_encoder

    if hm_encoder() is None:
        pytest.skip("no HM-16.12 encoder found ($CFC_HM_DIR, ~/.local/share/cfc-ref/hm-16.12/bin, PATH): "
                    "build it with tools/build_hm.sh")
    stream = encode_picture(load_input(HM_DIR, vector), vector["bit_depth"], vector["qp"], "hm")
    assert hashlib.sha256(stream).hexdigest() == vector["bitstream_sha256"]


@spec("H-3.3", "H-3.1")
@pytest.mark.parametrize("vector", X265_MANIFEST["vectors"], ids=[v["id"] for v in X265_MANIFEST["vectors"]])
def test_x265_golden_bitstreams(vector):
    if x265_version() != X265_MANIFEST["x265_version"]:
        pytest.skip(f"golden x265 bitstreams are for x265 {X265_MANIFEST['x265_version']}, "
                    f"this PyAV carries x265 {x265_version()}")
    stream = encode_picture(load_input(X265_DIR, vector), vector["bit_depth"], vector["qp"], "x265")
    assert hashlib.sha256(stream).hexdigest() == vector["bitstream_sha256"]


@spec("H-4.1")
def test_x265_lossy_streams_agree_across_decoders():
    if "libde265" not in available_decoders():
        pytest.skip("libde265 is not installed")
    for v in X265_MANIFEST["vectors"][:30]:
        stream = (X265_DIR / v["bitstream"]).read_bytes()
        shape = (v["height"], v["width"])
        a, _ = decode_picture(stream, shape, v["bit_depth"], "libde265")
        b, _ = decode_picture(stream, shape, v["bit_depth"], "ffmpeg")
        assert np.array_equal(a, b), v["id"]


@spec("H-1.1", "H-1.3")
def test_settings_validation():
    picture = np.zeros((8, 8), np.uint16)
    with pytest.raises(CodecError, match="1..12"):
        encode_picture(picture, 13, 22)
    for bad in (-1, 52, 22.0, True, "22", None):
        with pytest.raises(CodecError, match="lossless"):
            check_quality(bad)
    with pytest.raises(CodecError, match="multiples of 8"):
        encode_picture(np.zeros((12, 8), np.uint8), 8, 22)
    with pytest.raises(CodecError, match="above 255"):
        encode_picture(np.full((8, 8), 256, np.uint16), 8, 22)
    with pytest.raises(CodecError, match="2-d unsigned"):
        encode_picture(np.zeros((8, 8), np.float32), 8, 22)
    with pytest.raises(CodecError, match="unknown encoder"):
        encode_picture(picture.astype(np.uint8), 8, 22, "jm")  # type: ignore[arg-type]
    assert x265_params(27).endswith(":qp=27") and x265_params("lossless").endswith(":lossless=1")


@spec("H-1.1", "H-5.1")
@pytest.mark.parametrize("n", [1, 4, 7])
def test_low_bit_depths_are_coded_at_8_bits(n):
    rng = np.random.default_rng(n)
    picture = rng.integers(0, 2**n, size=(16, 24)).astype(np.uint8)
    stream = encode_picture(picture, n, "lossless")
    assert stream_info(stream).sps.bit_depth_luma == 8
    assert np.array_equal(decode_picture(stream, picture.shape, n)[0], picture)
    lossy, _ = decode_picture(encode_picture(picture, n, 51), picture.shape, n)
    assert int(lossy.max()) <= 2**n - 1  # clipped after decoding


@spec("H-5.2")
@pytest.mark.parametrize("bit_depth", [8, 10, 12])
def test_lossless_round_trip_and_verification(bit_depth, monkeypatch):
    rng = np.random.default_rng(bit_depth)
    picture = rng.integers(0, 2**bit_depth, size=(24, 40)).astype(np.uint8 if bit_depth == 8 else np.uint16)
    stream = encode_picture(picture, bit_depth, "lossless")
    assert np.array_equal(decode_picture(stream, picture.shape, bit_depth)[0], picture)

    def off_by_one(stream, shape, depth):
        return picture ^ 1

    monkeypatch.setitem(DECODERS, "ffmpeg", DECODERS["ffmpeg"].__class__(
        "ffmpeg", lambda: True, lambda info: True, off_by_one, lambda: "broken"))
    monkeypatch.setenv("CFC_DECODER", "ffmpeg")
    with pytest.raises(CodecError, match="does not decode to its input"):
        encode_picture(picture, bit_depth, "lossless")


@spec("H-3.2")
def test_results_name_the_encoder():
    assert encoder_name("x265") == f"x265 {x265_version()} (PyAV {av.__version__})"
    assert x265_version() != "unknown"
    with pytest.raises(CodecError):
        encoder_name("vtm")  # type: ignore[arg-type]


@spec("H-5.1")
def test_stream_must_match_the_expected_picture():
    v = VECTORS[1]  # blobs416x416_8bit_qp22
    stream = (HM_DIR / v["bitstream"]).read_bytes()
    with pytest.raises(CodecError, match="expected 208×416"):
        decode_picture(stream, (208, 416), 8)
    with pytest.raises(CodecError, match="at 10 bits"):
        decode_picture(stream, (416, 416), 10)
    with pytest.raises(CodecError, match="2 coded slices"):
        decode_picture(stream + stream[stream.index(b"\x00\x00\x01\x26"):], (416, 416), 8)
    color = av.CodecContext.create("libx265", "w")
    color.width = color.height = 16
    color.pix_fmt, color.time_base = "yuv420p", Fraction(1, 1)
    color.options = {"x265-params": "log-level=error"}
    frame = av.VideoFrame.from_ndarray(np.zeros((16, 16, 3), np.uint8), format="rgb24").reformat(format="yuv420p")
    color_stream = b"".join(bytes(p) for p in list(color.encode(frame)) + list(color.encode(None)))
    with pytest.raises(CodecError, match="not 4:0:0"):
        decode_picture(color_stream, (16, 16), 8)


@spec("H-5.3")
@pytest.mark.parametrize("stream", [b"", b"\x00\x00\x01", b"garbage" * 10, b"\x00\x00\x01\x40\x01" + bytes(20)])
def test_malformed_streams(stream):
    with pytest.raises(CodecError):
        decode_picture(stream, (32, 32), 8)


@spec("H-5.3")
@pytest.mark.parametrize("cut", [0.25, 0.5, 0.9, 0.99])
def test_truncated_streams(cut):
    v = VECTORS[0]
    stream = (HM_DIR / v["bitstream"]).read_bytes()
    truncated = stream[: int(len(stream) * cut)]
    try:
        picture, _ = decode_picture(truncated, (v["height"], v["width"]), v["bit_depth"])
    except CodecError:
        return
    assert picture.shape == (v["height"], v["width"])  # a decoder that conceals must still give the right size


SMALL = [v for v in VECTORS if v["width"] * v["height"] <= 64 * 64]


@spec("H-5.3", "H-5.1")
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SMALL), st.data())
def test_fuzzed_streams_never_crash_or_change_size(vector, data):
    stream = bytearray((HM_DIR / vector["bitstream"]).read_bytes())
    for _ in range(data.draw(st.integers(1, 6))):
        pos = data.draw(st.integers(0, len(stream) - 1))
        op = data.draw(st.sampled_from(["flip", "cut", "dup"]))
        if op == "flip":
            stream[pos] ^= 1 << data.draw(st.integers(0, 7))
        elif op == "cut":
            del stream[pos: pos + data.draw(st.integers(1, 16))]
        else:
            stream[pos:pos] = stream[pos: pos + data.draw(st.integers(1, 16))]
        if not stream:
            stream = bytearray(b"\x00")
    shape = (vector["height"], vector["width"])
    try:
        picture, _ = decode_picture(bytes(stream), shape, vector["bit_depth"])
    except CodecError:
        return
    assert picture.shape == shape and int(picture.max()) < 2 ** max(vector["bit_depth"], 8)


def _fake_program(tmp_path, body: str):
    path = tmp_path / "fake-codec"
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


@spec("H-5.3")
def test_external_program_timeout_and_failure(tmp_path, monkeypatch):
    monkeypatch.setenv("CFC_CODEC_TIMEOUT", "1")
    with pytest.raises(CodecError, match="timed out after 1 s"):
        run_tool([_fake_program(tmp_path, "sleep 30")], tmp_path, "fake codec")
    with pytest.raises(CodecError, match=r"failed \(exit 3\): boom"):
        run_tool([_fake_program(tmp_path, "echo boom >&2; exit 3")], tmp_path, "fake codec")
    with pytest.raises(CodecError, match="could not be started"):
        run_tool([str(tmp_path / "missing")], tmp_path, "fake codec")


@spec("H-5.3")
def test_scratch_directories_are_removed():
    before = set(os.listdir(tempfile.gettempdir()))
    with pytest.raises(RuntimeError), scratch_dir() as path:
        (path / "x").write_bytes(b"1")
        raise RuntimeError
    assert not path.exists()
    if "libde265" in available_decoders():
        v = VECTORS[0]
        decode_picture((HM_DIR / v["bitstream"]).read_bytes(), (v["height"], v["width"]), 8, "libde265")
    leftovers = {p for p in set(os.listdir(tempfile.gettempdir())) - before if p.startswith("cfc-ref-")}
    assert not leftovers


@spec("H-4.4")
def test_decoder_choice(monkeypatch):
    info = stream_info((HM_DIR / VECTORS[0]["bitstream"]).read_bytes())  # lossless: ffmpeg not allowed
    with pytest.raises(CodecError, match="unknown decoder"):
        decoders_module.choose_decoder(info, "vlc")
    with pytest.raises(DecoderRefusal, match="not allowed for this stream"):
        decoders_module.choose_decoder(info, "ffmpeg")
    x265_info = stream_info((X265_DIR / X265_MANIFEST["vectors"][0]["bitstream"]).read_bytes())
    in_process = [name for name in ("pylibde265", "ffmpeg") if DECODERS[name].available()]
    assert decoders_module.choose_decoder(x265_info, "fast").name == in_process[0]  # in process first
    if len(available_decoders()) > 1:
        assert decoders_module.choose_decoder(info, "fast").name != "ffmpeg"  # refused class: next conforming one
    monkeypatch.setattr(decoders_module, "DECODER_ORDER", ("ffmpeg",))
    with pytest.raises(CodecError, match="install libde265"):
        decoders_module.choose_decoder(info)
    monkeypatch.setenv("CFC_DECODER", "hm")
    if not DECODERS["hm"].available():
        with pytest.raises(CodecError, match="not installed"):
            decoders_module.choose_decoder(info)


@spec("W-3.2", "H-3.2")
def test_wire_codec_in_the_pipeline():
    from cfc_ref.pipeline import EncodeSettings, bits_of, decode_features, encode_features

    v = np.random.default_rng(0).normal(size=(16, 13, 13)).astype(np.float32)
    data = encode_features({"max_17": v}, EncodeSettings(bit_depth=10, codec=HevcCodec(quality=32)))
    bits = bits_of(data)
    assert bits.side_info_bytes == 8 and bits.payload_bytes > 0
    assert decode_features(data)["max_17"].shape == v.shape


def needs_conforming_lossless_decoder():
    """HM's lossless streams need a decoder other than FFmpeg (H-4.3); without one they are refused, not decoded."""
    if available_decoders() == ["ffmpeg"]:
        pytest.skip("no conforming decoder for HM's lossless streams is installed (pylibde265, libde265 or HM; "
                    "FFmpeg is refused for them, H-4.3)")


@spec("H-1.2")
def test_cli_encode_decode_check(tmp_path, capsys):
    from cfc_ref.cli import main

    v = VECTORS[5]  # blobs416x416_10bit_ll
    out = tmp_path / "x.raw"
    stream = tmp_path / "x.bin"
    assert main(["codec", "encode", str(HM_DIR / v["input"]), "-o", str(stream), "--width", "400", "--height",
                 "416", "--bit-depth", "10", "--qp", "22"]) == 2
    capsys.readouterr()
    assert main(["codec", "check", str(X265_DIR), "--no-encode"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("PASS")
    needs_conforming_lossless_decoder()
    assert main(["codec", "decode", str(HM_DIR / v["bitstream"]), "-o", str(out)]) == 0
    assert hashlib.sha256(out.read_bytes()).hexdigest() == v["recon_sha256"]
    assert main(["codec", "encode", str(HM_DIR / v["input"]), "-o", str(stream), "--width", "416", "--height",
                 "416", "--bit-depth", "10", "--lossless"]) == 0
    assert main(["codec", "decode", str(stream), "-o", str(out)]) == 0
    assert out.read_bytes() == (HM_DIR / v["input"]).read_bytes()


def _copy_vectors(tmp_path, vectors, **changes):
    manifest = dict(HM_MANIFEST, vectors=[dict(v, **changes) for v in vectors])
    for v in vectors:
        for name in (v["bitstream"], v["input"]):
            (tmp_path / name).write_bytes((HM_DIR / name).read_bytes())
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    return tmp_path


@spec("H-4.1", "H-4.5")
def test_check_directory_reports_wrong_pictures(tmp_path):
    report = check_directory(_copy_vectors(tmp_path, [VECTORS[1]], recon_sha256="0" * 64), ["ffmpeg"], encode=False)
    [row] = report.rows
    assert row.counts() == {"exact": 0, "wrong": 1, "refused": 0, "skipped": 0}
    assert "picture hash" in row.outcomes[VECTORS[1]["id"]].detail
    assert report.problems(strict=False) == ["ffmpeg: 1 wrong"]


@spec("H-4.5")
def test_check_counts_refusals_and_strict_fails_on_them(tmp_path, capsys):
    from cfc_ref.cli import main

    lossless, lossy = VECTORS[0], VECTORS[1]
    directory = _copy_vectors(tmp_path, [lossless, lossy])
    report = check_directory(directory, ["ffmpeg"], encode=False)
    assert report.rows[0].counts() == {"exact": 1, "wrong": 0, "refused": 1, "skipped": 0}
    assert report.problems(strict=False) == []
    assert report.problems(strict=True) == ["ffmpeg: 1 refused, 0 skipped (--strict)"]
    assert main(["codec", "check", str(directory), "--decoder", "ffmpeg", "--no-encode"]) == 0
    assert main(["codec", "check", str(directory), "--decoder", "ffmpeg", "--no-encode", "--strict"]) == 1
    out = capsys.readouterr().out
    assert "ffmpeg: " + lossless["id"] + ": refused" in out and out.splitlines()[-1].startswith("FAIL")


@spec("H-4.5")
def test_check_json_and_required_decoders(tmp_path, capsys, monkeypatch):
    from cfc_ref.cli import main

    directory = _copy_vectors(tmp_path, [VECTORS[1]])
    assert main(["codec", "check", str(directory), "--no-encode", "--json", "-"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["passed"] and report["vectors"] == 1 and report["rows"][0]["name"] == "auto"
    assert report["rows"][0]["counts"]["exact"] == 1
    assert main(["codec", "check", str(directory), "--no-encode", "--json", str(tmp_path / "r.json")]) == 0
    assert json.loads((tmp_path / "r.json").read_text())["report_version"] == 1
    monkeypatch.setitem(DECODERS, "hm", dataclasses.replace(DECODERS["hm"], available=lambda: False))
    capsys.readouterr()
    assert main(["codec", "check", str(directory), "--no-encode", "--require-decoder", "hm"]) == 1
    assert "required decoder 'hm' is not installed" in capsys.readouterr().out
    assert main(["codec", "check", str(directory), "--require-decoder", "vlc"]) == 2
    assert "unknown decoder 'vlc'" in capsys.readouterr().err


@spec("H-4.5")
def test_check_encode_modes(tmp_path, monkeypatch):
    from cfc_ref.codecs.hevc import check as check_module

    directory = _copy_vectors(tmp_path, [VECTORS[1]])
    monkeypatch.setattr(check_module, "hm_encoder", lambda: None)
    assert [r.name for r in check_directory(directory, ["ffmpeg"]).rows] == ["ffmpeg"]  # no HM: not asked
    report = check_directory(directory, ["ffmpeg"], encode=True)
    assert report.rows[-1].name == "encode" and report.rows[-1].counts()["skipped"] == 1
    assert report.problems(strict=True) == ["encode: 0 refused, 1 skipped (--strict)"]


@spec("H-4.5")
def test_check_rejects_a_bad_manifest(tmp_path):
    from cfc_ref.cli import main

    assert main(["codec", "check", str(tmp_path)]) == 2
    (tmp_path / "manifest.json").write_bytes(b"\xff\xfe")
    with pytest.raises(CodecError, match="not UTF-8"):
        check_directory(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"vectors": [{"id": "x"}]}))
    with pytest.raises(CodecError, match="'bitstream' is a required property"):
        check_directory(tmp_path)


def test_pyav_decoding_matches_ffmpeg_wrapper():
    v = VECTORS[1]
    with av.open(io.BytesIO((HM_DIR / v["bitstream"]).read_bytes()), format="hevc") as c:
        direct = next(c.decode(video=0)).to_ndarray()
    assert recon_hash(direct, 8) == v["recon_sha256"]


# ------------------------------------------------------------------ H-4.8: one pylibde265 decoder kept between pictures

needs_pylibde265 = pytest.mark.skipif(not DECODERS["pylibde265"].available(), reason="pylibde265 is not installed")


def _renumber_pps(stream: bytes, pps_id: int) -> bytes:
    """The stream with its PPS renamed to ``pps_id`` (its slice still refers to the old id): not self-contained."""
    out = bytearray()
    for start, end, unit in _nal_spans(stream):
        if unit.type != NAL_PPS:
            out += b"\x00\x00\x01" + stream[start:end]
            continue
        bits = "".join(f"{b:08b}" for b in unit.rbsp).rstrip("0")[:-1]  # rbsp_stop_one_bit and alignment off
        assert bits[0] == "1", "the vectors' PPS id is 0, coded as ue(v) '1'"
        code = f"{pps_id + 1:b}"
        bits = "0" * (len(code) - 1) + code + bits[1:] + "1"
        bits += "0" * (-len(bits) % 8)
        rbsp = bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8))
        payload = bytearray()
        for byte in rbsp:  # emulation prevention (H.265 §7.4.2)
            if len(payload) >= 2 and payload[-1] == 0 and payload[-2] == 0 and byte <= 3:
                payload.append(3)
            payload.append(byte)
        out += b"\x00\x00\x01" + stream[start:start + 2] + bytes(payload)
    return bytes(out)


def _nal_spans(stream: bytes):
    """(start, end, NalUnit) of each NAL unit, start at its 2-byte header (after the start code)."""
    starts, i = [], 0
    while (i := stream.find(b"\x00\x00\x01", i)) >= 0:
        starts.append(i + 3)
        i += 3
    units = split_nal_units(stream)
    for k, (start, unit) in enumerate(zip(starts, units, strict=True)):
        end = starts[k + 1] - 3 if k + 1 < len(starts) else len(stream)
        yield start, end, unit


def _slice_only(stream: bytes) -> bytes:
    """The stream's coded slice without the parameter sets it needs."""
    return b"".join(b"\x00\x00\x01" + stream[s:e] for s, e, u in _nal_spans(stream) if u.type < 32)


def _fresh(stream: bytes, shape, depth):
    """What a fresh decoder gives: the kept one is set aside for the call."""
    kept = list(pylibde265_module._KEPT)
    pylibde265_module._KEPT.clear()
    try:
        return decode_pylibde265(stream, shape, depth)
    finally:
        pylibde265_module._KEPT[:] = kept


def _outcome(call):
    try:
        return "picture", call().tobytes()
    except CodecError as err:
        return "error", str(err)


@spec("H-4.8")
def test_self_contained_streams():
    for v in VECTORS:
        assert self_contained((HM_DIR / v["bitstream"]).read_bytes()), v["id"]
    for v in X265_MANIFEST["vectors"]:
        assert self_contained((X265_DIR / v["bitstream"]).read_bytes()), v["id"]
    stream = (HM_DIR / VECTORS[0]["bitstream"]).read_bytes()
    spans = list(_nal_spans(stream))
    for kind in (NAL_VPS, NAL_SPS, NAL_PPS):  # each parameter set the slice needs, taken out
        kept = b"".join(b"\x00\x00\x01" + stream[s:e] for s, e, u in spans if u.type != kind)
        assert not self_contained(kept), kind
    slice_first = b"".join(b"\x00\x00\x01" + stream[s:e] for s, e, u in sorted(spans, key=lambda t: t[2].type >= 32))
    assert not self_contained(slice_first)  # the sets after the slice are too late
    assert not self_contained(_renumber_pps(stream, 1))
    assert stream_info(_renumber_pps(stream, 1)).sps == stream_info(stream).sps  # still well-formed otherwise
    for junk in (b"", b"garbage", stream[:40]):
        assert not self_contained(junk)


@spec("H-4.8")
@needs_pylibde265
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(SMALL + X265_MANIFEST["vectors"][:8]),
                          st.sampled_from(["as is", "renumbered", "slice only", "truncated", "flipped"])),
                min_size=2, max_size=8))
def test_a_kept_decoder_decodes_every_stream_as_a_fresh_one(sequence):
    for v, change in sequence:
        directory = X265_DIR if v in X265_MANIFEST["vectors"] else HM_DIR
        stream = (directory / v["bitstream"]).read_bytes()
        if change == "renumbered":
            stream = _renumber_pps(stream, 1)
        elif change == "slice only":
            stream = _slice_only(stream)
        elif change == "truncated":
            stream = stream[: len(stream) * 2 // 3]
        elif change == "flipped":
            stream = stream[:-8] + bytes(b ^ 0x5A for b in stream[-8:])
        shape, depth = (v["height"], v["width"]), max(v["bit_depth"], 8)
        assert _outcome(lambda: decode_pylibde265(stream, shape, depth)) == _outcome(  # noqa: B023
            lambda: _fresh(stream, shape, depth)), (v["id"], change)  # noqa: B023


@spec("H-4.8")
@needs_pylibde265
def test_a_stream_that_needs_an_earlier_streams_parameter_sets_is_refused(monkeypatch):
    v = VECTORS[0]
    stream = (HM_DIR / v["bitstream"]).read_bytes()
    shape, depth = (v["height"], v["width"]), max(v["bit_depth"], 8)
    slice_only = _slice_only(stream)  # it needs the VPS, SPS and PPS that only the previous stream had
    decode_pylibde265(stream, shape, depth)
    assert pylibde265_module._KEPT, "a clean decode keeps its decoder"
    with pytest.raises(CodecError):
        decode_pylibde265(slice_only, shape, depth)
    # The wrong implementation, a kept decoder for every stream, decodes it with the stale parameter sets (libde265's
    # reset keeps them): the check has teeth.
    monkeypatch.setattr(pylibde265_module, "self_contained", lambda stream: True)
    decode_pylibde265(stream, shape, depth)
    assert recon_hash(decode_pylibde265(slice_only, shape, depth), v["bit_depth"]) == v["recon_sha256"]


@spec("H-4.8")
@needs_pylibde265
def test_a_decoder_that_met_an_error_is_not_kept():
    v = VECTORS[0]
    stream = (HM_DIR / v["bitstream"]).read_bytes()
    shape, depth = (v["height"], v["width"]), max(v["bit_depth"], 8)
    decode_pylibde265(stream, shape, depth)
    kept = pylibde265_module._KEPT[0]
    with pytest.raises(CodecError):
        decode_pylibde265(stream[:-8] + bytes(8), shape, depth)
    assert all(decoder is not kept for decoder in pylibde265_module._KEPT)
    assert recon_hash(decode_pylibde265(stream, shape, depth), v["bit_depth"]) == v["recon_sha256"]


@spec("H-5.1")
@given(st.binary(max_size=40), st.lists(st.sampled_from(["u1", "u3", "u8", "u0", "ue", "se"]), max_size=40))
def test_bit_reader_reads_as_the_standard_says(data, reads):
    """u(n), ue(v), se(v) of H.265 §9.2 against a reading of the bits as a string of '0' and '1'."""
    bits, pos = "".join(f"{b:08b}" for b in data), 0

    def u(n):
        nonlocal pos
        if pos + n > len(bits):
            raise CodecError("ends early")
        pos += n
        return int(bits[pos - n:pos] or "0", 2)

    def ue():
        zeros = 0
        while u(1) == 0:
            zeros += 1
            if zeros > 31:
                raise CodecError("too long")
        return (1 << zeros) - 1 + u(zeros)

    def se():
        k = ue()
        return (k + 1) // 2 if k % 2 else -(k // 2)

    reader = BitReader(data)
    for read in reads:
        if read[1].isdigit():
            expected, got = _outcome_of(u, int(read[1])), _outcome_of(reader.u, int(read[1]))
        else:
            expected = _outcome_of(ue if read == "ue" else se)
            got = _outcome_of(reader.ue if read == "ue" else reader.se)
        assert got == expected, read
        if got[0] == "error":
            break


def _outcome_of(call, *args):
    try:
        return "value", call(*args)
    except CodecError:
        return "error", None
