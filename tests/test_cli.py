"""The ``cfc-ref`` command line (a thin layer over the API)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cfc_ref.cli import main
from cfc_ref.demo import BUILTIN_SHAPES, builtin_features, round_trip

spec = pytest.mark.spec


@spec("Q-5.1", "W-5.1")
def test_demo_prints_round_trip(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "max_11" in out and "max_17" in out and "EXCEEDS" not in out
    assert out.count(" ok") == 6
    # raw 8-bit max 11: 416×416 samples + 8 side-info bytes = 1384.512 kbits
    assert "1384.512" in out


def test_builtin_features_are_deterministic():
    a, b = builtin_features(), builtin_features()
    assert {k: v.shape for k, v in a.items()} == BUILTIN_SHAPES
    assert all((a[k] == b[k]).all() for k in a)
    rows = round_trip((8,))
    assert all(r.max_error <= r.error_bound for r in rows)


def test_inspect(tmp_path, capsys):
    from cfc_ref.pipeline import encode_features

    path = tmp_path / "one.cfc"
    path.write_bytes(encode_features({"max_17": builtin_features()["max_17"]}))
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "max_17: 512×13×13 8-bit minmax tile" in out and "picture=208×416" in out
    path.write_bytes(path.read_bytes()[:-1])
    assert main(["inspect", str(path)]) == 2
    assert "crc mismatch" in capsys.readouterr().err


def test_console_script_runs():
    out = subprocess.run([sys.executable, "-m", "cfc_ref.cli", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("cfc-ref ")


@spec("D-5.2")
def test_layers_command(tmp_path, capsys):
    png = tmp_path / "fig1.png"
    assert main(["layers", "--repeats", "1", "--png", str(png)]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith(("max_", "conv_", "route_"))}
    assert "256×26×26" in rows["max_11"] and "173056" in rows["max_11"]
    assert "512×13×13" in rows["max_17"] and "conv_16 + max_17 (432640)" in rows["max_17"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["layers", "--repeats", "1", "--png", "", "--width-factor", "0.25", "--cfg", "yolo-voc.2.0"]) == 0
    assert "conv_16 + max_17" in capsys.readouterr().out


def test_public_api_is_exported_and_light():
    import cfc_ref

    for name in cfc_ref.__all__:
        assert getattr(cfc_ref, name) is not None, name
    out = subprocess.run([sys.executable, "-c", "import sys, cfc_ref; print('torch' in sys.modules)"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"  # importing the package loads no model code


def test_spec_version_matches_the_spec():
    import cfc_ref

    from cfc_testing import ROOT

    assert f"spec version **{cfc_ref.SPEC_VERSION}**" in (ROOT / "spec" / "README.md").read_text()


def _python(code: str) -> list[str]:
    """What a fresh interpreter running ``code`` prints, split into words (it must exit 0)."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


@spec("E-10.3")
def test_building_the_parser_loads_neither_torch_nor_pyav():
    """A command that needs neither starts without them (about 1.4 s of torch imports on 2 cores)."""
    assert _python("import sys; from cfc_ref.cli import build_parser; build_parser(); "
                   "print(sorted(m for m in ('torch', 'av', 'matplotlib') if m in sys.modules))") == ["[]"]


@spec("E-10.3")
def test_a_local_job_starts_its_fork_server_before_it_imports_torch(tmp_path):
    """The job's own imports (torch, the runner, the report: ~1.4 s) run beside the fork server's, not before it."""
    code = f"""
import sys
from dataclasses import replace
import cfc_ref.experiment.protocol as protocol
import cfc_ref.processes as processes
from cfc_ref.experiment.config import embedded_default
seen = []
class Stop(Exception):
    pass
def sweep(*args, **kwargs):
    raise Stop
processes.start_fork_server = lambda: seen.append("torch" in sys.modules)
protocol.run_sweep = sweep
try:
    protocol.run_protocol(replace(embedded_default({str(tmp_path / 'run')!r}), workers=2), progress=False)
except Stop:
    pass
print(seen, "torch" in sys.modules)
"""
    assert _python(code) == ["[False]", "True"]  # started before torch came in; torch imported afterwards


@spec("E-10.3")
def test_a_job_warms_up_its_plotting_library_while_its_last_sweep_runs(monkeypatch, tmp_path):
    import threading

    import cfc_ref.experiment.protocol as protocol
    import cfc_ref.plotting as plotting
    from cfc_ref.experiment.config import embedded_default

    events: list[str] = []

    class Stop(Exception):
        pass

    def sweep(config, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        events.append("sweep")
        if len(events) == 4:  # the last of the embedded default's three sweeps
            raise Stop
        return tmp_path / "results.json"

    def warm_up() -> threading.Thread:
        events.append("warm-up")
        thread = threading.Thread(target=lambda: None)
        thread.start()
        return thread

    monkeypatch.setattr(plotting, "warm_up", warm_up)
    monkeypatch.setattr(protocol, "run_sweep", sweep)
    with pytest.raises(Stop):
        protocol.run_protocol(embedded_default(str(tmp_path / "run")), with_retrained=True, progress=False,
                              engine="ray")
    assert events == ["sweep", "sweep", "warm-up", "sweep"]


@spec("E-10.3")
def test_the_plotting_warm_up_leaves_pyplot_imported_on_agg():
    assert _python("import sys; from cfc_ref.plotting import warm_up; warm_up().join(); import matplotlib; "
                   "print('matplotlib.pyplot' in sys.modules, matplotlib.get_backend().lower())") == ["True", "agg"]


@spec("E-10.3")
@pytest.mark.parametrize(("workers", "engine", "started"), [(2, "local", True), (1, "local", False),
                                                            (2, "ray", False)])
def test_a_local_job_starts_its_fork_server_before_its_first_sweep(monkeypatch, tmp_path, workers, engine, started):
    from dataclasses import replace

    import cfc_ref.experiment.protocol as protocol
    import cfc_ref.processes as processes
    from cfc_ref.experiment.config import embedded_default

    events: list[str] = []

    class Stop(Exception):
        pass

    def sweep(*args, **kwargs):  # noqa: ANN002, ANN003
        events.append("sweep")
        raise Stop

    monkeypatch.setattr(processes, "start_fork_server", lambda: events.append("fork server"))
    monkeypatch.setattr(protocol, "run_sweep", sweep)
    with pytest.raises(Stop):
        protocol.run_protocol(replace(embedded_default(str(tmp_path / "run")), workers=workers), progress=False,
                              engine=engine)
    assert events == (["fork server", "sweep"] if started else ["sweep"])
