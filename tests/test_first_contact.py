"""First contact (issue 32): configs run from anywhere and name every missing input at once (spec E-6.5), bare
``cfc-ref`` takes run's options, help reads as plain text, progress says what it counts, small truths a new user
notices."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cfc_ref.data.synthetic import CLASSES
from cfc_ref.experiment.config import ExperimentConfig

from cfc_testing import ROOT, run_cli

spec = pytest.mark.spec


def _write(path: Path, config: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config))
    return path


@spec("E-6.5")
def test_relative_paths_in_a_config_are_relative_to_its_file(model_files, tmp_path):
    from cfc_ref.experiment.config import cfg_path, load_config

    (tmp_path / "configs" / "model").mkdir(parents=True)
    for name in ("m.cfg", "m.weights"):
        (tmp_path / "configs" / "model" / name).write_bytes((model_files / name).read_bytes())
    path = _write(tmp_path / "configs" / "c.json", {
        "name": "here", "dataset_root": "../data", "dataset_kind": "synthetic", "classes": list(CLASSES),
        "model": "darknet", "cfg": "model/m.cfg", "weights": "model/m.weights", "output": "../runs/x"})
    config = load_config(path)
    assert config.dataset_root == str(tmp_path / "data") and config.output == str(tmp_path / "runs" / "x")
    assert cfg_path(config) == tmp_path / "configs" / "model" / "m.cfg"
    builtin = load_config(_write(tmp_path / "b.json", {"name": "b", "dataset_root": "/d", "model": "darknet",
                                                       "cfg": "yolo-voc", "weights": "/w"}))
    assert builtin.cfg == "yolo-voc" and cfg_path(builtin).name == "yolo-voc.cfg" and cfg_path(builtin).is_file()


@spec("E-6.5", "E-6.1")
def test_a_shipped_voc_config_runs_from_any_directory_and_names_every_missing_file(tmp_path):
    runs = ROOT / "runs"  # a developer's checkout may hold runs of its own: nothing may be added to them
    before = sorted(runs.rglob("*")) if runs.exists() else None
    for config in ("voc2007-yolo-voc.json", "voc2007-yolo-voc-hm.json"):
        done = subprocess.run([sys.executable, "-m", "cfc_ref.cli", "run", str(ROOT / "tools" / "configs" / config),
                               "--quiet"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
        assert "the weights" in done.stderr and "and the dataset" in done.stderr and "download_voc.sh" in done.stderr
        assert "No such file" not in done.stderr and "cfg" not in done.stderr.split("error:")[1].split(" and ")[0]
        assert (sorted(runs.rglob("*")) if runs.exists() else None) == before and not list(tmp_path.iterdir())
    done = subprocess.run([sys.executable, "-m", "cfc_ref.cli", "train",
                           str(ROOT / "tools" / "configs" / "train-voc2007-max_11.json")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "and the dataset" in done.stderr
    assert (sorted(runs.rglob("*")) if runs.exists() else None) == before  # nothing made anywhere


@spec("E-6.5")
def test_cfg_overrides_a_configs_cfg(model_files, tmp_path, capsys):
    from cfc_ref.experiment.protocol import experiment_config

    config = ExperimentConfig(name="d", dataset_root=str(tmp_path / "data"), model="darknet",
                              cfg=str(model_files / "m.cfg"), weights=str(model_files / "m.weights"),
                              output=str(tmp_path / "out"))
    path = _write(tmp_path / "c.json", json.loads(config.to_json()))
    assert experiment_config(str(path), cfg="yolo-voc")[0].cfg == "yolo-voc"
    code, err = run_cli(["run", "--cfg", "yolo-voc", "--quiet"], capsys)
    assert code == 2 and "give --weights too" in err


def test_bare_cfc_ref_takes_runs_options_and_help_is_plain_text(monkeypatch):
    import cfc_ref.cli.experiment as commands
    from cfc_ref.cli import build_parser, main

    seen = []
    monkeypatch.setattr(commands, "cmd_run", lambda args: seen.append((args.quiet, args.output, args.limit)) or 0)
    assert main(["--quiet"]) == 0 and main(["--output", "x", "--limit", "3"]) == 0 and main([]) == 0
    assert seen == [(True, None, None), (False, "x", 3), (False, None, None)]
    text = build_parser().format_help()
    assert "``" not in text and "The cfc-ref command line" in text


def test_progress_says_what_it_counts_and_a_finished_sweep_says_so(capsys):
    from cfc_ref.progress import JobProgress

    bar = JobProgress(0, enabled=True)
    bar.start_sweep("default weights", 10, 10, 2)
    assert bar.bar is None and "nothing to compute, all 10 units already finished" in capsys.readouterr().err
    bar = JobProgress(40, enabled=True)
    bar.named("default weights").start_sweep("x", 30, 0, 2)
    assert bar.bar is not None and bar.bar.desc == "job [default weights]"
    bar.close()


def test_the_demo_says_why_10_and_12_bits_cost_the_same_raw_kbits(capsys):
    from cfc_ref.cli import main

    assert main(["demo", "--bits", "10", "12"]) == 0
    assert "10 and 12 bits cost the same kbits" in capsys.readouterr().out
    assert main(["demo", "--bits", "8"]) == 0
    assert "cost the same" not in capsys.readouterr().out


def test_the_papers_values_sit_beside_the_rows_of_its_accounting():
    from cfc_ref.experiment.table1 import paper_value

    assert paper_value("max_17", "paper", "default") == "-60.30 %"
    assert paper_value("max_17", "deployable", "default") == "–"
    assert paper_value("max_11", "both", "re-trained") == "-45.23 %"


@spec("E-3.1")
def test_a_finished_runs_lock_names_no_process(tmp_path):
    from cfc_ref.locking import run_lock

    with run_lock(tmp_path / "out"):
        assert (tmp_path / "out" / ".lock").read_text().strip().isdigit()
    assert (tmp_path / "out" / ".lock").read_text() == ""


def test_codec_check_gives_a_refusal_s_hint_once_with_the_vectors_it_applies_to():
    """Issue 32 item 2: without an exact decoder the same hint used to be printed once per refused vector."""
    from cfc_ref.codecs.hevc.check import CheckReport, Outcome, Row, format_report

    hint = "no installed decoder is allowed for this stream (spec H-4.3): install libde265"
    ids = [f"v{i:02d}_ll" for i in range(15)]
    auto = Row("auto", "first conforming of ffmpeg", True, {**{i: Outcome("refused", hint) for i in ids},
                                                              "v99": Outcome("exact"), "v98": Outcome("wrong", "bad")})
    text = format_report(CheckReport("golden/hm-16.12", [*ids, "v98", "v99"], [auto], []), strict=True)
    assert text.count(hint) == 1 and "15 vectors (v00_ll, v01_ll, v02_ll, v03_ll, … 11 more): refused" in text
    assert "auto: v98: wrong: bad" in text and "v99" not in text and text.splitlines()[-1].startswith("FAIL")


def test_the_missing_decoder_hints_name_a_command_that_installs_one(monkeypatch):
    """Issue 32 item 2: the hint said ``pip install 'cfc-ref[decode]'``, but cfc-ref is not on PyPI; pylibde265 is."""
    from cfc_ref.codecs.hevc import decoders, pylibde265
    from cfc_ref.errors import CodecError

    monkeypatch.setattr(pylibde265, "_binding", lambda: None)
    with pytest.raises(CodecError) as missing:
        pylibde265.decode_pylibde265(b"\x00\x00\x01", (1, 1), 8)
    monkeypatch.setattr(decoders, "DECODER_ORDER", ())
    monkeypatch.delenv("CFC_DECODER", raising=False)
    with pytest.raises(CodecError) as none:
        decoders.choose_decoder(None)  # type: ignore[arg-type]
    for error in (missing.value, none.value):
        assert "python -m pip install pylibde265 in cfc-ref's" in str(error) and "cfc-ref[" not in str(error)


@spec("E-6.5")
def test_every_shipped_config_names_paths_in_the_checkout_not_beside_the_config():
    """A shipped config's relative paths resolve against tools/configs/ (E-6.5): the two real-size benchmark configs
    named ``runs/…`` and a checkout path for the cfg, which resolved to tools/configs/runs/… and a missing cfg."""
    from cfc_ref.experiment.config import PATH_KEYS, is_builtin_cfg, load_config
    from cfc_ref.training.run import TRAIN_PATH_KEYS, load_train_config

    shipped = sorted((ROOT / "tools" / "configs").glob("*.json"))
    assert len(shipped) >= 5
    for path in shipped:
        training = path.name.startswith("train-")
        config = load_train_config(path) if training else load_config(path)
        assert not config.cfg or is_builtin_cfg(config.cfg) or Path(config.cfg).is_file(), (path.name, config.cfg)
        for key in TRAIN_PATH_KEYS if training else PATH_KEYS:
            value = getattr(config, key)
            if value and not (key == "cfg" and is_builtin_cfg(value)):
                inside = Path(value).resolve()
                assert ROOT.resolve() in inside.parents and "configs" not in inside.parts, (path.name, key, value)


def test_the_ray_and_torch_hints_name_commands_that_work_from_pypi(monkeypatch, capsys):
    """cfc-ref is not on PyPI: a hint names the package itself (the same versions the extras pin)."""
    from types import SimpleNamespace

    import cfc_ref.cli as cli
    from cfc_ref.errors import CfcError
    from cfc_ref.experiment import ray_engine

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    with pytest.raises(CfcError, match=r"python -m pip install 'ray>=2\.60,<3'"):
        ray_engine._ray()

    def needs_torch(args):  # type: ignore[no-untyped-def]
        raise ModuleNotFoundError("No module named 'torch'", name="torch")

    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    monkeypatch.setattr(parser, "parse_args", lambda argv: SimpleNamespace(func=needs_torch, json=None))
    monkeypatch.setattr(cli, "check_json", lambda args: None)
    assert cli.main(["demo"]) == 2
    err = capsys.readouterr().err
    assert "python -m pip install torch==2.13.0" in err and "cfc-ref[" not in err and err.count("\n") == 1
