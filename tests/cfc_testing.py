"""Shared paths and helpers for the test suite (imported by tests; conftest.py holds only pytest hooks)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "golden"


def descendants(root: int) -> list[int]:
    """Every live process below ``root`` (a run's fork server, resource tracker and workers)."""
    import psutil

    try:
        return [child.pid for child in psutil.Process(root).children(recursive=True)]
    except psutil.Error:
        return []


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def run_cli(argv: list[str], capsys) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    """``cfc-ref ARGV`` in process: its exit status (argparse's exits count as exits) and what it wrote to stderr."""
    from cfc_ref.cli import main

    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    return code, capsys.readouterr().err


def stop_when(process, condition, timeout: float = 300.0) -> None:  # type: ignore[no-untyped-def]
    """Poll ``condition()`` until it holds, then SIGSTOP ``process``'s whole process group at once (it must have been
    started with ``start_new_session=True``), so that nothing moves between seeing it hold and the signal the test
    sends next — whatever the load of the machine (issue 32: a test must not depend on timing). The caller sends
    its signal, then :func:`resume`."""
    import os
    import signal
    import time

    deadline = time.time() + timeout
    while not condition():
        if time.time() > deadline or process.poll() is not None:
            raise AssertionError("the condition never held while the process ran")
        time.sleep(0.01)
    os.killpg(process.pid, signal.SIGSTOP)


def resume(process) -> None:  # type: ignore[no-untyped-def]
    import os
    import signal

    try:
        os.killpg(process.pid, signal.SIGCONT)
    except ProcessLookupError:
        pass


def tiny(model_files: Path, out: Path, images: int = 2, **changes):  # type: ignore[no-untyped-def]
    """A small darknet sweep config over the synthetic set (the reliability and hostile-input tests' job)."""
    from dataclasses import replace

    from cfc_ref.data.synthetic import CLASSES
    from cfc_ref.experiment.config import ExperimentConfig

    config = ExperimentConfig(name="tiny", dataset_root=str(out.parent / "data"), dataset_kind="synthetic",
                              synthetic_test_images=images, classes=CLASSES, model="darknet",
                              cfg=str(model_files / "m.cfg"), weights=str(model_files / "m.weights"),
                              splits=("max_11",), lossless_bit_depths=(8,), lossy_bit_depths=(8,), qps=(37,),
                              jpeg_qualities=(50,), original_upload=False, workers=1, output=str(out))
    return replace(config, **changes)


def one_line(code: int, err: str, *words: str) -> None:
    """Exit status 2 and a one-line ``cfc-ref: error:`` message that names every one of ``words``."""
    assert code == 2, err
    assert err.startswith("cfc-ref: error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    for word in words:
        assert word in err, (word, err)
