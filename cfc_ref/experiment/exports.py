"""A run's results in CompressAI-Vision's layouts (spec E-15): per curve, ``compressai-vision/<curve>/summary.csv``
and ``summary_complexity.csv``, from the results store; and the per-part complexity (KMAC/pixel) they and the report
show.

    files, complexity = export_layouts(config, store, Path("runs/x"), record=True)   # after a complete sweep
    lines = complexity_section(complexity)                                           # report.md's section

The columns are ``cfc_ref.metrics.summary``'s, which also reads the files back as curves (E-15.5).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from cfc_ref.errors import CfcError
from cfc_ref.escaping import markdown
from cfc_ref.experiment.config import ExperimentConfig, settings_of, split_points_of
from cfc_ref.experiment.store import RunStore
from cfc_ref.fileio import no_link, write_atomic
from cfc_ref.metrics.curves import curve_names, curve_rows
from cfc_ref.metrics.results import ResultRow
from cfc_ref.metrics.summary import (
    COMPLEXITY_COLUMNS,
    COMPLEXITY_METRIC,
    COMPLEXITY_NAME,
    SUMMARY_COLUMNS,
    SUMMARY_NAME,
)

EXPORT_DIR = "compressai-vision"  # E-15.1: <run>/compressai-vision/<curve>/


def complexity_of(config: ExperimentConfig, images: int, pixels: int) -> dict:
    """E-15.4: the MACs of the front and back end of every split point of the sweep (Fig. 1's count, at the
    network's input size), and their KMAC per pixel of the ``images`` original images (``pixels`` of them
    together); each value one correctly rounded division of exact integers."""
    from cfc_ref.detector.cfg import load_cfg
    from cfc_ref.detector.profile import layer_macs
    from cfc_ref.detector.split import split_index
    from cfc_ref.experiment.config import cfg_path

    network = load_cfg(cfg_path(config))
    macs = layer_macs(network)
    total = sum(macs)
    splits = {}
    for name in split_points_of(config):
        front = sum(macs[:split_index(network, name) + 1])
        splits[name] = {"front_macs": front, "back_macs": total - front, "nn_part1": front * images / (1000 * pixels),
                        "nn_part2": (total - front) * images / (1000 * pixels)}
    return {"images": images, "pixels": pixels, "input": [network.width, network.height], "network_macs": total,
            "splits": splits, "cloud": {"nn_part1": 0.0, "nn_part2": total * images / (1000 * pixels)},
            "counted": "convolution multiply-accumulates at the network's input size (Fig. 1's FLOPs / 2), per pixel "
                       "of the original images (spec E-15.4)"}


def _totals(store: RunStore) -> tuple[dict[str, tuple[int, int, int]], int, int]:
    """Per setting (B, P, N) of its units (E-15.2), and the sweep's N and P (the same for every setting)."""
    totals = store.unit_totals()
    covered = {(n, p) for _, p, n in totals.values()}
    if len(covered) != 1:
        raise CfcError(f"{store.path}: the settings' units cover different images; run the sweep again to finish it")
    images, pixels = covered.pop()
    return totals, images, pixels


def _seconds(seconds: dict[str, float], row: ResultRow) -> list[float]:
    """E-15.2: nn_part_1, encode, decode, nn_part_2 of a row from its stage seconds (E-15.3)."""
    stage = lambda name: seconds.get(name, 0.0)  # noqa: E731 - a stage the setting never entered spent nothing
    encode = stage("encode") + stage("upload") if row.kind == "cloud" else stage("encode")
    return [stage("front"), encode, stage("decode"), stage("back") + stage("detection")]


def _csv(rows: list[list[object]]) -> bytes:
    """E-15.1: the csv module's text, ``\\n`` line ends; a float as Python writes it (the shortest decimal that reads
    back as the same binary64)."""
    table = io.StringIO()
    csv.writer(table, lineterminator="\n").writerows(rows)
    return table.getvalue().encode()


def summary_table(config: ExperimentConfig, rows: list[ResultRow], totals: dict[str, tuple[int, int, int]],
                  seconds: dict[str, dict[str, float]]) -> list[list[object]]:
    """E-15.2: a curve's summary.csv, header first, its rows by ascending coded bytes (ties in the run's order)."""
    dataset = f"{Path(config.dataset_root).name}/{config.image_set}"
    order = {s.key: i for i, s in enumerate(settings_of(config))}
    table: list[list[object]] = [list(SUMMARY_COLUMNS)]
    for row in sorted(rows, key=lambda r: (totals[r.setting][0], order.get(r.setting, len(order)))):
        coded, pixels, _ = totals[row.setting]
        qp = row.jpeg_quality if row.jpeg else row.qp
        spent = seconds.get(row.setting, {})
        table.append([dataset, qp, 8 * coded / pixels, row.map_voc07, *_seconds(spent, row), row.kbpi, row.setting,
                      spent.get("coding", 0.0)])
    return table


def complexity_table(complexity: dict, rows: list[ResultRow]) -> list[list[object]]:
    """E-15.4: a curve's summary_complexity.csv: its split point's (the network's for a cloud-only curve)."""
    part = complexity["cloud"] if rows[0].kind == "cloud" else complexity["splits"][rows[0].split]
    return [list(COMPLEXITY_COLUMNS), [COMPLEXITY_METRIC, float(part["nn_part1"]), 0.0, 0.0, float(part["nn_part2"])]]


def export_layouts(config: ExperimentConfig, store: RunStore, output: Path, record: bool = False
                   ) -> tuple[list[Path], dict]:
    """E-15.1: every curve's summary.csv and summary_complexity.csv under ``output/compressai-vision/``, from the
    store's result rows, units and seconds; with ``record``, the complexity in the store's ``meta.complexity``
    (the sweep's export; the report only reads the store). Returns the files and the complexity."""
    rows = store.results()
    totals, images, pixels = _totals(store)
    complexity = complexity_of(config, images, pixels)
    if record:
        store.set_meta(complexity=json.dumps(complexity, sort_keys=True))
    names = curve_names(rows)
    if not names:
        return [], complexity
    seconds = store.setting_seconds()
    root = Path(output) / EXPORT_DIR
    no_link(root)
    files = []
    for name in names:
        found = curve_rows(rows, name)
        directory = root / name
        for path in (directory, directory / SUMMARY_NAME, directory / COMPLEXITY_NAME):
            no_link(path)  # E-15.1 (and E-9.1): nothing written through a planted link
        write_atomic(directory / SUMMARY_NAME, _csv(summary_table(config, found, totals, seconds)))
        write_atomic(directory / COMPLEXITY_NAME, _csv(complexity_table(complexity, found)))
        files += [directory / SUMMARY_NAME, directory / COMPLEXITY_NAME]
    return files, complexity


def report_exports(config: ExperimentConfig, output: Path) -> tuple[list[Path], dict | None, str]:
    """E-15.1: the report's export from the store beside results.json, which it only reads: (files, complexity,
    why none were written)."""
    from cfc_ref.experiment.store import STORE_NAME, StoreError

    if not (Path(output) / STORE_NAME).is_file():
        return [], None, f"no results store ({STORE_NAME}) beside the results"
    try:
        with RunStore.open(Path(output), create=False) as store:
            files, complexity = export_layouts(config, store, Path(output))
    except StoreError as err:
        return [], None, str(err)
    return files, complexity, ""


def complexity_section(complexity: dict | None, note: str = "") -> list[str]:
    """E-15.4: report.md's complexity section: KMAC per original pixel and per network-input pixel of the front and
    back end of every split point, and the front end's share of the network's MACs."""
    lines = ["", "## Complexity of the split (KMAC per pixel, spec E-15.4)", ""]
    if complexity is None:
        return [*lines, f"Not computed: {markdown(note)}."]
    width, height = complexity["input"]
    total, per_input = complexity["network_macs"] or 1, 1000 * width * height
    lines += [f"Multiply–accumulates of the convolutions at the network's input size {width}×{height} (Fig. 1's "
              "FLOPs / 2; max-pool comparisons, batch norm and activations not counted), in thousands per pixel of "
              f"the {complexity['images']} original images ({complexity['pixels']:,} pixels) — CompressAI-Vision's "
              "`nn_part1` (front end, mobile) and `nn_part2` (back end, cloud) — and per pixel of the network's "
              "input. cfc-ref has no feature reduction or restoration network (0 in `summary_complexity.csv`). "
              f"Every curve's `summary.csv` and `summary_complexity.csv` are in `{EXPORT_DIR}/<curve>/` (spec E-15).",
              "", "| split point | nn_part1 KMAC/pixel | nn_part2 KMAC/pixel | front KMAC/input pixel | "
              "back KMAC/input pixel | front share of the MACs |", "|---|---|---|---|---|---|"]
    for name, part in complexity["splits"].items():
        lines.append(f"| {markdown(name.replace('_', ' '))} | {part['nn_part1']:.3f} | {part['nn_part2']:.3f} | "
                     f"{part['front_macs'] / per_input:.3f} | {part['back_macs'] / per_input:.3f} | "
                     f"{100 * part['front_macs'] / total:.1f} % |")
    cloud = complexity["cloud"]
    lines.append(f"| cloud-only | 0 | {cloud['nn_part2']:.3f} | 0 | {total / per_input:.3f} | 0 % |")
    return lines
