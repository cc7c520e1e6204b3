"""Table 1 (markdown) and Figs. 1, 4, 5 (PNG) from a run's results.json (paper §4)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from cfc_ref.errors import CfcError, MetricsError
from cfc_ref.experiment.aggregate import ResultRow, Results, load_results
from cfc_ref.metrics.bd import bd_kbpi_map


def pareto(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Points not beaten by another with ≤ bits and ≥ mAP (spec M-5.4), sorted by bits."""
    front: list[tuple[float, float]] = []
    for rate, quality in sorted(points, key=lambda p: (p[0], -p[1])):
        if not front or quality > front[-1][1]:
            front.append((rate, quality))
    return front


def _curve(rows: list[ResultRow], **match: object) -> list[ResultRow]:
    return [r for r in rows if all(getattr(r, k) == v for k, v in match.items())]


def _lossy(rows: list[ResultRow], split: str, depth: int) -> list[ResultRow]:
    return [r for r in _curve(rows, kind="split", split=split, bit_depth=depth) if r.lossy]


def _lossy_points(rows: list[ResultRow], split: str, depth: int, metric: str
                  ) -> tuple[list[tuple[float, float]], int]:
    lossy = _lossy(rows, split, depth)
    return pareto([(r.kbpi, getattr(r, metric)) for r in lossy]), len(lossy)


def _bd_cell(anchor: list[tuple[float, float]], test: list[tuple[float, float]], method: str) -> str:
    try:
        return f"{bd_kbpi_map(anchor, test, method).percent:+.2f} %"
    except MetricsError as err:
        return f"n/a ({err})"


def table1(results: Results, metric: str = "map_voc07", retrained: dict[str, Results] | None = None
           ) -> tuple[list[str], dict[str, float | str]]:
    """Table 1: BD-KBPI-mAP of each split's lossy curve against the cloud-only JPEG curve, default weights and,
    where given, re-trained weights (``retrained[split]`` is that training's results, same anchor)."""
    rows, config = results.rows, results.experiment
    retrained = retrained or {}
    anchor_rows = [r for r in rows if r.jpeg]
    anchor = pareto([(r.kbpi, getattr(r, metric)) for r in anchor_rows])
    depth = config.lossy_bit_depths[0]
    lines = ["| Split at | Default weights (cubic) | (pchip) | Re-trained weights (cubic) | (pchip) | points used |",
             "|---|---|---|---|---|---|"]
    values: dict[str, float | str] = {}
    for split in config.splits:
        test, total = _lossy_points(rows, split, depth, metric)
        default = [_bd_cell(anchor, test, m) for m in ("cubic", "pchip")]
        if split in retrained:
            re_test, _ = _lossy_points(retrained[split].rows, split, depth, metric)
            again = [_bd_cell(anchor, re_test, m) for m in ("cubic", "pchip")]
            values[f"{split} re-trained"] = again[0]
        else:
            again = ["not run", "–"]
        values[split] = default[0]
        lines.append(f"| {split.replace('_', ' ')} | {default[0]} | {default[1]} | {again[0]} | {again[1]} | "
                     f"{len(test)} of {total} QPs; anchor {len(anchor)} of {len(anchor_rows)} JPEG qualities |")
    return lines, values


def _figure(path: Path, title: str, draw) -> None:  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    draw(ax)
    ax.set_xscale("log")
    ax.set_xlabel("KBPI (kilobits per image: payload + side info)")
    ax.set_ylabel("mAP (VOC07 11-point)")
    ax.set_title(title, fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


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
        ax.plot([original[0].kbpi], [original[0].map_voc07], "rs", ms=8, label="cloud-only (original file)")


def figures(results: Results, out: Path, retrained: dict[str, Results] | None = None) -> list[Path]:
    rows, config = results.rows, results.experiment
    retrained = retrained or {}
    colours = ["tab:blue", "tab:red", "tab:purple", "tab:orange", "tab:brown"]
    label = config.name

    def fig4(ax) -> None:  # type: ignore[no-untyped-def]
        for colour, split in zip(colours, config.splits, strict=False):
            points = sorted(_curve(rows, kind="split", split=split, quality="lossless"), key=lambda r: r.bit_depth)
            ax.errorbar([r.kbpi for r in points], [r.map_voc07 for r in points],
                        xerr=[r.kbpi_std for r in points], fmt="o-", color=colour, capsize=3,
                        label=f"{split.replace('_', ' ')} lossless " + "/".join(f"{r.bit_depth}" for r in points)
                        + " bit")
        _cloud(ax, rows, curve=False)

    def fig5(ax) -> None:  # type: ignore[no-untyped-def]
        depth = config.lossy_bit_depths[0]
        for colour, split in zip(colours, config.splits, strict=False):
            points = sorted(_lossy(rows, split, depth), key=lambda r: r.kbpi)
            ax.plot([r.kbpi for r in points], [r.map_voc07 for r in points], "o-", color=colour,
                    label=f"{split.replace('_', ' ')}, {depth}-bit, QP " + "/".join(str(r.qp) for r in points))
            if split in retrained:
                again = sorted(_lossy(retrained[split].rows, split, depth), key=lambda r: r.kbpi)
                ax.plot([r.kbpi for r in again], [r.map_voc07 for r in again], "o--", color=colour,
                        label=f"{split.replace('_', ' ')}, re-trained")
        _cloud(ax, rows, curve=True)

    paths = [out / "fig4_lossless.png", out / "fig5_lossy.png"]
    _figure(paths[0], f"Fig. 4 — lossless feature compression — {label}", fig4)
    _figure(paths[1], f"Fig. 5 — lossy feature compression — {label}", fig5)
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
    text += [f"Encoder: {', '.join(encoders)}; {len(rows)} settings over {rows[0].images} images.", "",
             "## Table 1 — BD-KBPI-mAP of lossy feature compression vs cloud-only (JPEG)", "", *lines, "",
             "Negative: fewer kilobits than uploading the JPEG image for the same mAP. BD is computed on each "
             "curve's Pareto-optimal points (spec M-5.4), VOC07 11-point mAP.", ""]
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
             "| setting | KBPI | ± | container overhead kbits | mAP (VOC07) | mAP (all-point) | codec |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        text.append(f"| {r.setting} | {r.kbpi:.2f} | {r.kbpi_std:.2f} | {r.container_kbpi - r.kbpi:.2f}"
                    f" | {r.map_voc07:.4f} | {r.map_all:.4f} | {r.encoder} / {r.decoders} |"
                    if r.kind == "split" else
                    f"| {r.setting} | {r.kbpi:.2f} | {r.kbpi_std:.2f} | – | {r.map_voc07:.4f} | "
                    f"{r.map_all:.4f} | {r.encoder} |")
    text += ["", "## Figures", ""] + [f"![{p.stem}]({p.name})" for p in paths]
    report = out / "report.md"
    report.write_text("\n".join(text) + "\n")
    return report


def report_summary(report: str | Path) -> str:
    """The report up to its table of all settings: what a terminal shows after a run."""
    return Path(report).read_text(encoding="utf-8").split("## All settings")[0].rstrip() + "\n"
