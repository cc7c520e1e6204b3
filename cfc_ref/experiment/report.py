"""The report of a run (paper §4; spec E-11): ``report.md`` with Table 1, the figures and where the time went,
beside the run's results.json, with ``table1.*`` (``table1.py``) and the figures and their data (``figures.py``).

    report = write_report("runs/x/results.json")      # report.summary: the terminal's short text
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cfc_ref.errors import CfcError
from cfc_ref.escaping import code, markdown
from cfc_ref.experiment.aggregate import Results, load_results
from cfc_ref.experiment.exports import complexity_section, report_exports
from cfc_ref.experiment.figures import ACCOUNTING_NOTE, CAPTIONS, fig1, fig4, fig5, write_figure_data
from cfc_ref.experiment.table1 import Table1Row, table1, table1_markdown, table1_text, write_table1
from cfc_ref.fileio import read_text_bounded, write_atomic
from cfc_ref.implementations import STAGES

__all__ = ["Report", "write_report"]


@dataclass(frozen=True)
class Report:
    """What ``write_report`` wrote (E-11.1)."""

    path: Path
    files: list[Path]
    table: list[Table1Row]
    retrained: dict[str, Path]  # split → the re-trained results.json used
    looked_for: str  # where re-trained results were looked for, when none were found
    body: tuple[str, ...] = ()  # report.md's lines before its timing section
    sources: tuple[Results, dict[str, Results]] | None = None  # the results it was made from
    exports: tuple[Path, ...] = ()  # E-15.1: CompressAI-Vision's layouts written beside it
    exports_note: str = ""  # why none were written

    def with_job_timing(self, job: dict) -> Report:
        """report.md again, its timing section the job's own figures (``meta.job_timing``, E-10.1)."""
        assert self.sources is not None
        write_atomic(self.path, ("\n".join([*self.body, *timing_section(*self.sources, job)]) + "\n").encode())
        return self

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
        from cfc_ref.experiment.exports import EXPORT_DIR

        lines.append(f"CompressAI-Vision layouts (spec E-15): {EXPORT_DIR}/<curve>/summary.csv and "
                     f"summary_complexity.csv for {len(self.exports) // 2} curves" if self.exports else
                     f"CompressAI-Vision layouts (spec E-15): not written ({self.exports_note or 'no curves'})")
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {"report": str(self.path), "files": [str(p) for p in self.files],
                "retrained": {k: str(v) for k, v in self.retrained.items()},
                "table1": [r.to_json() for r in self.table], "exports": [str(p) for p in self.exports]}


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


def write_report(results_path: str | Path, layer_figure: bool | tuple[bytes, list[dict]] = True,
                 retrained: Mapping[str, str | Path] | None = None) -> Report:
    """report.md, table1.csv/json, the figures and their data beside results.json (E-11.1); ``retrained`` maps a
    split to the results.json of its re-trained run (default: those found in the run directory); ``layer_figure``
    False leaves Fig. 1 out, or is Fig. 1 already drawn (``figures.fig1_profile``)."""
    results_path = Path(results_path)
    results = load_results(results_path)
    found, looked_for = find_retrained(results_path, results, retrained)
    again = {split: load_results(path) for split, path in found.items()}
    out = results_path.parent
    rows = table1(results, out, {split: (again[split], found[split].parent) for split in again})
    files = list(write_table1(rows, out, results))
    figures, data = draw_figures(results, again, out, layer_figure)
    exports, complexity, note = report_exports(results.experiment, out)  # E-15.1
    body = [*_header(results), *_table1_section(results, rows), *_quantizer_section(results, again),
            *_retrained_section(again, found, looked_for), *_settings_section(results),
            *complexity_section(complexity, note), *_figures_section(figures)]
    report = out / "report.md"
    write_atomic(report, ("\n".join([*body, *timing_section(results, again)]) + "\n").encode())
    return Report(report, [report, *files, *data, *figures], rows, found, looked_for, tuple(body), (results, again),
                  tuple(exports), note)


def draw_figures(results: Results, again: dict[str, Results], out: Path,
                 layer_figure: bool | tuple[bytes, list[dict]]) -> tuple[list[Path], list[Path]]:
    """Figs. 1, 4, 5 and each one's data beside them (E-11.1); a figure without points is not drawn (Fig. 4 of a
    lossy-only sweep). Returns the figures and the data files."""
    drawn = layer_figure if isinstance(layer_figure, tuple) else None
    draws = {"fig1_layers": lambda path: fig1(results, path, drawn)} if layer_figure else {}
    draws.update(fig4_lossless=lambda path: fig4(results, path), fig5_lossy=lambda path: fig5(results, path, again))
    figures, data = [], []
    for name, draw in draws.items():
        points = draw(out / f"{name}.png")
        if points:
            figures.append(out / f"{name}.png")
            data += write_figure_data(out / f"{name}.png", CAPTIONS[name], points)
    return figures, data


def _header(results: Results) -> list[str]:
    config, settings = results.experiment, results.rows
    text = [f"# {markdown(config.name)}", ""]
    if config.model == "embedded":
        text += ["> **Stand-in, not the paper's numbers.** Synthetic shapes dataset and a small YOLOv2-structured "
                 "model (width ×0.125) shipped with cfc-ref; the paper used VOC2007 test and YOLO9000 weights. "
                 "What a stand-in can show: that every stage of the data path runs, end to end, and how the "
                 "curves compare with each other on its data. What it cannot: the paper's magnitudes — its BD "
                 "numbers and which split point wins on VOC with YOLO9000.", ""]
    encoders = sorted({r.encoder for r in settings if r.kind == "split"})
    decoders = sorted({d for r in settings if r.kind == "split" for d in r.decoders.split("+")})
    return text + [f"Encoder: {markdown(', '.join(encoders))}; decoders: {markdown(', '.join(decoders))}; "
                   f"{len(settings)} settings over {settings[0].images} images. {_implementations_note(results)}",
                   ""]


def _table1_section(results: Results, rows: list[Table1Row]) -> list[str]:
    config = results.experiment
    stand_in = config.model == "embedded"
    return ["## Table 1 — BD-KBPI-mAP and BD-mAP of lossy feature compression vs cloud-only (JPEG)", "",
            *table1_markdown(rows), "",
            "BD-KBPI-mAP negative: fewer kilobits than uploading the JPEG image for the same mAP; BD-mAP positive: "
            "higher mAP for the same kilobits (spec M-5.5). Each number is computed with the least-squares cubic "
            "of the paper (VCEG-M33) and with pchip; **read** is the one to quote, chosen and caveated by spec "
            "M-5.6. BD uses each curve's Pareto-optimal points (spec M-5.4), VOC07 11-point mAP; `table1.json` "
            "lists them and the `cfc-ref metrics bd` command that reproduces each row. Accountings (spec E-7): "
            + "; ".join(ACCOUNTING_NOTE[a] for a in config.accountings) + ". The paper's column is its own "
            "Table 1 (VOC2007 test, YOLO9000, HM-16.12)"
            + (", not comparable with this stand-in's numbers" if stand_in else "") + ".", ""]


def _quantizer_section(results: Results, again: dict[str, Results]) -> list[str]:
    """E-14.2: with FCM's quantizer in the sweep, its configured ranges and the fraction of coded samples each of its
    curves clipped."""
    config = results.experiment
    if "fcm" not in config.quantizers:
        return []
    lines = ["## The two quantizers (spec E-14)", "",
             "`paper`: eq. (2), each tensor's own min and max, rounded to nearest (spec Q-3). `fcm`: FCM's quantizer "
             "(CompressAI-Vision, FCTM), a fixed range per dataset and tensor, rounded down, elements outside the "
             "range clipped (spec Q-7). Configured ranges: "
             + "; ".join(f"{markdown(name)} [{lo:.6g}, {hi:.6g}]" for name, lo, hi in config.fcm_ranges) + ".", "",
             "| settings (split, bit depth, accounting) | weights | coded samples clipped |", "|---|---|---|"]
    for weights, source in (("default", results), *((f"re-trained {split}", r) for split, r in again.items())):
        curves: dict[str, list] = {}
        for row in source.rows:
            if row.kind == "split" and row.quantizer == "fcm":
                curves.setdefault(f"{row.split}-{row.bit_depth}bit-{row.accounting}-fcm", []).append(row)
        for name, found in curves.items():
            samples = sum(r.samples * r.images for r in found)
            share = sum(r.clipped for r in found) / samples if samples else 0.0
            lines.append(f"| {markdown(name)} | {markdown(weights)} | {share:.4%} |")
    return lines + [""]


def _retrained_section(again: dict[str, Results], found: dict[str, Path], looked_for: str) -> list[str]:
    if not again:
        return [f"Re-trained weights: not run (no re-trained results found at `{code(looked_for)}`; give them with "
                "`--retrained SPLIT=RESULTS`).", ""]
    return [f"- Re-trained {markdown(split)}: results `{code(found[split])}`, weights "
            f"`{code(data.experiment.weights)}`{markdown(_training_budget(Path(data.experiment.weights)))}."
            for split, data in again.items()]


def _settings_section(results: Results) -> list[str]:
    text = ["", "## All settings", "",
            "| setting | accounting | samples | KBPI | ± | container overhead kbits | mAP (VOC07) | ± (bootstrap) "
            "| mAP (all-point) | codec |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results.rows:
        accounting = r.accounting + ("" if r.deployable else f" (not deployable: {r.uncoded} not sent)")
        overhead = f"{r.container_kbpi - r.kbpi:.2f}" if r.kind == "split" else "–"
        codec = f"{r.encoder} / {r.decoders}" if r.kind == "split" else r.encoder
        text.append(f"| {markdown(r.setting)} | {markdown(accounting) if r.kind == 'split' else '–'} | "
                    f"{r.samples or '–'} | {r.kbpi:.2f} | {r.kbpi_std:.2f} | {overhead} | {r.map_voc07:.4f} | "
                    f"{r.map_voc07_std:.4f} | {r.map_all:.4f} | {markdown(codec)} |")
    return text


def _figures_section(figures: list[Path]) -> list[str]:
    text = ["", "## Figures", ""]
    for figure in figures:
        text += [f"![{figure.stem}]({figure.name})", "", f"*{CAPTIONS[figure.stem]}* Data: `{figure.stem}.csv`, "
                 f"`{figure.stem}.json`.", ""]
    return text


def _training_budget(weights: Path) -> str:
    meta_path = weights.parent / "meta.json"  # beside a training run's weights (cfc-ref train)
    if not meta_path.exists():
        meta_path = weights.with_suffix(".json")  # beside shipped weights (cfc_ref/zoo)
    if not meta_path.exists():
        return ""
    try:
        meta = json.loads(read_text_bounded(meta_path))
        config = meta["config"]
        return (f": {config['mode']} in the loop at {config['split']}, {config['iterations']} iterations × "
                f"{config['batch_size']} images ({meta['budget_images']} images), qualities {config['qualities']}, "
                f"{meta['codec']}")
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise CfcError(f"{meta_path}: not a training metadata file ({err})") from None


STAGE_NAMES = {"encode": "HEVC encode", "decode": "HEVC decode", "coding": "Q-layer, tiling, container",
               "front": "front ends", "back": "back ends (and cloud-only networks)",
               "detection": "region decoding + NMS", "upload": "cloud-only uploads (JPEG)",
               "image": "JPEG input decode",
               "aggregation": "aggregation (matching, AP, bootstrap)", "report": "report", "ray sweep": "Ray sweep"}


def _stage_table(stages: dict[str, float], stages_cpu: dict[str, float]) -> list[str]:
    busy = sum(stages_cpu.values()) or sum(stages.values())
    lines = ["| stage | wall seconds | CPU seconds | share of the CPU |", "|---|---|---|---|"]
    for name in sorted(stages, key=lambda key: -stages_cpu.get(key, stages[key])):
        cpu = stages_cpu.get(name)
        share = f"{100 * cpu / busy:.1f} %" if cpu is not None and busy else "–"
        lines.append(f"| {markdown(STAGE_NAMES.get(name, name))} | {stages[name]:.1f} | "
                     f"{'–' if cpu is None else f'{cpu:.1f}'} | {share} |")
    return lines


TIMING_NOTE = ("Wall seconds are elapsed inside a stage, summed over the workers: a loaded machine swells them. CPU "
               "seconds are the processes' CPU time from the operating system (x265's own threads included), which "
               "load does not swell.")


def timing_section(results: Results, retrained: dict[str, Results], job: dict | None = None) -> list[str]:
    """E-10.1: where the time went, wall and CPU seconds per stage, and the job's two ratios to the codec: CPU (the
    figure of merit) and wall × workers. With ``job`` (``meta.job_timing``, as the protocol records it) the job's own
    figures, else the sweeps' (a report made from results.json files alone)."""
    if job is not None:
        parts = job.get("cpu_parts", {})
        server = parts.get("fork_server")
        lines = ["", "## Where the time went (spec E-10)", "", TIMING_NOTE, "",
                 *_stage_table(job["stages"], job.get("stages_cpu", {})), ""]
        if job.get("cpu_ratio_to_codec") is not None:
            lines.append(f"**CPU / codec CPU: {job['cpu_ratio_to_codec']:.2f}** (the figure of merit, E-10.1): all "
                         f"{job['cpu']:.1f} CPU seconds of the job (this process {parts.get('main', 0.0):.1f}, its "
                         f"workers {parts.get('workers', 0.0):.1f}"
                         + (f", the fork server {server:.1f}" if server is not None else "")
                         + f") over the {job['codec_cpu']:.1f} CPU seconds of the HEVC codec (encode + decode); "
                         "1.00 would be the codec alone.")
        if job.get("ratio_to_codec") is not None:
            lines.append(f"Wall × workers / codec wall: **{job['ratio_to_codec']:.2f}** ({job['wall']:.1f} s × "
                         f"{job['workers']} / {job['codec']:.1f} s).")
        return lines
    sweeps = {"default weights": results, **{f"re-trained {k}": v for k, v in retrained.items()}}
    stages: dict[str, float] = {}
    stages_cpu: dict[str, float] = {}
    walls = []
    for name, data in sweeps.items():
        if not data.timing:
            continue
        timing = data.timing
        for target, source in ((stages, timing.get("stages", {})), (stages_cpu, timing.get("stages_cpu", {}))):
            for stage, seconds in source.items():
                target[stage] = target.get(stage, 0.0) + seconds
        walls.append((name, data.timing.get("wall", 0.0), data.timing.get("workers", 1), data.timing.get("units", 0)))
    if not walls:
        return []
    lines = ["", "## Where the time went (spec E-10)", "",
             "The sweeps only (this report was made from their results; the job's figures, with its start-up and "
             "report, are in `results.sqlite`'s `meta.job_timing` when `cfc-ref run` made it): "
             + ", ".join(f"{n} ({w:.1f} s wall, {k} worker{'s' if k != 1 else ''}, {u:,} units computed)"
                         for n, w, k, u in walls) + ".", "", TIMING_NOTE, "", *_stage_table(stages, stages_cpu)]
    codec = stages.get("encode", 0.0) + stages.get("decode", 0.0)
    codec_cpu = stages_cpu.get("encode", 0.0) + stages_cpu.get("decode", 0.0)
    if codec_cpu:
        lines += ["", f"Stages' CPU / codec CPU (sweeps only): **{sum(stages_cpu.values()) / codec_cpu:.2f}**."]
    if codec:
        wall, workers = sum(w for _, w, _, _ in walls), max(k for _, _, k, _ in walls)
        lines += [f"Sweeps' wall × workers / codec wall: **{wall * workers / codec:.2f}** ({wall:.1f} s × {workers} / "
                  f"{codec:.1f} s)."]
    return lines


def _implementations_note(results: Results) -> str:
    """E-12.2: which code computed the stages that have a fast twin."""
    recorded = results.implementations
    if not recorded:
        return "Implementations of the stages: not recorded (a results.json of an earlier cfc-ref)."
    reference = all(recorded.get(k) == stage.reference for k, stage in STAGES.items() if k in recorded)
    which = ("the readable references (`--reference`)" if reference else
             "their fast twins, each proven equal to the reference by a test")
    return (f"Q-layer, tiling, region decoding + NMS, VOC matching and bootstrap computed by {which} "
            "(spec E-12; `results.json` names each).")
