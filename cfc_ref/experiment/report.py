"""Table 1 (markdown) and Figs. 1, 4, 5 (PNG) from a run's results.json (paper §4)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cfc_ref.errors import CfcError
from cfc_ref.experiment.aggregate import ResultRow, Results, load_results
from cfc_ref.experiment.config import split_points_of
from cfc_ref.experiment.curves import curve_rows, pareto
from cfc_ref.experiment.table1 import NOT_RUN, Table1Row, table1, write_table1
from cfc_ref.fileio import write_atomic

__all__ = ["pareto", "table1", "write_report"]


ACCOUNTING_NOTE = {"deployable": "deployable: every crossing tensor coded and counted",
                   "paper": "paper: only the split layer's tensor coded and counted; others passed uncoded — "
                            "not deployable",
                   "both": "both: one tensor crosses the split, so both accountings are the same computation"}


def _bd_text(row: Table1Row, key: str, method: str) -> str:
    if row.bd is None:
        return row.status if row.status == NOT_RUN else "n/a"
    value = row.bd[method][key]
    if value is None:
        return "n/a"
    return f"{value:+.2f} %" if key == "bd_kbpi_percent" else f"{value:+.4f}"


def _accounting_label(row: Table1Row) -> str:
    return ("both (one tensor crosses)" if row.accounting == "both" else
            row.accounting if row.deployable else f"{row.accounting} (not deployable)")


def caveat_notes(rows: list[Table1Row]) -> tuple[dict[tuple[int, str], list[int]], list[str]]:
    """Numbered caveats (M-5.6): for each (row, key) the note numbers, and the notes in order."""
    marks: dict[tuple[int, str], list[int]] = {}
    notes: list[str] = []
    for i, row in enumerate(rows):
        if row.status == NOT_RUN:
            continue
        for key, name in (("bd_kbpi_percent", "BD-KBPI-mAP"), ("bd_map", "BD-mAP")):
            for caveat in row.read(key)["caveats"]:
                if row.bd is None and key == "bd_map":
                    continue  # one reason for the whole row
                notes.append(f"{row.split.replace('_', ' ')}, {row.accounting}, {row.weights} weights — {name}: "
                             f"{caveat}")
                marks.setdefault((i, key), []).append(len(notes))
    return marks, notes


def _read_text(row: Table1Row, key: str, marks: dict[tuple[int, str], list[int]], index: int) -> str:
    reading = row.read(key)
    if reading["value"] is None:
        text = row.status if row.status == NOT_RUN else "n/a"
    else:
        value = reading["value"]
        text = (f"{value:+.2f} %" if key == "bd_kbpi_percent" else f"{value:+.4f}") + f" ({reading['method']})"
    return text + "".join(f" [{n}]" for n in marks.get((index, key), []))


def _qps(points: list) -> str:
    import re

    return " ".join(m[1] for p in points if (m := re.search(r"qp(\d+)", p.setting)))


def table1_markdown(rows: list[Table1Row]) -> list[str]:
    """Table 1 as markdown lines with its numbered caveats below (E-11.2)."""
    marks, notes = caveat_notes(rows)
    lines = ["| Split at | Accounting | Weights | Samples / image | BD-KBPI-mAP cubic | pchip | **read** "
             "| BD-mAP cubic | pchip | **read** | Paper BD-KBPI-mAP | points used (M-5.4) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for i, row in enumerate(rows):
        used = ("–" if row.status == NOT_RUN else
                f"QP {_qps(row.test_points)} ({len(row.test_points)} of {row.test_total}); anchor "
                f"{len(row.anchor_points)} of {row.anchor_total} JPEG qualities")
        lines.append(f"| {row.split.replace('_', ' ')} | {_accounting_label(row)} | {row.weights} | {row.samples:,} "
                     f"| {_bd_text(row, 'bd_kbpi_percent', 'cubic')} | {_bd_text(row, 'bd_kbpi_percent', 'pchip')} "
                     f"| **{_read_text(row, 'bd_kbpi_percent', marks, i)}** "
                     f"| {_bd_text(row, 'bd_map', 'cubic')} | {_bd_text(row, 'bd_map', 'pchip')} "
                     f"| **{_read_text(row, 'bd_map', marks, i)}** | {row.paper} | {used} |")
    if notes:
        lines += ["", "Caveats (spec M-5.6):", ""] + [f"{n}. {note}" for n, note in enumerate(notes, start=1)]
    return lines


def table1_text(rows: list[Table1Row]) -> list[str]:
    """Table 1's numbers to read, as plain text for a terminal (E-11.1)."""
    import textwrap

    marks, notes = caveat_notes(rows)
    cells = [(row.split.replace("_", " "), _accounting_label(row), row.weights,
              _read_text(row, "bd_kbpi_percent", marks, i), _read_text(row, "bd_map", marks, i))
             for i, row in enumerate(rows)]
    header = ("split", "accounting", "weights", "BD-KBPI-mAP", "BD-mAP")
    widths = [max(len(c[k]) for c in [header, *cells]) for k in range(len(header))]
    lines = ["  " + "  ".join(c[k].ljust(widths[k]) for k in range(len(header))).rstrip() for c in [header, *cells]]
    for n, note in enumerate(notes, start=1):
        lines += textwrap.wrap(note, width=110, initial_indent=f"  [{n}] ", subsequent_indent="      ")
    return lines


MARKERS = {8: "o", 10: "s", 12: "^"}
CAPTIONS = {
    "fig1_layers": "Fig. 1 — per layer of the detector: the samples a split after it sends (bars, log scale; orange: "
                   "the passthrough tensor that also crosses the cut) and the cumulative time and FLOPs of the front "
                   "end up to it (lines, normalised). Measured on this machine's CPU with the run's model.",
    "fig4_lossless": "Fig. 4 — lossless feature compression: top, VOC07 mAP against KBPI for each split point (colour) "
                     "at 8, 10 and 12 bits (marker), bars ±1 std of KBPI over images and ±1 bootstrap std of mAP "
                     "(spec M-6.1); bottom, each point's mAP minus the uncompressed model's (cloud-only, original "
                     "file), which the top panel's scale hides. One column per accounting (spec E-7).",
    "fig5_lossy": "Fig. 5 — lossy feature compression at the lossy bit depth, QP 22 to 51 (solid: default weights, "
                  "dashed: re-trained weights), against the cloud-only uploads (green: JPEG qualities, the Table 1 "
                  "anchor) and the original file (red). One panel per accounting (spec E-7).",
}


def _log_axis(ax) -> None:  # type: ignore[no-untyped-def]
    """A log KBPI axis labelled with plain numbers at 1, 2, 5 × 10^k when it spans under 3 decades, else at 10^k only
    (E-11.3: no colliding minor labels)."""
    import math

    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax.set_xscale("log")
    low, high = ax.get_xlim()
    plain = FuncFormatter(lambda value, _: f"{value:g}")
    ax.xaxis.set_major_locator(LogLocator(base=10))
    ax.xaxis.set_major_formatter(plain)
    if math.log10(high / low) < 3:
        ax.xaxis.set_minor_locator(LogLocator(base=10, subs=(2.0, 5.0)))
        ax.xaxis.set_minor_formatter(plain)
    else:
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.tick_params(axis="x", which="both", labelsize=8)


def save_figure(fig, path: Path, dpi: int = 110) -> None:  # type: ignore[no-untyped-def]
    """A PNG written atomically (never through a symbolic link, E-9.1)."""
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    write_atomic(path, buffer.getvalue())


def write_figure_data(path: Path, caption: str, points: list[dict]) -> list[Path]:
    """A figure's plotted values beside it (E-11.1): ``<figure>.csv`` and ``<figure>.json``, one row per point."""
    import csv
    import io

    columns = list(dict.fromkeys(k for p in points for k in p))
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(points)
    write_atomic(path.with_suffix(".csv"), table.getvalue().encode())
    document = {"figure": path.stem, "caption": caption, "columns": columns, "points": points}
    write_atomic(path.with_suffix(".json"), (json.dumps(document, indent=1, ensure_ascii=False) + "\n").encode())
    return [path.with_suffix(".csv"), path.with_suffix(".json")]


def _colours(splits: tuple[str, ...]) -> dict[str, tuple[float, float, float, float]]:
    """One colour per split point, the same in every figure."""
    import matplotlib

    return {split: matplotlib.colormaps["tab10"](i % 10) for i, split in enumerate(splits)}


def _original(rows: list[ResultRow]) -> ResultRow | None:
    return next((r for r in rows if r.kind == "cloud" and r.quality == "original"), None)


def _point(r: ResultRow, **extra: object) -> dict:
    return {**extra, "setting": r.setting, "bit_depth": r.bit_depth if r.kind == "split" else None, "qp": r.qp,
            "jpeg_quality": r.jpeg_quality, "kbpi": r.kbpi, "kbpi_std": r.kbpi_std, "map_voc07": r.map_voc07,
            "map_voc07_std": r.map_voc07_std}


def fig4(results: Results, path: Path) -> list[dict]:
    """Fig. 4 (E-11.3): lossless, every split point and bit depth, and ΔmAP against the uncompressed model."""
    from matplotlib.lines import Line2D

    from cfc_ref.plotting import pyplot

    plt = pyplot()

    rows, config = results.rows, results.experiment
    if not any(r.kind == "split" and r.quality == "lossless" for r in rows):
        return []  # a lossy-only sweep has no Fig. 4
    splits = split_points_of(config)
    colour = _colours(splits)
    original = _original(rows)
    accountings = config.accountings
    fig, axes = plt.subplots(2, len(accountings), figsize=(6.5 * len(accountings), 6.6), squeeze=False,
                             sharex="col", gridspec_kw={"height_ratios": [3, 2]})
    data: list[dict] = []
    depths: set[int] = set()
    for column, accounting in enumerate(accountings):
        top, bottom = axes[0][column], axes[1][column]
        for split in splits:
            points = sorted((r for r in rows if r.kind == "split" and r.split == split and r.quality == "lossless"
                             and r.counts_as(accounting)), key=lambda r: r.bit_depth)
            if not points:
                continue
            top.plot([r.kbpi for r in points], [r.map_voc07 for r in points], "-", color=colour[split], lw=1)
            bottom.plot([r.kbpi for r in points], [r.map_voc07 - original.map_voc07 if original else 0.0
                                                   for r in points], "-", color=colour[split], lw=1)
            for r in points:
                depths.add(r.bit_depth)
                marker = MARKERS.get(r.bit_depth, "D")
                top.errorbar([r.kbpi], [r.map_voc07], xerr=[r.kbpi_std], yerr=[r.map_voc07_std], fmt=marker,
                             color=colour[split], capsize=2, ms=5, elinewidth=0.7, alpha=0.8)
                delta = r.map_voc07 - original.map_voc07 if original else None
                if delta is not None:
                    bottom.plot([r.kbpi], [delta], marker, color=colour[split], ms=5)
                data.append(_point(r, accounting=accounting, split=split, delta_map_vs_original=delta))
        if original:
            top.errorbar([original.kbpi], [original.map_voc07], xerr=[original.kbpi_std],
                         yerr=[original.map_voc07_std], fmt="*", color="red", ms=10, capsize=2)
            bottom.axhline(0.0, color="red", lw=1, ls=":")
        top.set_title(ACCOUNTING_NOTE[accounting], fontsize=8)
        top.grid(True, which="both", alpha=0.3)
        bottom.grid(True, which="both", alpha=0.3)
        bottom.set_xlabel("KBPI (kilobits per image: payload + side info)")
        _log_axis(bottom)
    if original:
        data.append(_point(original, accounting="cloud", split="cloud-original", delta_map_vs_original=0.0))
    axes[0][0].set_ylabel("mAP (VOC07 11-point)")
    axes[1][0].set_ylabel("mAP − uncompressed model's")
    handles = [Line2D([], [], color=colour[s], lw=2, label=s.replace("_", " ")) for s in splits
               if any(d.get("split") == s for d in data)]
    handles += [Line2D([], [], color="black", marker=MARKERS.get(d, "D"), ls="", label=f"{d} bit") for d in
                sorted(depths)]
    if original:
        handles.append(Line2D([], [], color="red", marker="*", ms=10, ls="",
                              label="uncompressed model (cloud-only, original file)"))
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 6), fontsize=8, frameon=False,
               bbox_to_anchor=(0.5, -0.01))
    fig.suptitle(f"Fig. 4 — lossless feature compression — {config.name}", fontsize=10)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    save_figure(fig, path)
    plt.close(fig)
    return data


def fig5(results: Results, path: Path, retrained: dict[str, Results]) -> list[dict]:
    """Fig. 5 (E-11.3): lossy, default weights solid, re-trained dashed, the cloud-only curves."""
    from cfc_ref.plotting import pyplot

    plt = pyplot()

    rows, config = results.rows, results.experiment
    splits = split_points_of(config)
    colour = _colours(splits)
    depth = config.lossy_bit_depths[0] if config.lossy_bit_depths else 8
    accountings = config.accountings
    original = _original(rows)
    fig, axes = plt.subplots(1, len(accountings), figsize=(6.5 * len(accountings), 6.0), squeeze=False,
                             sharey=True)
    data: list[dict] = []
    for ax, accounting in zip(axes[0], accountings, strict=True):
        for split in config.splits:
            for weights, source, style in (("default", results, "o-"), ("re-trained", retrained.get(split), "s--")):
                if source is None:
                    continue
                points = sorted(curve_rows(source.rows, f"{split}-{depth}bit-{accounting}", missing_ok=True),
                                key=lambda r: r.kbpi)
                if not points:
                    continue
                ax.plot([r.kbpi for r in points], [r.map_voc07 for r in points], style, color=colour[split], ms=4,
                        lw=1.6, label=f"{split.replace('_', ' ')}, {weights} weights, {depth}-bit, QP "
                        f"{points[-1].qp}–{points[0].qp}")
                data += [_point(r, accounting=accounting, curve=f"{split}-{depth}bit", weights=weights)
                         for r in points]
        for name, style, label in (("cloud-jpeg", "g-o", "cloud-only, JPEG upload (Table 1 anchor)"),
                                   ("cloud-hevc", "g:^", "cloud-only, HEVC upload of the RGB image")):
            found = sorted(curve_rows(rows, name, missing_ok=True), key=lambda r: r.kbpi)
            if found:
                ax.plot([r.kbpi for r in found], [r.map_voc07 for r in found], style, ms=4, lw=1.6, label=label)
                data += [_point(r, accounting="cloud", curve=name, weights="default") for r in found]
        if original:
            ax.errorbar([original.kbpi], [original.map_voc07], xerr=[original.kbpi_std],
                        yerr=[original.map_voc07_std], fmt="*", color="red", ms=10, capsize=2,
                        label="cloud-only, original file")
        ax.set_title(ACCOUNTING_NOTE[accounting], fontsize=8)
        ax.grid(True, which="both", alpha=0.3)
        ax.set_xlabel("KBPI (kilobits per image: payload + side info)")
        _log_axis(ax)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=1, fontsize=8, frameon=False,
                  handlelength=4.5)
    if original:
        data.append(_point(original, accounting="cloud", curve="cloud-original", weights="default"))
    axes[0][0].set_ylabel("mAP (VOC07 11-point)")
    fig.suptitle(f"Fig. 5 — lossy feature compression — {config.name}", fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return data


@dataclass(frozen=True)
class Report:
    """What ``write_report`` wrote (E-11.1)."""

    path: Path
    files: list[Path]
    table: list[Table1Row]
    retrained: dict[str, Path]  # split → the re-trained results.json used
    looked_for: str  # where re-trained results were looked for, when none were found

    @property
    def summary(self) -> str:
        """The short plain-text summary a terminal shows (E-11.1)."""
        out = self.path.parent
        lines = ["Table 1 — the BD numbers to read (spec M-5.6; [n]: a caveat, listed below):",
                 *table1_text(self.table)]
        if not self.retrained:
            lines.append(f"  re-trained: not run (looked for {self.looked_for})")
        lines += [f"Full report: {self.path}", "Beside it: " + ", ".join(
            p.name for p in self.files if p != self.path) + f" (in {out})"]
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {"report": str(self.path), "files": [str(p) for p in self.files],
                "retrained": {k: str(v) for k, v in self.retrained.items()},
                "table1": [r.to_json() for r in self.table]}


def find_retrained(results_path: Path, results: Results, given: Mapping[str, str | Path] | None
                   ) -> tuple[dict[str, Path], str]:
    """E-11.1: the re-trained sweeps given, else those in the run directory (``retrained-<split>/results.json``)."""
    out = results_path.parent
    found = {split: out / f"retrained-{split}" / "results.json" for split in results.experiment.splits
             if (out / f"retrained-{split}" / "results.json").is_file()}
    found.update({split: Path(path) for split, path in (given or {}).items()})
    unknown = sorted(set(found) - set(results.experiment.splits))
    if unknown:
        raise CfcError(f"--retrained {unknown[0]}: not a lossy split point of this run "
                       f"({', '.join(results.experiment.splits)})")
    return found, f"{out}/retrained-<split>/results.json"


def write_report(results_path: str | Path, layer_figure: bool = True,
                 retrained: Mapping[str, str | Path] | None = None) -> Report:
    """report.md, table1.csv/json, the figures and their data beside results.json (E-11.1); ``retrained`` maps a
    split to the results.json of its re-trained run (default: those found in the run directory)."""
    results_path = Path(results_path)
    results = load_results(results_path)
    found, looked_for = find_retrained(results_path, results, retrained)
    again = {split: load_results(path) for split, path in found.items()}
    out = results_path.parent
    rows = table1(results, out, {split: (again[split], found[split].parent) for split in again})
    files = list(write_table1(rows, out, results))
    config, settings = results.experiment, results.rows
    figures = []
    if layer_figure:
        from cfc_ref.detector.profile import layer_profile, plot_profile, profile_points
        from cfc_ref.experiment.models import load_model

        model = load_model(config)
        profile = layer_profile(model, model.config.width, model.config.height, "cpu", repeats=3)
        plot_profile(profile, str(out / "fig1_layers.png"), f"Fig. 1 — layer profile — {config.name}")
        figures.append(out / "fig1_layers.png")
        files += write_figure_data(out / "fig1_layers.png", CAPTIONS["fig1_layers"], profile_points(profile))
    for name, draw in (("fig4_lossless", lambda path: fig4(results, path)),
                       ("fig5_lossy", lambda path: fig5(results, path, again))):
        points = draw(out / f"{name}.png")
        if points:  # a figure without points is not drawn (Fig. 4 of a lossy-only sweep)
            figures.append(out / f"{name}.png")
            files += write_figure_data(out / f"{name}.png", CAPTIONS[name], points)
    stand_in = config.model == "embedded"
    text = [f"# {config.name}", ""]
    if stand_in:
        text += ["> **Stand-in, not the paper's numbers.** Synthetic shapes dataset and a small YOLOv2-structured "
                 "model (width ×0.125) shipped with cfc-ref; the paper used VOC2007 test and YOLO9000 weights. "
                 "What a stand-in can show: that every stage of the data path runs, end to end, and how the "
                 "curves compare with each other on its data. What it cannot: the paper's magnitudes — its BD "
                 "numbers and which split point wins on VOC with YOLO9000.", ""]
    encoders = sorted({r.encoder for r in settings if r.kind == "split"})
    decoders = sorted({d for r in settings if r.kind == "split" for d in r.decoders.split("+")})
    text += [f"Encoder: {', '.join(encoders)}; decoders: {', '.join(decoders)}; {len(settings)} settings over "
             f"{settings[0].images} images.", "",
             "## Table 1 — BD-KBPI-mAP and BD-mAP of lossy feature compression vs cloud-only (JPEG)", "",
             *table1_markdown(rows), "",
             "BD-KBPI-mAP negative: fewer kilobits than uploading the JPEG image for the same mAP; BD-mAP positive: "
             "higher mAP for the same kilobits (spec M-5.5). Each number is computed with the least-squares cubic "
             "of the paper (VCEG-M33) and with pchip; **read** is the one to quote, chosen and caveated by spec "
             "M-5.6. BD uses each curve's Pareto-optimal points (spec M-5.4), VOC07 11-point mAP; `table1.json` "
             "lists them and the `cfc-ref metrics bd` command that reproduces each row. Accountings (spec E-7): "
             + "; ".join(ACCOUNTING_NOTE[a] for a in config.accountings) + ". The paper's column is its own "
             "Table 1 (VOC2007 test, YOLO9000, HM-16.12)"
             + (", not comparable with this stand-in's numbers" if stand_in else "") + ".", ""]
    if not again:
        text += [f"Re-trained weights: not run (no re-trained results found at {looked_for}; give them with "
                 "`--retrained SPLIT=RESULTS`).", ""]
    for split, data in again.items():
        text += [f"- Re-trained {split}: results `{found[split]}`, weights `{data.experiment.weights}`"
                 f"{_training_budget(Path(data.experiment.weights))}."]
    text += ["", "## All settings", "",
             "| setting | accounting | samples | KBPI | ± | container overhead kbits | mAP (VOC07) | ± (bootstrap) "
             "| mAP (all-point) | codec |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in settings:
        accounting = r.accounting + ("" if r.deployable else f" (not deployable: {r.uncoded} not sent)")
        overhead = f"{r.container_kbpi - r.kbpi:.2f}" if r.kind == "split" else "–"
        codec = f"{r.encoder} / {r.decoders}" if r.kind == "split" else r.encoder
        text.append(f"| {r.setting} | {accounting if r.kind == 'split' else '–'} | {r.samples or '–'} | "
                    f"{r.kbpi:.2f} | {r.kbpi_std:.2f} | {overhead} | {r.map_voc07:.4f} | {r.map_voc07_std:.4f} | "
                    f"{r.map_all:.4f} | {codec} |")
    text += ["", "## Figures", ""]
    for figure in figures:
        text += [f"![{figure.stem}]({figure.name})", "", f"*{CAPTIONS[figure.stem]}* Data: `{figure.stem}.csv`, "
                 f"`{figure.stem}.json`.", ""]
    text += timing_section(results, again)
    report = out / "report.md"
    write_atomic(report, ("\n".join(text) + "\n").encode())
    return Report(report, [report, *files, *figures], rows, found, looked_for)


def _training_budget(weights: Path) -> str:
    meta_path = weights.parent / "meta.json"  # beside a training run's weights (cfc-ref train)
    if not meta_path.exists():
        meta_path = weights.with_suffix(".json")  # beside shipped weights (cfc_ref/zoo)
    if not meta_path.exists():
        return ""
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        config = meta["config"]
        return (f": {config['mode']} in the loop at {config['split']}, {config['iterations']} iterations × "
                f"{config['batch_size']} images ({meta['budget_images']} images), qualities {config['qualities']}, "
                f"{meta['codec']}")
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as err:
        raise CfcError(f"{meta_path}: not a training metadata file ({err})") from None


STAGE_NAMES = {"encode": "HEVC encode", "decode": "HEVC decode", "coding": "Q-layer, tiling, container",
               "front": "front ends", "back": "back ends (and cloud-only networks)",
               "detection": "region decoding + NMS", "upload": "cloud-only uploads (JPEG)",
               "image": "JPEG input decode",
               "aggregation": "aggregation (matching, AP, bootstrap)", "report": "report", "ray sweep": "Ray sweep"}


def timing_section(results: Results, retrained: dict[str, Results]) -> list[str]:
    """E-10.1: where the sweep's time went, the codec's share first; every figure from the results' timing."""
    sweeps = {"default weights": results, **{f"re-trained {k}": v for k, v in retrained.items()}}
    stages: dict[str, float] = {}
    walls = []
    for name, data in sweeps.items():
        if not data.timing:
            continue
        for stage, seconds in data.timing.get("stages", {}).items():
            stages[stage] = stages.get(stage, 0.0) + seconds
        walls.append((name, data.timing.get("wall", 0.0), data.timing.get("workers", 1), data.timing.get("units", 0)))
    if not walls:
        return []
    codec = stages.get("encode", 0.0) + stages.get("decode", 0.0)
    busy = sum(stages.values())
    lines = ["", "## Where the time went (spec E-10)", "",
             "Seconds per stage, summed over the workers of "
             + ", ".join(f"{n} ({w:.1f} s wall, {k} worker{'s' if k != 1 else ''}, {u:,} units computed)"
                         for n, w, k, u in walls) + ":", "",
             "| stage | seconds | share |", "|---|---|---|"]
    for stage, seconds in sorted(stages.items(), key=lambda item: -item[1]):
        lines.append(f"| {STAGE_NAMES.get(stage, stage)} | {seconds:.1f} | {100 * seconds / busy:.1f} % |"
                     if busy else f"| {stage} | {seconds:.1f} | – |")
    wall = sum(w for _, w, _, _ in walls)
    workers = max(k for _, _, k, _ in walls)
    if codec:
        lines += ["", f"Sweeps' wall time × workers / codec time (HEVC encode + decode): "
                      f"{wall:.1f} s × {workers} / {codec:.1f} s = **{wall * workers / codec:.2f}** "
                      "(1.00 would be the codec alone on every worker)."]
    return lines
