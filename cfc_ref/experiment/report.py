"""Table 1 (markdown) and Figs. 1, 4, 5 (PNG) from a run's results.json (paper §4)."""

from __future__ import annotations

import json
from pathlib import Path

from cfc_ref.errors import MetricsError
from cfc_ref.metrics.bd import bd_kbpi_map


def pareto(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Points not beaten by another with ≤ bits and ≥ mAP (spec M-5.4), sorted by bits."""
    front: list[tuple[float, float]] = []
    for rate, quality in sorted(points, key=lambda p: (p[0], -p[1])):
        if not front or quality > front[-1][1]:
            front.append((rate, quality))
    return front


def _curve(rows: list[dict], **match: object) -> list[dict]:
    return [r for r in rows if all(r[k] == v for k, v in match.items())]


def table1(results: dict, metric: str = "map_voc07") -> tuple[list[str], dict[str, float | str]]:
    rows, config = results["rows"], results["config"]
    anchor_rows = [r for r in rows if r["kind"] == "cloud" and r["quality"].startswith("jpeg")]
    anchor = pareto([(r["kbpi"], r[metric]) for r in anchor_rows])
    depth = config["lossy_bit_depths"][0]
    lines = ["| Split at | BD-KBPI-mAP, default weights (cubic) | (pchip) | points used |",
             "|---|---|---|---|"]
    values: dict[str, float | str] = {}
    for split in config["splits"]:
        lossy = _curve(rows, kind="split", split=split, bit_depth=depth)
        lossy = [r for r in lossy if r["quality"].startswith("qp")]
        test = pareto([(r["kbpi"], r[metric]) for r in lossy])
        cells = []
        for method in ("cubic", "pchip"):
            try:
                cells.append(f"{bd_kbpi_map(anchor, test, method).percent:+.2f} %")
            except MetricsError as err:
                cells.append(f"n/a ({err})")
        values[split] = cells[0]
        lines.append(f"| {split.replace('_', ' ')} | {cells[0]} | {cells[1]} | {len(test)} of {len(lossy)} QPs; "
                     f"anchor {len(anchor)} of {len(anchor_rows)} JPEG qualities |")
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


def _cloud(ax, rows: list[dict], curve: bool) -> None:  # type: ignore[no-untyped-def]
    jpeg = sorted(_curve(rows, kind="cloud"), key=lambda r: r["kbpi"])
    original = [r for r in jpeg if r["quality"] == "original"]
    jpeg = [r for r in jpeg if r["quality"] != "original"]
    if curve and jpeg:
        ax.plot([r["kbpi"] for r in jpeg], [r["map_voc07"] for r in jpeg], "g-o", ms=3, label="cloud-only (JPEG)")
    if original:
        ax.plot([original[0]["kbpi"]], [original[0]["map_voc07"]], "rs", ms=8, label="cloud-only (original file)")


def figures(results: dict, out: Path) -> list[Path]:
    rows, config = results["rows"], results["config"]
    colours = ["tab:blue", "tab:red", "tab:purple", "tab:orange", "tab:brown"]
    label = config["name"]

    def fig4(ax) -> None:  # type: ignore[no-untyped-def]
        for colour, split in zip(colours, config["splits"], strict=False):
            points = sorted(_curve(rows, kind="split", split=split, quality="lossless"), key=lambda r: r["bit_depth"])
            ax.errorbar([r["kbpi"] for r in points], [r["map_voc07"] for r in points],
                        xerr=[r["kbpi_std"] for r in points], fmt="o-", color=colour, capsize=3,
                        label=f"{split.replace('_', ' ')} lossless " + "/".join(f"{r['bit_depth']}" for r in points)
                        + " bit")
        _cloud(ax, rows, curve=False)

    def fig5(ax) -> None:  # type: ignore[no-untyped-def]
        depth = config["lossy_bit_depths"][0]
        for colour, split in zip(colours, config["splits"], strict=False):
            points = [r for r in _curve(rows, kind="split", split=split, bit_depth=depth)
                      if r["quality"].startswith("qp")]
            points.sort(key=lambda r: r["kbpi"])
            ax.plot([r["kbpi"] for r in points], [r["map_voc07"] for r in points], "o-", color=colour,
                    label=f"{split.replace('_', ' ')}, {depth}-bit, QP " + "/".join(r["quality"][2:] for r in points))
        _cloud(ax, rows, curve=True)

    paths = [out / "fig4_lossless.png", out / "fig5_lossy.png"]
    _figure(paths[0], f"Fig. 4 — lossless feature compression — {label}", fig4)
    _figure(paths[1], f"Fig. 5 — lossy feature compression — {label}", fig5)
    return paths


def write_report(results_path: str | Path, layer_figure: bool = True) -> Path:
    results_path = Path(results_path)
    results = json.loads(results_path.read_text())
    out = results_path.parent
    lines, _ = table1(results)
    config, rows = results["config"], results["rows"]
    paths = figures(results, out)
    if layer_figure:
        from cfc_ref.detector.profile import layer_profile, plot_profile
        from cfc_ref.experiment.config import config_from_dict
        from cfc_ref.experiment.runner import load_model

        model = load_model(config_from_dict(config))
        profile = layer_profile(model, model.config.width, model.config.height, "cpu", repeats=3)
        plot_profile(profile, str(out / "fig1_layers.png"), f"Fig. 1 — layer profile — {config['name']}")
        paths.insert(0, out / "fig1_layers.png")
    stand_in = config["model"] == "embedded"
    text = [f"# {config['name']}", ""]
    if stand_in:
        text += ["> **Stand-in, not the paper's numbers.** Synthetic shapes dataset and a small YOLOv2-structured "
                 "model (width ×0.125) shipped with cfc-ref; the paper used VOC2007 test and YOLO9000 weights.", ""]
    encoders = sorted({r["encoder"] for r in rows if r["kind"] == "split"})
    text += [f"Encoder: {', '.join(encoders)}; {len(rows)} settings over {rows[0]['images']} images.", "",
             "## Table 1 — BD-KBPI-mAP of lossy feature compression vs cloud-only (JPEG)", "", *lines, "",
             "Negative: fewer kilobits than uploading the JPEG image for the same mAP. BD is computed on each "
             "curve's Pareto-optimal points (spec M-5.4), VOC07 11-point mAP.", "",
             "## All settings", "",
             "| setting | KBPI | ± | container overhead kbits | mAP (VOC07) | mAP (all-point) | codec |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        text.append(f"| {r['setting']} | {r['kbpi']:.2f} | {r['kbpi_std']:.2f} | {r['container_kbpi'] - r['kbpi']:.2f}"
                    f" | {r['map_voc07']:.4f} | {r['map_all']:.4f} | {r['encoder']} / {r['decoders']} |"
                    if r["kind"] == "split" else
                    f"| {r['setting']} | {r['kbpi']:.2f} | {r['kbpi_std']:.2f} | – | {r['map_voc07']:.4f} | "
                    f"{r['map_all']:.4f} | {r['encoder']} |")
    text += ["", "## Figures", ""] + [f"![{p.stem}]({p.name})" for p in paths]
    report = out / "report.md"
    report.write_text("\n".join(text) + "\n")
    return report
