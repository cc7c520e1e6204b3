"""The report's figures (paper Figs. 1, 4, 5; spec E-11.3), each drawn by one function from a run's results, and
each figure's plotted values written beside it (E-11.1).

    points = fig4(results, Path("runs/x/fig4_lossless.png"))      # the plotted values, one dict per point
    write_figure_data(Path("runs/x/fig4_lossless.png"), CAPTIONS["fig4_lossless"], points)
"""

from __future__ import annotations

import json
from pathlib import Path

from cfc_ref.escaping import figure as figure_text
from cfc_ref.experiment.aggregate import Results
from cfc_ref.experiment.config import ExperimentConfig, split_points_of
from cfc_ref.fileio import write_atomic
from cfc_ref.metrics.curves import curve_rows
from cfc_ref.metrics.results import ResultRow
from cfc_ref.plotting import save_figure

ACCOUNTING_NOTE = {"deployable": "deployable: every crossing tensor coded and counted",
                   "paper": "paper: only the split layer's tensor coded and counted; others passed uncoded — "
                            "not deployable",
                   "both": "both: one tensor crosses the split, so both accountings are the same computation"}

MARKERS = {8: "o", 10: "s", 12: "^"}
CAPTIONS = {
    "fig1_layers": "Fig. 1 — per layer of the detector: the samples a split after it sends (bars, log scale; orange: "
                   "the passthrough tensor that also crosses the cut) and the cumulative time and FLOPs of the front "
                   "end up to it (lines, each normalised by the whole network's). Time: each layer's CPU time on "
                   "one thread of this machine with the run's model, the minimum of five runs (other work on the "
                   "machine hardly changes it).",
    "fig4_lossless": "Fig. 4 — lossless feature compression, the paper's quantizer: top, each point's VOC07 mAP minus "
                     "the uncompressed model's (cloud-only, original file; black star) against KBPI for each split "
                     "point (colour) at 8, 10 and 12 bits (marker), the grey band ±1 bootstrap std of the "
                     "uncompressed model's mAP (spec M-6.1), the scale of chance; bottom, the mAP itself. One column "
                     "per accounting (spec E-7), one KBPI range for all panels; the spreads are in the figure's data.",
    "fig5_lossy": "Fig. 5 — lossy feature compression at the lossy bit depth, QP 22 to 51 (solid: default weights, "
                  "dashed: re-trained weights; FCM's quantizer, where the sweep has it, dotted and dash-dotted), "
                  "against the cloud-only "
                  "uploads (green: JPEG qualities, the Table 1 anchor) and the original file (black star). One panel "
                  "per accounting (spec E-7).",
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


def fig1_profile(config: ExperimentConfig) -> tuple[bytes, list[dict]]:
    """Fig. 1 of a run's model, drawn: the PNG and its plotted values. It depends on the model alone, so a job draws
    it beside its last sweep (spec E-10.3)."""
    from cfc_ref.detector.profile import layer_profile, plot_profile, profile_points
    from cfc_ref.experiment.models import load_model

    model = load_model(config)
    profile = layer_profile(model, model.config.width, model.config.height, "cpu", repeats=5)
    return plot_profile(profile, f"Fig. 1 — layer profile — {config.name}"), profile_points(profile)


def fig1(results: Results, path: Path, drawn: tuple[bytes, list[dict]] | None = None) -> list[dict]:
    """Fig. 1: the run's model, layer by layer: samples a split after it sends, cumulative time and FLOPs; ``drawn``
    is :func:`fig1_profile`'s result when it was made before."""
    png, points = drawn or fig1_profile(results.experiment)
    write_atomic(path, png)
    return points


def fig4(results: Results, path: Path) -> list[dict]:
    """Fig. 4 (E-11.3): lossless, every split point and bit depth: the main panel each point's mAP minus the
    uncompressed model's with that model's bootstrap spread as a band, below it the mAP itself; one x range."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

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
                             sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    data: list[dict] = []
    depths: set[int] = set()
    for column, accounting in enumerate(accountings):
        main, absolute = axes[0][column], axes[1][column]
        for split in splits:
            points = sorted((r for r in rows if r.kind == "split" and r.split == split and r.quality == "lossless"
                             and r.quantizer == "paper" and r.counts_as(accounting)), key=lambda r: r.bit_depth)
            if not points:
                continue
            absolute.plot([r.kbpi for r in points], [r.map_voc07 for r in points], "-", color=colour[split], lw=1)
            if original:
                main.plot([r.kbpi for r in points], [r.map_voc07 - original.map_voc07 for r in points], "-",
                          color=colour[split], lw=1)
            for r in points:
                depths.add(r.bit_depth)
                marker = MARKERS.get(r.bit_depth, "D")
                absolute.plot([r.kbpi], [r.map_voc07], marker, color=colour[split], ms=5)
                delta = r.map_voc07 - original.map_voc07 if original else None
                if delta is not None:
                    main.plot([r.kbpi], [delta], marker, color=colour[split], ms=5)
                data.append(_point(r, accounting=accounting, split=split, delta_map_vs_original=delta))
        if original:
            spread = original.map_voc07_std
            main.axhspan(-spread, spread, color="0.85", zorder=0)
            main.axhline(0.0, color="black", lw=1, ls=":")
            absolute.plot([original.kbpi], [original.map_voc07], "*", color="black", ms=10)
        main.set_title(ACCOUNTING_NOTE[accounting], fontsize=8)
        main.grid(True, which="both", alpha=0.3)
        absolute.grid(True, which="both", alpha=0.3)
        absolute.set_xlabel("KBPI (kilobits per image: payload + side info)")
        _log_axis(absolute)
    if original:
        data.append(_point(original, accounting="cloud", split="cloud-original", delta_map_vs_original=0.0))
    axes[0][0].set_ylabel("mAP − uncompressed model's")
    axes[1][0].set_ylabel("mAP (VOC07 11-point)")
    handles: list = [Line2D([], [], color=colour[s], lw=2, label=figure_text(s.replace("_", " "))) for s in splits
                     if any(d.get("split") == s for d in data)]
    handles += [Line2D([], [], color="black", marker=MARKERS.get(d, "D"), ls="", label=f"{d} bit") for d in
                sorted(depths)]
    if original:
        handles += [Line2D([], [], color="black", marker="*", ms=10, ls="",
                           label="uncompressed model (cloud-only, original file)"),
                    Patch(color="0.85", label="±1 bootstrap std of the uncompressed model's mAP")]
    if handles:
        fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 6), fontsize=8, frameon=False,
                   bbox_to_anchor=(0.5, -0.01))
    fig.suptitle(f"Fig. 4 — lossless feature compression — {figure_text(config.name)}", fontsize=10)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
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
            for quantizer in config.quantizers:
                for weights, source, style in (("default", results, "o-"), ("re-trained", retrained.get(split),
                                                                              "s--")):
                    if source is None:
                        continue
                    name = f"{split}-{depth}bit-{accounting}" + ("-fcm" if quantizer == "fcm" else "")
                    points = sorted(curve_rows(source.rows, name, missing_ok=True), key=lambda r: r.kbpi)
                    if not points:
                        continue
                    line = style if quantizer == "paper" else {"o-": "o:", "s--": "s-."}[style]  # E-14.3: dotted
                    which = "" if quantizer == "paper" else ", FCM quantizer"
                    ax.plot([r.kbpi for r in points], [r.map_voc07 for r in points], line, color=colour[split],
                            ms=4, lw=1.6, label=f"{figure_text(split.replace('_', ' '))}, {weights} weights{which}, "
                            f"{depth}-bit, QP {points[-1].qp}–{points[0].qp}")
                    data += [_point(r, accounting=accounting, curve=f"{split}-{depth}bit", weights=weights,
                                    quantizer=quantizer) for r in points]
        for name, style, label in (("cloud-jpeg", "g-o", "cloud-only, JPEG upload (Table 1 anchor)"),
                                   ("cloud-hevc", "g:^", "cloud-only, HEVC upload of the RGB image")):
            found = sorted(curve_rows(rows, name, missing_ok=True), key=lambda r: r.kbpi)
            if found:
                ax.plot([r.kbpi for r in found], [r.map_voc07 for r in found], style, ms=4, lw=1.6, label=label)
                data += [_point(r, accounting="cloud", curve=name, weights="default") for r in found]
        if original:
            ax.errorbar([original.kbpi], [original.map_voc07], xerr=[original.kbpi_std],
                        yerr=[original.map_voc07_std], fmt="*", color="black", ms=10, capsize=2,
                        label="cloud-only, original file")
        ax.set_title(ACCOUNTING_NOTE[accounting], fontsize=8)
        ax.grid(True, which="both", alpha=0.3)
        ax.set_xlabel("KBPI (kilobits per image: payload + side info)")
        _log_axis(ax)
        if ax.get_legend_handles_labels()[0]:  # a sweep without lossy or cloud-only rows draws no legend
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=1, fontsize=8, frameon=False,
                      handlelength=4.5)
    if original:
        data.append(_point(original, accounting="cloud", curve="cloud-original", weights="default"))
    axes[0][0].set_ylabel("mAP (VOC07 11-point)")
    fig.suptitle(f"Fig. 5 — lossy feature compression — {figure_text(config.name)}", fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return data
