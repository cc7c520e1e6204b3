"""Run a directory of HEVC vectors laid out like golden/hm-16.12 (manifest.json) against decoders and encoders.

Per vector and decoder: decoding must reproduce ``recon_sha256`` (spec H-4.1) — the outcome is ``exact``, ``wrong``
(another picture, or an error on a valid stream), ``refused`` (the decoder is not allowed for this class of stream,
H-4.3, or no installed decoder is, H-4.4) or ``skipped`` (the decoder is not installed, or the vector has no hash).
Encoding the input with the vector's encoder (HM with its ``hm_options``, or x265 with the manifest's
``x265_params``) must reproduce ``bitstream_sha256`` (H-2.1, H-3.3). The report says what was proved (H-4.5).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from cfc_ref.codecs.hevc import decode_picture
from cfc_ref.codecs.hevc.decoders import DECODER_ORDER, DECODERS, available_decoders
from cfc_ref.codecs.hevc.external import run_tool, scratch_dir
from cfc_ref.codecs.hevc.hm import hm_encoder, hm_version
from cfc_ref.codecs.hevc.x265 import encode_with_params, x265_version
from cfc_ref.codecs.raw import raw_sample_dtype
from cfc_ref.errors import CfcError, CodecError, DecoderRefusal

Status = Literal["exact", "wrong", "refused", "skipped"]
STATUSES: tuple[Status, ...] = ("exact", "wrong", "refused", "skipped")
REPORT_VERSION = 1


@dataclass(frozen=True)
class Outcome:
    status: Status
    detail: str = ""


@dataclass
class Row:
    """One decoder (or ``auto``, the package's own choice per stream, or ``encode``) over every vector."""

    name: str
    version: str
    checked: bool  # counted by --strict (auto, and decoders the user named); else shown for information
    outcomes: dict[str, Outcome] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        counted = Counter(o.status for o in self.outcomes.values())
        return {s: counted.get(s, 0) for s in STATUSES}


@dataclass
class CheckReport:
    directory: str
    vector_ids: list[str]
    rows: list[Row]
    missing_required: list[str]

    def problems(self, strict: bool) -> list[str]:
        """Why the check fails: a wrong picture or bitstream anywhere, a required decoder missing, and with
        ``strict`` anything a checked row did not prove (refused or skipped)."""
        found = [f"required decoder {name!r} is not installed" for name in self.missing_required]
        for row in self.rows:
            counts = row.counts()
            if counts["wrong"]:
                found.append(f"{row.name}: {counts['wrong']} wrong")
            if strict and row.checked and counts["refused"] + counts["skipped"]:
                found.append(f"{row.name}: {counts['refused']} refused, {counts['skipped']} skipped (--strict)")
        return found

    def to_json(self, strict: bool) -> dict:
        return {
            "report_version": REPORT_VERSION,
            "directory": self.directory,
            "vectors": len(self.vector_ids),
            "strict": strict,
            "passed": not self.problems(strict),
            "problems": self.problems(strict),
            "missing_required": self.missing_required,
            "rows": [{"name": r.name, "version": r.version, "checked": r.checked, "counts": r.counts(),
                      "outcomes": {vid: {"status": o.status, "detail": o.detail} for vid, o in r.outcomes.items()}}
                     for r in self.rows],
        }


def raw_bytes(picture: np.ndarray, bit_depth: int) -> bytes:
    """H-1.2 raw layout: uint8, or little-endian uint16."""
    return np.ascontiguousarray(picture, dtype=raw_sample_dtype(bit_depth)).tobytes()


def decode_outcome(directory: Path, v: dict, decoder: str) -> Outcome:
    """One vector through one decoder (``auto``: the package's choice, H-4.4)."""
    if "recon_sha256" not in v:
        return Outcome("skipped", "no recon_sha256 in the manifest")
    if decoder not in ("auto", "fast") and not DECODERS[decoder].available():
        return Outcome("skipped", f"{decoder} is not installed")
    if v["bit_depth"] not in SPEC_BIT_DEPTHS:
        return Outcome("refused", f"{v['bit_depth']}-bit pictures are outside this package's 1–12 bits (H-1.1)")
    try:
        stream = read_member(directory, v["bitstream"])
        picture, used = decode_picture(stream, (v["height"], v["width"]), v["bit_depth"], decoder)
    except DecoderRefusal as err:
        return Outcome("refused", str(err))
    except CfcError as err:
        return Outcome("wrong", f"error on a valid stream: {err}")
    digest = hashlib.sha256(raw_bytes(picture, v["bit_depth"])).hexdigest()
    if digest != v["recon_sha256"]:
        return Outcome("wrong", f"{used}: picture hash {digest[:12]}…")
    return Outcome("exact", used)


def _encode_hm(directory: Path, v: dict) -> bytes:
    program = hm_encoder()
    if program is None:
        raise CodecError("no HM encoder")
    with scratch_dir() as tmp:
        (tmp / "input.yuv").write_bytes(read_member(directory, v["input"]))
        args = [program, *v["hm_options"], "--InputFile=input.yuv",
                "--BitstreamFile=out.bin"]
        run_tool(args, tmp, "HM encoder")
        return (tmp / "out.bin").read_bytes()


def encode_outcome(directory: Path, manifest: dict, v: dict) -> Outcome:
    if "bitstream_sha256" not in v:
        return Outcome("skipped", "no bitstream_sha256 in the manifest")
    try:
        if "hm_options" in v:
            if hm_encoder() is None:
                return Outcome("skipped", "no HM encoder ($CFC_HM_DIR, tools/build_hm.sh)")
            stream = _encode_hm(directory, v)
        elif "x265_params" in manifest:
            if manifest.get("x265_version") != x265_version():
                return Outcome("skipped", f"vectors are for x265 {manifest.get('x265_version')}, "
                                          f"this is x265 {x265_version()}")
            depth = v["bit_depth"]
            samples = np.frombuffer(read_member(directory, v["input"]), dtype=raw_sample_dtype(depth))
            if samples.size != v["height"] * v["width"]:
                return Outcome("wrong", f"input has {samples.size} samples, a {v['height']}×{v['width']} picture "
                                        f"needs {v['height'] * v['width']}")
            samples = samples.reshape(v["height"], v["width"]).astype(np.uint8 if depth == 8 else np.uint16)
            tail = "lossless=1" if v["qp"] == "lossless" else f"qp={v['qp']}"
            stream = encode_with_params(samples, depth, f"{manifest['x265_params']}:{tail}")
        else:
            return Outcome("skipped", "the manifest names no encoder settings")
    except CfcError as err:
        return Outcome("wrong", f"encoder error: {err}")
    digest = hashlib.sha256(stream).hexdigest()
    return Outcome("exact") if digest == v["bitstream_sha256"] else Outcome("wrong", f"bitstream hash {digest[:12]}…")


def _encoder_version(manifest: dict) -> str:
    if "x265_params" in manifest:
        return f"x265 {x265_version()}"
    program = hm_encoder()
    return hm_version(program) if program else "HM (not installed)"


MAX_MANIFEST_BYTES = 16 << 20
MAX_MEMBER_BYTES = 256 << 20
SPEC_BIT_DEPTHS = range(1, 13)  # H-1.1: what a conforming picture of this package can be


def load_manifest(directory: Path) -> dict:
    """H-4.7: ``directory/manifest.json`` validated against its JSON Schema before any other file is opened."""
    import jsonschema

    from cfc_ref.configfile import parse_json
    from cfc_ref.fileio import read_bounded

    path = directory / "manifest.json"
    if not directory.is_dir():
        raise CodecError(f"{directory}: not a directory of vectors (a directory laid out like golden/hm-16.12)")
    if not path.exists():
        raise CodecError(f"{directory}: no manifest.json (a directory laid out like golden/hm-16.12)")
    if path.is_symlink():
        raise CodecError(f"{path} is a symbolic link; a manifest is read only as a file inside the directory")
    try:
        manifest = parse_json(read_bounded(path, MAX_MANIFEST_BYTES), str(path), "manifest")
    except CfcError as err:
        raise CodecError(str(err)) from None
    schema = json.loads((Path(__file__).parent / "vectors.schema.json").read_text(encoding="utf-8"))
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(manifest))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "the top level"
        raise CodecError(f"{path}: {where}: {error.message[:200]} (see cfc_ref/codecs/hevc/vectors.schema.json)")
    ids = [v["id"] for v in manifest["vectors"]]
    if len(set(ids)) != len(ids):
        raise CodecError(f"{path}: vector ids must be unique ({next(i for i in ids if ids.count(i) > 1)!r} repeats)")
    for v in manifest["vectors"]:  # every file it names: a regular file inside the directory, before any is read
        for key in ("bitstream", "input"):
            if key in v:
                _check_member(directory, v[key], f"{path}: vector {v['id']!r} {key}")
    return manifest


def _check_member(directory: Path, name: str, where: str) -> None:
    import stat

    if name.startswith("../"):  # an input in a sibling directory (the schema allows exactly ../<dir>/<file>)
        sibling = directory.parent / name.split("/")[1]
        if sibling.is_symlink() or not sibling.is_dir():
            raise CodecError(f"{where}: {sibling} is not a directory beside {directory}")
    try:
        info = (directory / name).lstat()
    except FileNotFoundError:
        raise CodecError(f"{where}: {directory / name} does not exist") from None
    if not stat.S_ISREG(info.st_mode):
        kind = "a symbolic link" if stat.S_ISLNK(info.st_mode) else "not a regular file"
        raise CodecError(f"{where}: {directory / name} is {kind}; vectors are read only as files inside their "
                         "directory")
    if info.st_size > MAX_MEMBER_BYTES:
        raise CodecError(f"{where}: {directory / name} is larger than {MAX_MEMBER_BYTES} bytes")


def read_member(directory: Path, name: str) -> bytes:
    """H-4.7: a file the manifest names (checked by :func:`load_manifest`), read with its size bounded."""
    from cfc_ref.fileio import read_bounded

    _check_member(directory, name, str(directory / "manifest.json"))
    return read_bounded(directory / name, MAX_MEMBER_BYTES)


def check_directory(directory: str | Path, decoders: list[str] | None = None, encode: bool | None = None,
                    required: list[str] | None = None) -> CheckReport:
    """Check every vector of ``directory``.

    ``decoders``: rows to check (names of H-4.2 or ``auto``); default ``auto`` plus, for information, every
    installed decoder. ``encode``: None checks bitstreams when the vector's encoder is present (not counted by
    --strict otherwise), True always (a missing encoder is a skip), False never. ``required``: decoders that must be
    installed, checked as rows too.
    """
    directory = Path(directory)
    manifest = load_manifest(directory)
    required = list(required or [])
    for name in [*(decoders or []), *required]:
        if name not in ("auto", "fast") and name not in DECODERS:
            raise CodecError(f"unknown decoder {name!r}; choose from auto, fast, {', '.join(DECODER_ORDER)}")
    if any(name in ("auto", "fast") for name in required):
        raise CodecError("--require-decoder names an installed decoder, not a policy (auto, fast)")
    chosen = [(name, True) for name in decoders] if decoders else [("auto", True)] + [
        (name, False) for name in available_decoders()]
    for name in required:
        chosen = [(n, c or n == name) for n, c in chosen]
        if name not in [n for n, _ in chosen]:
            chosen.append((name, True))
    policies = {"auto": "first conforming of ", "fast": "first conforming, in process first, of "}
    rows = [Row(name, policies[name] + ", ".join(available_decoders()) if name in policies
                else DECODERS[name].describe() if DECODERS[name].available() else "not installed", checked)
            for name, checked in chosen]
    # H-4.5: the encode row covers the vectors that name an encoder's settings; decode-only vectors are not in it
    encodable = [v for v in manifest["vectors"] if "bitstream_sha256" in v and "input" in v
                 and ("hm_options" in v or "x265_params" in manifest)]
    encode_row = None
    if encode is not False and encodable:
        present = "x265_params" in manifest or hm_encoder() is not None
        if encode or present:
            encode_row = Row("encode", _encoder_version(manifest), checked=bool(encode) or present)
    for v in manifest["vectors"]:
        for row in rows:
            row.outcomes[v["id"]] = decode_outcome(directory, v, row.name)
        if encode_row is not None and v in encodable:
            encode_row.outcomes[v["id"]] = encode_outcome(directory, manifest, v)
    missing = [name for name in required if not DECODERS[name].available()]
    return CheckReport(str(directory), [v["id"] for v in manifest["vectors"]],
                       rows + ([encode_row] if encode_row else []), missing)


def _abbreviated(ids: list[str], most: int = 4) -> str:
    return ", ".join(ids[:most]) + (f", … {len(ids) - most} more" if len(ids) > most else "")


def format_report(report: CheckReport, strict: bool, verbose: bool = False) -> str:
    lines = [f"{report.directory}: {len(report.vector_ids)} vectors",
             f"{'row':12} {'exact':>6} {'wrong':>6} {'refused':>8} {'skipped':>8}  version"]
    for row in report.rows:
        c = row.counts()
        mark = "" if row.checked else "  (for information)"
        lines.append(f"{row.name:12} {c['exact']:6d} {c['wrong']:6d} {c['refused']:8d} {c['skipped']:8d}  "
                     f"{row.version}{mark}")
    for row in report.rows:  # each reason once, with the vectors it applies to (a hint is not repeated 15 times)
        shown: dict[tuple[str, str], list[str]] = {}
        for vid, o in row.outcomes.items():
            if verbose or o.status == "wrong" or (o.status != "exact" and row.checked and strict):
                shown.setdefault((o.status, o.detail), []).append(vid)
        for (status, detail), ids in shown.items():
            which = ids[0] if len(ids) == 1 else f"{len(ids)} vectors ({_abbreviated(ids)})"
            lines.append(f"  {row.name}: {which}: {status}{': ' + detail if detail else ''}")
    problems = report.problems(strict)
    lines.append(("FAIL: " + "; ".join(problems)) if problems else
                 f"PASS{' (strict: every checked row exact on every vector)' if strict else ''}")
    return "\n".join(lines)
