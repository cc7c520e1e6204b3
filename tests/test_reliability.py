"""Reliability round 4 (issue 31): nothing a user names can destroy a run or a device, nothing read is unbounded,
the store's own types are checked, packs never append behind torn bytes, inputs are escaped where they are shown,
numbers at the ends of binary64 are a number or a named refusal (spec E-3.3, E-3.5, E-5.1, E-6.3, E-6.4, E-9.2,
E-9.6, E-11.4, M-5.3)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cfc_ref.data.synthetic import write_dataset
from cfc_ref.experiment.local_engine import run
from cfc_ref.experiment.store import STORE_SCHEMA, STORE_VERSION

from cfc_testing import ROOT, one_line, resume, stop_when, tiny
from cfc_testing import run_cli as cli

spec = pytest.mark.spec
ROOT_USER = os.geteuid() == 0


def _python(*args: str, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cfc_ref.cli", *args], cwd=kwargs.pop("cwd", ROOT),
                          capture_output=True, text=True, timeout=timeout, **kwargs)


@pytest.fixture(scope="module")
def finished(model_files, tmp_path_factory) -> Path:
    """A finished small run directory (with its report), copied by tests that may damage it."""
    from cfc_ref.cli import main

    out = tmp_path_factory.mktemp("finished") / "run"
    path = run(tiny(model_files, out), progress=False)
    assert main(["report", str(path), "--no-layers"]) == 0
    return out


def _copy(finished: Path, tmp_path: Path) -> Path:
    target = tmp_path / "run"
    shutil.copytree(finished, target)
    return target


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------ 1, 2: output paths a user names (E-6.3)


@spec("E-6.3")
@pytest.mark.parametrize("name", ["results.sqlite", "results.sqlite-wal", "results.json", "results.csv",
                                  "table1.json", "table1.csv", "report.md", "config.json", ".lock",
                                  "fig4_lossless.png", "fig5_lossy.json", "cache/test_000000.pack"])
def test_no_command_writes_its_json_over_a_run_directorys_own_file(finished, tmp_path, capsys, name):
    out = _copy(finished, tmp_path)
    before = _snapshot(out)
    curve = tmp_path / "c.csv"
    curve.write_text("kbpi,map\n1,0.1\n2,0.2\n4,0.3\n8,0.4\n")
    for argv in (["metrics", "bd", str(curve), str(curve), "--json", str(out / name)],
                 ["report", str(out / "results.json"), "--no-layers", "--json", str(out / name)]):
        code, err = cli(argv, capsys)
        one_line(code, err, f"--json {out / name}", "of a run directory")
    assert _snapshot(out) == before  # nothing written, nothing replaced


@spec("E-6.3")
def test_a_run_refuses_its_own_store_as_json_before_any_work(model_files, tmp_path, capsys):
    config = tiny(model_files, tmp_path / "fresh")
    path = tmp_path / "c.json"
    path.write_text(config.to_json())
    for name in ("results.sqlite", "results.json", "retrained-max_11/results.json"):
        code, err = cli(["run", str(path), "--quiet", "--json", str(tmp_path / "fresh" / name)], capsys)
        if name.startswith("retrained"):  # not a sweep of this config: an ordinary file
            assert code == 0, err
            continue
        one_line(code, err, "of a run directory")
        assert not (tmp_path / "fresh").exists()  # refused before the run made anything


@spec("E-6.3")
def test_devices_fifos_and_stdout_are_streams_never_replaced(tmp_path):
    curve = tmp_path / "c.csv"
    curve.write_text("kbpi,map\n1,0.1\n2,0.2\n4,0.3\n8,0.4\n")
    for device in ("/dev/null", "/dev/stdout"):
        done = _python("metrics", "bd", str(curve), str(curve), "--json", device)
        assert done.returncode == 0, done.stderr
        assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
        if device == "/dev/stdout":
            assert '"bd_kbpi_percent"' in done.stdout and done.stdout.count("BD-KBPI-mAP (cubic)") == 1
    full = _python("metrics", "bd", str(curve), str(curve), "--json", "/dev/full")
    assert full.returncode == 2 and "--json /dev/full: cannot write (No space left on device)" in full.stderr
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    nobody = _python("metrics", "bd", str(curve), str(curve), "--json", str(fifo), timeout=60)
    assert nobody.returncode == 2 and "a FIFO that nobody reads" in nobody.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


@spec("E-6.3")
def test_an_empty_name_or_an_impossible_path_names_what_the_user_gave(tmp_path, capsys):
    curve = tmp_path / "c.csv"
    curve.write_text("kbpi,map\n1,0.1\n2,0.2\n4,0.3\n8,0.4\n")
    one_line(*cli(["metrics", "bd", str(curve), str(curve), "--json", ""], capsys), "--json needs a file name")
    blocked = tmp_path / "plain"
    blocked.write_text("x")
    code, err = cli(["metrics", "bd", str(curve), str(curve), "--json", str(blocked / "x.json")], capsys)
    one_line(code, err, f"--json {blocked / 'x.json'}: Not a directory")
    assert ".partial" not in err
    one_line(*cli(["metrics", "bd", str(curve), str(curve), "--json", str(tmp_path)], capsys), "a directory")
    raw = tmp_path / "raw"
    raw.write_bytes(bytes(256))
    one_line(*cli(["codec", "encode", str(raw), "-o", "", "--width", "16", "--height", "16", "--bit-depth", "8",
                   "--qp", "30"], capsys), "-o needs a file name")


@spec("E-6.3")
def test_an_output_path_that_is_not_utf8_is_refused_before_any_work(tmp_path):
    target = os.fsencode(tmp_path) + b"/out\xff"
    done = subprocess.run([sys.executable, "-m", "cfc_ref.cli", "run", "--output", target, "--quiet", "--limit",
                           "1"], cwd=ROOT, capture_output=True, timeout=120)
    assert done.returncode == 2 and b"output is not UTF-8 text" in done.stderr and done.stderr.count(b"\n") == 1
    assert not os.path.lexists(target)


# ------------------------------------------------------------------ 3, 4: bounded reads that never hang (E-3.5)


@spec("E-3.5")
def test_metrics_bd_refuses_devices_and_fifos_without_reading_them(tmp_path):
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    for source in ("/dev/zero", str(fifo)):
        done = _python("metrics", "bd", source, source, timeout=30)
        assert done.returncode == 2 and "not a regular file" in done.stderr, done.stderr


@spec("E-3.5", "M-5.7")
def test_a_byte_order_mark_is_read_as_spreadsheets_write_it(tmp_path, capsys):
    curve = tmp_path / "c.csv"
    curve.write_bytes(b"\xef\xbb\xbfkbpi,map\r\n1,0.1\r\n2,0.2\r\n4,0.3\r\n8,0.4\r\n")
    code, err = cli(["metrics", "bd", str(curve), str(curve), "--json"], capsys)
    assert code == 0, err


@spec("E-3.3", "E-3.5")
@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_fifo_or_device_planted_as_a_pack_is_refused_by_name(model_files, tmp_path, kind):
    if kind == "device" and not ROOT_USER:
        pytest.skip("making a character device needs root")
    config = tiny(model_files, tmp_path / "out")
    path = tmp_path / "c.json"
    path.write_text(config.to_json())
    pack = tmp_path / "out" / "cache" / "test_000000.pack"
    pack.parent.mkdir(parents=True)
    if kind == "fifo":
        os.mkfifo(pack)
    else:
        os.mknod(pack, stat.S_IFCHR | 0o600, os.makedev(1, 5))  # /dev/zero's numbers
    done = _python("run", str(path), "--quiet", timeout=120)
    assert done.returncode == 2 and "test_000000.pack: not a regular file" in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1


# ------------------------------------------------------------------ 5, 6: the store's types and a full disk (E-9)


def _loose(store: Path, table: str) -> None:
    """Drop STRICT from a table's schema (what a damaged or hand-edited file may hold), so that a value of another
    type can be written into it: the read side must still find it."""
    with sqlite3.connect(store) as db:
        db.execute("PRAGMA writable_schema = ON")
        db.execute("UPDATE sqlite_master SET sql = replace(sql, ' STRICT', '') WHERE name = ?", (table,))
        db.execute("UPDATE sqlite_master SET sql = replace(sql, ', STRICT', '') WHERE name = ?", (table,))


@spec("E-9.2", "E-9.4")
def test_strict_tables_refuse_a_value_of_another_type(finished, tmp_path):
    out = _copy(finished, tmp_path)
    with sqlite3.connect(out / "results.sqlite") as db:
        for statement in ("UPDATE units SET encoder = CAST(encoder AS BLOB)", "UPDATE units SET first = 'x'"):
            with pytest.raises(sqlite3.DatabaseError, match="cannot store"):
                db.execute(statement)


@spec("E-9.2", "E-9.4")
@pytest.mark.parametrize("edit", ["UPDATE units SET encoder = CAST(encoder AS BLOB) WHERE id = (SELECT min(id) FROM "
                                  "units)", "UPDATE units SET first = 'x' WHERE id = (SELECT min(id) FROM units)",
                                  "UPDATE units SET image = 7 WHERE id = (SELECT max(id) FROM units)",
                                  "UPDATE units SET feature_digests = substr(feature_digests, 2) WHERE id = (SELECT "
                                  "min(id) FROM units WHERE features != '')"])
def test_a_unit_of_the_wrong_type_is_damaged_and_computed_again(finished, tmp_path, edit, model_files):
    out = _copy(finished, tmp_path)
    _loose(out / "results.sqlite", "units")
    with sqlite3.connect(out / "results.sqlite") as db:
        db.execute(edit)
    path = tmp_path / "c.json"
    path.write_text(replace(tiny(model_files, out), dataset_root=str(finished.parent / "data")).to_json())
    done = _python("run", str(path), "--quiet", timeout=300)
    assert done.returncode == 0 and "1 recorded units did not match their digest" in done.stderr, done.stderr
    assert (out / "results.csv").read_bytes() == (finished / "results.csv").read_bytes()


@spec("E-9.6")
@pytest.mark.parametrize("damage", ["drop", "shm-directory", "wal-fifo", "version"])
def test_an_unusable_store_is_one_line_naming_it(finished, tmp_path, damage, model_files):
    out = _copy(finished, tmp_path)
    store = out / "results.sqlite"
    if damage == "drop":
        with sqlite3.connect(store) as db:
            db.execute("DROP TABLE blocks")
        expected = "table blocks missing"
    elif damage == "shm-directory":
        (out / "results.sqlite-shm").mkdir()
        expected = "results.sqlite-shm is not a regular file"
    elif damage == "wal-fifo":
        os.mkfifo(out / "results.sqlite-wal")
        expected = "results.sqlite-wal is not a regular file"
    else:
        with sqlite3.connect(store) as db:
            db.execute(f"PRAGMA user_version = {STORE_VERSION + 1}")
        expected = (f"schema '{STORE_SCHEMA}' (user_version {STORE_VERSION + 1}); this cfc-ref reads '{STORE_SCHEMA}' "
                    f"(user_version {STORE_VERSION})")
    path = tmp_path / "c.json"
    path.write_text(replace(tiny(model_files, out), dataset_root=str(finished.parent / "data")).to_json())
    done = _python("run", str(path), "--quiet", timeout=120)
    assert done.returncode == 2 and expected in done.stderr and done.stderr.count("\n") == 1, done.stderr


@spec("E-9.6", "E-6.4", "E-4.1")
@pytest.mark.skipif(not ROOT_USER or shutil.which("unshare") is None, reason="a private tmpfs needs root and unshare")
@pytest.mark.parametrize("size", ["4k", "120k", "160k", "240k", "360k"])
def test_a_full_disk_is_one_line_naming_the_file_and_the_run_resumes(model_files, tmp_path, size):
    """The run directory on a tmpfs of ``size`` (in a private mount namespace): exit 2 with one line naming a file
    of the run directory, or 0; then, the tmpfs made larger, the same command finishes with the results of a run
    that never ran short; a run that failed before recording anything leaves no store and no directory."""
    data = tmp_path / "data"
    write_dataset(data, train=0, test=2)
    reference = run(tiny(model_files, tmp_path / "ref", dataset_root=str(data)), progress=False).parent
    mount = tmp_path / "mnt"
    mount.mkdir()
    config = tiny(model_files, mount / "run", dataset_root=str(data))
    path = tmp_path / "c.json"
    path.write_text(config.to_json())
    command = f"{sys.executable} -m cfc_ref.cli run {path} --quiet"
    script = (f"mount -t tmpfs -o size={size} none {mount} || exit 97; cd {ROOT}; {command} 2> {tmp_path}/first.err;"
              f" echo $? > {tmp_path}/first.rc; ls -A {mount} > {tmp_path}/left; "
              f"mount -o remount,size=64m {mount}; {command} 2> {tmp_path}/second.err; echo $? > {tmp_path}/second.rc;"
              f" cp {mount}/run/results.csv {tmp_path}/resumed.csv")
    subprocess.run(["unshare", "-m", "sh", "-c", script], timeout=600, check=False)
    first, err = int((tmp_path / "first.rc").read_text()), (tmp_path / "first.err").read_text()
    assert first in (0, 2), err
    if first == 2:
        assert err.count("\n") == 1 and "Traceback" not in err and str(mount) in err, err
        assert "space" in err.lower() or "full" in err.lower(), err
    if size == "4k":
        assert first == 2 and (tmp_path / "left").read_text().strip() == "", "a failed first run leaves nothing"
    assert int((tmp_path / "second.rc").read_text()) == 0, (tmp_path / "second.err").read_text()
    assert (tmp_path / "resumed.csv").read_bytes() == (reference / "results.csv").read_bytes()


# ------------------------------------------------------------------ 7: inputs escaped where shown (E-11.4)


@spec("E-11.4")
def test_names_in_a_results_file_add_no_rows_headings_or_formulas_to_the_report(finished, tmp_path, capsys):
    out = _copy(finished, tmp_path)
    data = json.loads((out / "results.json").read_text())
    data["rows"][0]["setting"] = "max_11-8bit-lossless\n| forged | row |"
    data["rows"][1]["encoder"] = "x265\n## injected [link](http://x) <b>$x^2$</b>"
    data["config"]["name"] = "tiny\n# heading $\\alpha$"
    (out / "results.json").write_text(json.dumps(data))
    code, err = cli(["report", str(out / "results.json"), "--no-layers"], capsys)
    assert code == 0 and "Warning" not in err, err
    report = (out / "report.md").read_text()
    lines = report.splitlines()
    assert not any(line.startswith(("| forged", "## injected", "# heading")) for line in lines)
    assert "\\| forged \\| row \\|" in report and "\\#\\# injected \\[link\\](http://x) \\<b\\>" in report
    assert lines[0] == "# tiny \\# heading $\\\\alpha$"
    table = [line for line in lines if line.startswith("| max_11-8bit-lossless")]
    assert len(table) == 1 and table[0].count(" | ") == 9  # still one row of ten cells


# ------------------------------------------------------------------ 8: packs append only after good entries (E-3.3)


@spec("E-3.3")
def test_a_pack_with_a_torn_tail_is_rewritten_before_it_grows(tmp_path):
    from cfc_ref.codecs.hevc.batch import PackCache

    path = tmp_path / "img.pack"
    pack = PackCache(path)
    for key, stream in (("01" * 32, b"first"), ("02" * 32, b"second"), ("03" * 32, b"third")):
        pack.put(key, stream)
    path.write_bytes(path.read_bytes()[:-3])  # the third entry torn, as a kill mid-write leaves it
    resumed = PackCache(path)
    assert set(resumed.entries) == {"01" * 32, "02" * 32} and resumed.corrupt == 1
    resumed.put("03" * 32, b"third")  # encoded again, appended after the good entries only
    again = PackCache(path)
    assert again.corrupt == 0 and again.entries == {"01" * 32: b"first", "02" * 32: b"second", "03" * 32: b"third"}


@spec("E-3.3")
def test_a_damaged_entry_costs_itself_only_and_is_counted_as_re_encoded(tmp_path):
    from cfc_ref.codecs.hevc.batch import PackCache

    path = tmp_path / "img.pack"
    pack = PackCache(path)
    for key, stream in (("01" * 32, b"first"), ("02" * 32, b"second"), ("03" * 32, b"third")):
        pack.put(key, stream)
    for at in (0, PackCache.HEAD + 1):  # the first entry's magic, then a byte of its bitstream
        data = bytearray(path.read_bytes())
        data[at] ^= 0xFF
        path.write_bytes(bytes(data))
        damaged = PackCache(path)
        assert set(damaged.entries) == {"02" * 32, "03" * 32} and damaged.corrupt == 1
        data[at] ^= 0xFF
        path.write_bytes(bytes(data))
    two = bytearray(path.read_bytes())
    second = PackCache.HEAD + len(b"first")
    two[1] ^= 0xFF
    two[second + 1] ^= 0xFF  # two adjacent entries' magics: two re-encoded, two counted
    path.write_bytes(bytes(two))
    damaged = PackCache(path)
    assert set(damaged.entries) == {"03" * 32} and damaged.corrupt == 2


@spec("E-4.1", "E-3.3")
def test_a_torn_pack_then_two_interrupted_resumes_encode_each_bitstream_once_more_at_most(model_files, tmp_path,
                                                                                        monkeypatch):
    """Issue 31's reproduction: one entry torn; a resume killed after its first fresh encode; a second resume. Only
    the torn entry's bitstream is encoded again, once."""
    from cfc_ref.codecs.hevc.batch import PackCache
    from cfc_ref.experiment import local_engine

    config = tiny(model_files, tmp_path / "out", images=1, qps=(32, 37, 42))
    write_dataset(Path(config.dataset_root), train=0, test=1)
    pack = tmp_path / "out" / "cache" / "test_000000.pack"
    real_put, fresh = PackCache.put, []

    def stop_after(count: int):  # noqa: ANN202
        def put(self, key, stream):  # noqa: ANN001, ANN202
            real_put(self, key, stream)
            fresh.append(key)
            if len(fresh) >= count:
                raise KeyboardInterrupt

        return put

    monkeypatch.setattr(PackCache, "put", stop_after(4))
    with pytest.raises(KeyboardInterrupt):
        run(config, local_engine.SerialExecutor(), progress=False)
    pack.write_bytes(pack.read_bytes()[:-5])  # the fourth entry torn
    fresh.clear()
    monkeypatch.setattr(PackCache, "put", stop_after(1))
    with pytest.raises(KeyboardInterrupt):
        run(config, local_engine.SerialExecutor(), progress=False)
    first_resume = list(fresh)
    fresh.clear()
    monkeypatch.setattr(PackCache, "put", stop_after(10**6))
    run(config, local_engine.SerialExecutor(), progress=False)
    assert len(first_resume) == 1 and first_resume[0] not in fresh  # never encoded a third time
    total = 3 + 1 + len(first_resume) + len(fresh)  # kept entries, the torn one, and what the resumes made
    reference = []
    monkeypatch.setattr(PackCache, "put",
                        lambda self, key, stream: (real_put(self, key, stream), reference.append(key)))
    run(replace(config, output=str(tmp_path / "ref")), local_engine.SerialExecutor(), progress=False)
    assert total == len(reference) + 1  # exactly one bitstream (the torn one) encoded twice in all


# ------------------------------------------------------------------ 9: the ends of binary64 (M-5.3, E-5.1)


@spec("M-5.3")
def test_rates_at_the_ends_of_binary64_are_refused_by_the_stated_bounds(tmp_path, capsys):
    high = tmp_path / "high.csv"
    high.write_text("kbpi,map\n1e300,0.5\n2e300,0.6\n4e300,0.7\n8e300,0.75\n")
    low = tmp_path / "low.csv"
    low.write_text("kbpi,map\n1e-300,0.5\n2e-300,0.6\n4e-300,0.7\n8e-300,0.75\n")
    code, err = cli(["metrics", "bd", str(high), str(low)], capsys)
    one_line(code, err, "rate outside [1e-06, 1e+09] kilobits per image")


@spec("M-5.3", "M-5.6")
def test_a_change_of_nearly_minus_100_percent_is_a_number_not_an_error(tmp_path, capsys):
    anchor = tmp_path / "a.csv"
    anchor.write_text("kbpi,map\n1e8,0.5\n2e8,0.6\n4e8,0.7\n8e8,0.75\n")
    test = tmp_path / "t.csv"
    test.write_text("kbpi,map\n1e-5,0.5\n2e-5,0.6\n4e-5,0.7\n8e-5,0.75\n")
    from cfc_ref.cli import main

    capsys.readouterr()
    assert main(["metrics", "bd", str(anchor), str(test), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert -100 <= document["read"]["bd_kbpi_percent"]["value"] < -99.9999

@spec("E-5.1")
@pytest.mark.parametrize("field,value", [("kbpi", 1.7e308), ("kbpi_std", 1e308), ("container_kbpi", 1e300),
                                         ("kbpi", 5e-324)])
def test_results_with_kbpi_beyond_the_bounds_are_refused(finished, tmp_path, capsys, field, value):
    out = _copy(finished, tmp_path)
    data = json.loads((out / "results.json").read_text())
    data["rows"][-1][field] = value
    (out / "results.json").write_text(json.dumps(data))
    code, err = cli(["report", str(out / "results.json"), "--no-layers"], capsys)
    one_line(code, err, "kbpi must lie in [1e-06, 1e+09]")


# ------------------------------------------------------------------ noise: no warning a user cannot act on


@spec("E-6.1")
def test_a_sweep_without_lossy_or_cloud_rows_prints_no_warning(model_files, tmp_path):
    config = tiny(model_files, tmp_path / "out", qps=(), jpeg_qualities=(), original_upload=True)
    path = tmp_path / "c.json"
    path.write_text(config.to_json())
    done = _python("run", str(path), "--quiet", timeout=300)
    assert done.returncode == 0 and "Warning" not in done.stderr and "No artists" not in done.stderr, done.stderr


@spec("E-3.1")
@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGHUP, signal.SIGKILL])
def test_a_killed_run_leaves_no_leaked_semaphore_warning(model_files, tmp_path, signal_number):
    config = tiny(model_files, tmp_path / "out", images=4, workers=2, qps=(32, 37, 42))
    write_dataset(tmp_path / "data", train=0, test=4)
    path = tmp_path / "c.json"
    path.write_text(config.to_json())
    log = tmp_path / "encodes.log"
    process = subprocess.Popen([sys.executable, "-m", "cfc_ref.cli", "run", str(path), "--quiet"], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True,
                               env=dict(os.environ, CFC_ENCODE_LOG=str(log)))
    stop_when(process, lambda: log.exists() and bool(log.read_text()))  # nothing moves until the signal is sent
    process.send_signal(signal_number)
    resume(process)
    _, err = process.communicate(timeout=60)
    time.sleep(1.0)  # the resource tracker speaks after the run's end, if at all
    assert "leaked" not in err and "resource_tracker" not in err, err


# ------------------------------------------------------------------ the mutation fuzz, extended (issue 31)


STORE_COLUMNS = {"units": ("setting", "image", "payload_bytes", "encoder", "decoders", "samples", "width", "block",
                           "first", "detections", "digest"),
                 "blocks": ("records",), "meta": ("value",), "settings": ("key", "bit_depth", "qp"),
                 "images": ("image", "sha256"), "results": ("setting", "kbpi", "map_voc07", "qp", "uncoded"),
                 "sweeps": ("wall", "units"), "timings": ("seconds", "stage")}
HOSTILE_VALUES = st.sampled_from([None, "", "x", "\n| row |", b"", b"\x00\xff", -1, 0, 2**62, -(2**62), 1.5, 1e308,
                                  float("nan")])


@spec("E-9.4", "E-9.6", "E-6.1")
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=st.sampled_from(sorted(STORE_COLUMNS)), data=st.data(), value=HOSTILE_VALUES)
def test_fuzz_a_store_with_one_value_of_another_type(finished, model_files, tmp_path_factory, capsys, table, data,
                                                   value):
    """Any column of any table holding a value of another type (written past STRICT, as damage could): the resume
    recomputes what it can and refuses the rest in one line — never an internal error (exit 3)."""
    out = _copy(finished, tmp_path_factory.mktemp("store"))
    column = data.draw(st.sampled_from(STORE_COLUMNS[table]), label="column")
    _loose(out / "results.sqlite", table)
    try:
        with sqlite3.connect(out / "results.sqlite") as db:
            db.execute(f"UPDATE {table} SET {column} = ? WHERE rowid = (SELECT min(rowid) FROM {table})", (value,))
    except sqlite3.DatabaseError:  # NOT NULL, a key or WITHOUT ROWID refuses the edit itself
        return
    config = replace(tiny(model_files, out), dataset_root=str(finished.parent / "data"))
    path = out.parent / "c.json"
    path.write_text(config.to_json())
    code, err = cli(["run", str(path), "--quiet"], capsys)
    assert code in (0, 2), err
    assert "Traceback" not in err and "internal error" not in err, err
    if code == 0:
        assert (out / "results.csv").read_bytes() == (finished / "results.csv").read_bytes()


@spec("E-6.3")
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(["null", "full", "fifo", "store", "wal", "report", "figure", "cache", "directory",
                             "under-a-file", "link-to-store", "new", "existing", "empty"]))
def test_fuzz_output_paths(finished, tmp_path_factory, capsys, kind):
    """Every kind of --json FILE: a result or one line; no run file and no non-regular file is ever replaced."""
    base = tmp_path_factory.mktemp("out")
    out = _copy(finished, base)
    curve = base / "c.csv"
    curve.write_text("kbpi,map\n1,0.1\n2,0.2\n4,0.3\n8,0.4\n")
    (base / "file").write_text("old")
    if kind == "fifo":
        os.mkfifo(base / "fifo")
    (base / "link").symlink_to(out / "results.sqlite")
    target = {"null": "/dev/null", "full": "/dev/full", "fifo": str(base / "fifo"),
              "store": str(out / "results.sqlite"), "wal": str(out / "results.sqlite-wal"),
              "report": str(out / "report.md"),
              "figure": str(out / "fig5_lossy.png"), "cache": str(out / "cache" / "x.pack"), "directory": str(base),
              "under-a-file": str(base / "file" / "x.json"), "link-to-store": str(base / "link"),
              "new": str(base / "new.json"), "existing": str(base / "file"), "empty": ""}[kind]
    before = _snapshot(out)
    code, err = cli(["metrics", "bd", str(curve), str(curve), "--json", target], capsys)
    assert code in (0, 2) and "Traceback" not in err and err.count("\n") <= 1, err
    assert _snapshot(out) == before
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode) and stat.S_ISCHR(os.stat("/dev/full").st_mode)
    if kind == "fifo":
        assert stat.S_ISFIFO(os.stat(base / "fifo").st_mode)
    if kind in ("new", "existing", "null"):
        assert code == 0, err
        if kind != "null":
            assert json.loads(Path(target).read_text())["cubic"]["bd_kbpi_percent"] == pytest.approx(0.0, abs=1e-9)
