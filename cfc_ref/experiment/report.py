"""Table 1 (markdown) and Figs. 1, 4, 5 (PNG) from a run's results.json (paper §4)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from cfc_ref.errors import CfcError, MetricsError
from cfc_ref.experiment.aggregate import ResultRow, Results, load_results
from cfc_ref.experiment.config import split_points_of
from cfc_ref.fileio import write_atomic
from cfc_ref.metrics.bd import bd_kbpi_map, bd_map


def pareto(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Points not beaten by another with ≤ bits and ≥ mAP (spec M-5.4), sorted by bits."""
    front: list[tuple[float, float]] = []
    for rate, quality in sorted(points, key=lambda p: (p[0], -p[1])):
        if not front or quality > front[-1][1]:
            front.append((rate, quality))
    return front


def _curve(rows: list[ResultRow], accounting: str | None = None, **match: object) -> list[ResultRow]:
    """Rows matching every field given; ``accounting`` also takes the rows valid for both (E-7.3)."""
    return [r for r in rows if all(getattr(r, k) == v for k, v in match.items())
            and (accounting is None or r.counts_as(accounting))]


PAPER_TABLE1 = {"max_11": ("−6.09 %", "−45.23 %"), "max_17": ("−60.30 %", "−70.30 %")}  # the paper's Table 1
ACCOUNTING_NOTE = {"deployable": "deployable: every crossing tensor coded and counted",
                   "paper": "paper: only the split layer's tensor coded and counted; others passed uncoded — "
                            "not deployable",
                   "both": "both: one tensor crosses the split, so both accountings are the same computation"}


def _lossy(rows: list[ResultRow], split: str, depth: int, accounting: str) -> list[ResultRow]:
    return [r for r in _curve(rows, kind="split", split=split, bit_depth=depth, accounting=accounting) if r.lossy]


def _lossy_points(rows: list[ResultRow], split: str, depth: int, accounting: str, metric: str
                  ) -> tuple[list[tuple[float, float]], int]:
    lossy = _lossy(rows, split, depth, accounting)
    return pareto([(r.kbpi, getattr(r, metric)) for r in lossy]), len(lossy)


def _bd_cells(anchor: list[tuple[float, float]], test: list[tuple[float, float]]) -> tuple[str, ...]:
    """BD-KBPI-mAP and BD-mAP, cubic and pchip, as table cells; a refusal as its reason."""
    cells = []
    for method in ("cubic", "pchip"):
        try:
            cells.append(f"{bd_kbpi_map(anchor, test, method).percent:+.2f} %")
        except MetricsError as err:
            cells.append(f"n/a ({err})")
    for method in ("cubic", "pchip"):
        try:
            cells.append(f"{bd_map(anchor, test, method).delta:+.4f}")
        except MetricsError as err:
            cells.append(f"n/a ({err})")
    return tuple(cells)


def _overlap(anchor: list[tuple[float, float]], test: list[tuple[float, float]]) -> str:
    """How much of the anchor's mAP range the BD-KBPI integral covers (M-5.3): small shares make it fragile."""
    try:
        result = bd_kbpi_map(anchor, test, "pchip")
    except MetricsError:
        return "no mAP overlap"
    return (f"mAP overlap {result.low:.4f}–{result.high:.4f} ({100 * result.anchor_share:.0f} % of the anchor's "
            "range)")


def table1(results: Results, metric: str = "map_voc07", retrained: dict[str, Results] | None = None
           ) -> tuple[list[str], dict[str, float | str]]:
    """Table 1 under each accounting of the run (E-7): BD-KBPI-mAP (cubic, pchip) and BD-mAP of each split's lossy
    curve against the cloud-only JPEG curve, default weights and, where given, re-trained weights (``retrained[split]``
    is that training's results, same anchor); the paper's own values beside them."""
    rows, config = results.rows, results.experiment
    retrained = retrained or {}
    anchor_rows = [r for r in rows if r.jpeg]
    anchor = pareto([(r.kbpi, getattr(r, metric)) for r in anchor_rows])
    depth = config.lossy_bit_depths[0]
    lines = ["| Split at | Accounting | Samples / image | Default: BD-KBPI-mAP (cubic) | (pchip) | BD-mAP (cubic) "
             "| (pchip) | Re-trained: BD-KBPI-mAP (cubic) | (pchip) | BD-mAP (cubic) | (pchip) "
             "| Paper (default / re-trained) | points used |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    values: dict[str, float | str] = {}
    for split in config.splits:
        for accounting in config.accountings:
            lossy = _lossy(rows, split, depth, accounting)
            if lossy and lossy[0].accounting == "both":
                if accounting != config.accountings[0]:
                    continue  # E-7.3: one tensor crosses, one computation, one line
                accounting = "both"
            test, total = _lossy_points(rows, split, depth, accounting, metric)
            default = _bd_cells(anchor, test)
            if split in retrained:
                again = _bd_cells(anchor, _lossy_points(retrained[split].rows, split, depth, accounting, metric)[0])
                values[f"{split} {accounting} re-trained"] = again[0]
            else:
                again = ("not run", "–", "–", "–")
            values[f"{split} {accounting}"] = default[0]
            lossy = _lossy(rows, split, depth, accounting)
            samples = lossy[0].samples if lossy else 0
            label = ("both (one tensor crosses)" if accounting == "both" else
                     accounting if not (lossy and lossy[0].uncoded) else f"{accounting} (not deployable)")
            paper = " / ".join(PAPER_TABLE1.get(split, ("–", "–")))
            lines.append(f"| {split.replace('_', ' ')} | {label} | {samples:,} | {' | '.join(default)} | "
                         f"{' | '.join(again)} | {paper} | {len(test)} of {total} QPs; anchor {len(anchor)} of "
                         f"{len(anchor_rows)} JPEG qualities; {_overlap(anchor, test)} |")
    return lines, values


def _figure(path: Path, title: str, panels: list[tuple[str, object]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(7 * len(panels), 4.8), squeeze=False, sharey=True)
    for ax, (subtitle, draw) in zip(axes[0], panels, strict=True):
        draw(ax)  # type: ignore[operator]
        ax.set_xscale("log")
        ax.set_xlabel("KBPI (kilobits per image: payload + side info)")
        ax.set_title(subtitle, fontsize=8)
        ax.grid(True, which="both", alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=6)
    axes[0][0].set_ylabel("mAP (VOC07 11-point)")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def save_figure(fig, path: Path, dpi: int = 110) -> None:  # type: ignore[no-untyped-def]
    """A PNG written atomically (never through a symbolic link, E-9.1)."""
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    write_atomic(path, buffer.getvalue())


def _cloud(ax, rows: list[ResultRow], curve: bool) -> None:  # type: ignore[no-untyped-def]
    cloud = sorted(_curve(rows, kind="cloud"), key=lambda r: r.kbpi)
    original = [r for r in cloud if r.quality == "original"]
    jpeg = [r for r in cloud if r.jpeg]
    rgb_hevc = [r for r in cloud if r.rgb_hevc]
    if curve and jpeg:
        ax.plot([r.kbpi for r in jpeg], [r.map_voc07 for r in jpeg], "g-o", ms=3, label="cloud-only (JPEG)")
    if curve and rgb_hevc:
        ax.plot([r.kbpi for r in rgb_hevc], [r.map_voc07 for r in rgb_hevc], "g--s", ms=3,
                label="cloud-only (HEVC of the RGB image)")
    if original:
        ax.errorbar([original[0].kbpi], [original[0].map_voc07], xerr=[original[0].kbpi_std],
                    yerr=[original[0].map_voc07_std], fmt="rs", ms=8, capsize=3, label="cloud-only (original file)")


def figures(results: Results, out: Path, retrained: dict[str, Results] | None = None) -> list[Path]:
    """Fig. 4 (lossless, every split point, both error bars) and Fig. 5 (lossy), one panel per accounting."""
    import matplotlib

    rows, config = results.rows, results.experiment
    retrained = retrained or {}
    splits = split_points_of(config)
    palette = matplotlib.colormaps["tab10"]
    colour = {split: palette(i % 10) for i, split in enumerate(splits)}

    def fig4(accounting: str):  # type: ignore[no-untyped-def]
        def draw(ax) -> None:  # type: ignore[no-untyped-def]
            for split in splits:
                points = sorted(_curve(rows, kind="split", split=split, quality="lossless", accounting=accounting),
                                key=lambda r: r.bit_depth)
                if points:
                    ax.errorbar([r.kbpi for r in points], [r.map_voc07 for r in points],
                                xerr=[r.kbpi_std for r in points], yerr=[r.map_voc07_std for r in points],
                                fmt="o-", color=colour[split], capsize=3, ms=3,
                                label=f"{split.replace('_', ' ')} lossless "
                                + "/".join(str(r.bit_depth) for r in points) + " bit")
            _cloud(ax, rows, curve=False)
        return draw

    def fig5(accounting: str):  # type: ignore[no-untyped-def]
        depth = config.lossy_bit_depths[0] if config.lossy_bit_depths else 8

        def draw(ax) -> None:  # type: ignore[no-untyped-def]
            for split in config.splits:
                points = sorted(_lossy(rows, split, depth, accounting), key=lambda r: r.kbpi)
                ax.plot([r.kbpi for r in points], [r.map_voc07 for r in points], "o-", color=colour[split], ms=3,
                        label=f"{split.replace('_', ' ')}, {depth}-bit, QP " + "/".join(str(r.qp) for r in points))
                if split in retrained:
                    again = sorted(_lossy(retrained[split].rows, split, depth, accounting), key=lambda r: r.kbpi)
                    ax.plot([r.kbpi for r in again], [r.map_voc07 for r in again], "o--", color=colour[split],
                            ms=3, label=f"{split.replace('_', ' ')}, re-trained")
            _cloud(ax, rows, curve=True)
        return draw

    bars = "bars: ±1 std of KBPI over images, ±1 bootstrap std of mAP (spec M-6.1)"
    paths = [out / "fig4_lossless.png", out / "fig5_lossy.png"]
    _figure(paths[0], f"Fig. 4 — lossless feature compression — {config.name}",
            [(f"{ACCOUNTING_NOTE[a]}\n{bars}", fig4(a)) for a in config.accountings])
    _figure(paths[1], f"Fig. 5 — lossy feature compression — {config.name}",
            [(ACCOUNTING_NOTE[a], fig5(a)) for a in config.accountings])
    return paths


def write_report(results_path: str | Path, layer_figure: bool = True,
                 retrained: Mapping[str, str | Path] | None = None) -> Path:
    """report.md beside results.json; ``retrained`` maps a split to the results.json of its re-trained run."""
    results_path = Path(results_path)
    results = load_results(results_path)
    again = {split: load_results(path) for split, path in (retrained or {}).items()}
    out = results_path.parent
    lines, _ = table1(results, retrained=again)
    config, rows = results.experiment, results.rows
    paths = figures(results, out, again)
    if layer_figure:
        from cfc_ref.detector.profile import layer_profile, plot_profile
        from cfc_ref.experiment.models import load_model

        model = load_model(config)
        profile = layer_profile(model, model.config.width, model.config.height, "cpu", repeats=3)
        plot_profile(profile, str(out / "fig1_layers.png"), f"Fig. 1 — layer profile — {config.name}")
        paths.insert(0, out / "fig1_layers.png")
    stand_in = config.model == "embedded"
    text = [f"# {config.name}", ""]
    if stand_in:
        text += ["> **Stand-in, not the paper's numbers.** Synthetic shapes dataset and a small YOLOv2-structured "
                 "model (width ×0.125) shipped with cfc-ref; the paper used VOC2007 test and YOLO9000 weights.", ""]
    encoders = sorted({r.encoder for r in rows if r.kind == "split"})
    decoders = sorted({d for r in rows if r.kind == "split" for d in r.decoders.split("+")})
    text += [f"Encoder: {', '.join(encoders)}; decoders: {', '.join(decoders)}; {len(rows)} settings over "
             f"{rows[0].images} images.", "",
             "## Table 1 — BD-KBPI-mAP and BD-mAP of lossy feature compression vs cloud-only (JPEG)", "", *lines, "",
             "BD-KBPI-mAP negative: fewer kilobits than uploading the JPEG image for the same mAP; BD-mAP positive: "
             "higher mAP for the same kilobits (spec M-5.5). BD is computed on each curve's Pareto-optimal points "
             "(spec M-5.4), VOC07 11-point mAP. Accountings (spec E-7): "
             + "; ".join(ACCOUNTING_NOTE[a] for a in config.accountings) + ". The paper's column is its own "
             "Table 1 (VOC2007 test, YOLO9000, HM-16.12)"
             + (", not comparable with this stand-in's numbers" if stand_in else "") + ".", ""]
    for split, data in again.items():
        weights = Path(data.experiment.weights)
        meta_path = weights.parent / "meta.json"  # beside a training run's weights (cfc-ref train)
        if not meta_path.exists():
            meta_path = weights.with_suffix(".json")  # beside shipped weights (cfc_ref/zoo)
        budget = ""
        if meta_path.exists():
            try:
                meta = json.loads(meta_path.read_text(encoding="utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as err:
                raise CfcError(f"{meta_path}: not a training metadata file ({err})") from None
            budget = (f": {meta['config']['mode']} in the loop at {meta['config']['split']}, "
                      f"{meta['config']['iterations']} iterations × {meta['config']['batch_size']} images "
                      f"({meta['budget_images']} images), qualities {meta['config']['qualities']}, {meta['codec']}")
        text += [f"- Re-trained {split}: weights `{weights}`{budget}."]
    text += ["",
             "## All settings", "",
             "| setting | accounting | samples | KBPI | ± | container overhead kbits | mAP (VOC07) | ± (bootstrap) "
             "| mAP (all-point) | codec |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        accounting = r.accounting + ("" if r.deployable else f" (not deployable: {r.uncoded} not sent)")
        overhead = f"{r.container_kbpi - r.kbpi:.2f}" if r.kind == "split" else "–"
        codec = f"{r.encoder} / {r.decoders}" if r.kind == "split" else r.encoder
        text.append(f"| {r.setting} | {accounting if r.kind == 'split' else '–'} | {r.samples or '–'} | "
                    f"{r.kbpi:.2f} | {r.kbpi_std:.2f} | {overhead} | {r.map_voc07:.4f} | {r.map_voc07_std:.4f} | "
                    f"{r.map_all:.4f} | {codec} |")
    text += ["", "## Figures", ""] + [f"![{p.stem}]({p.name})" for p in paths]
    text += timing_section(results, again)
    report = out / "report.md"
    write_atomic(report, ("\n".join(text) + "\n").encode())
    return report


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


def report_summary(report: str | Path) -> str:
    """The report up to its table of all settings: what a terminal shows after a run."""
    return Path(report).read_text(encoding="utf-8").split("## All settings")[0].rstrip() + "\n"
