"""The embedded default's regression points (golden/embedded/regression.json, written by
tools/make_golden_embedded.py): a few (split, bit depth, QP) settings and one JPEG quality on the first test images."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from cfc_ref.experiment.config import ExperimentConfig, embedded_default

REGRESSION_IMAGES = 20


def regression_config(directory: str | Path) -> ExperimentConfig:
    base = embedded_default(str(Path(directory) / "run"))
    return replace(base, name="embedded regression", limit=REGRESSION_IMAGES, synthetic_test_images=REGRESSION_IMAGES,
                   lossless_bit_depths=(8, 10), lossy_bit_depths=(8,), qps=(32,), jpeg_qualities=(50,),
                   original_upload=False, workers=1, lossless_splits=())


MAIN_JOB_PIN = "main_job.json"  # golden/embedded/: what the README quotes from the main job (issue 32)
QUOTED_POINTS = ("max_11-8bit-qp47",)  # settings whose mAP the README quotes, default and re-trained


def main_job_pin(run: str | Path) -> dict:
    """The numbers the README quotes from a finished main job (``cfc-ref`` into ``run``), from its own files: every
    Table 1 row's BD numbers (each method and the one to read), the KBPI ranges of the anchor and of max 17's paper
    curve, and the mAP of QUOTED_POINTS with default and re-trained weights."""
    import json

    from cfc_ref.experiment.aggregate import load_results
    from cfc_ref.metrics.curves import curve_points

    run = Path(run)
    table = json.loads((run / "table1.json").read_text())
    rows = []
    for row in table["rows"]:
        entry = {k: row[k] for k in ("split", "accounting", "weights", "quantizer", "status")}
        bd = row["bd"]
        for quantity in ("bd_kbpi_percent", "bd_map"):
            cells = {m: None if bd is None else bd[m][quantity] for m in ("cubic", "pchip", "monotonic")}
            reading = None if bd is None else bd["read"][quantity]
            entry[quantity] = dict(cells, read=None if reading is None else reading["value"],
                                   read_method=None if reading is None else reading["method"])
        rows.append(entry)
    results = load_results(run / "results.json")
    curves = {}
    for name in ("cloud-jpeg", "max_17-8bit-paper"):
        rates = [rate for rate, _ in curve_points(results.rows, name)]
        curves[name] = [min(rates), max(rates)]
    points: dict[str, dict[str, float]] = {}
    for setting in QUOTED_POINTS:
        split = setting.split("-")[0]
        again = load_results(run / f"retrained-{split}" / "results.json")
        points[setting] = {weights: next(r.map_voc07 for r in source.rows if r.setting == setting)
                           for weights, source in (("default", results), ("re-trained", again))}
    return {"table1": rows, "curve_kbpi_ranges": curves, "map_voc07": points}


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.2f}".replace("-", "−").replace("+", "+" if value > 0 else "")


def _cell(row: dict) -> str:
    rate = row["bd_kbpi_percent"]
    return (f"{_percent(rate['cubic'])} / {_percent(rate['pchip'])} / {_percent(rate['monotonic'])} % "
            f"(read {rate['read_method']})")


def readme_table1(pin: dict) -> list[str]:
    """The README's Table 1 (BD-KBPI-mAP of each default and re-trained row, cubic / pchip / monotonic and the one
    to read), written from the main job's pin (tests/test_readme_numbers.py checks the README holds exactly these
    lines)."""
    from cfc_ref.experiment.table1 import paper_value

    lines = ["| Split at | accounting | default weights: cubic / pchip / monotonic | re-trained, codec in the loop "
             "| paper's Table 1 (default / re-trained) |", "|---|---|---|---|---|"]
    rows = [r for r in pin["table1"] if r["quantizer"] == "paper"]
    for default in (r for r in rows if r["weights"] == "default"):
        again = next(r for r in rows if r["weights"] == "re-trained" and (r["split"], r["accounting"]) == (
            default["split"], default["accounting"]))
        paper = " / ".join(v.replace("-", "−") for v in (paper_value(default["split"], default["accounting"], w)
                                                          for w in ("default", "re-trained")) if v != "–")
        paper = paper or "–"
        accounting = {"both": "either (one tensor crosses)"}.get(default["accounting"], default["accounting"])
        lines.append(f"| {default['split'].replace('_', ' ')} | {accounting} | {_cell(default)} | {_cell(again)} "
                     f"| {paper} |")
    return lines


def readme_quotes(pin: dict) -> dict[str, str]:
    """The other numbers the README's section on the embedded default quotes, as it writes them."""
    jpeg, paper = pin["curve_kbpi_ranges"]["cloud-jpeg"], pin["curve_kbpi_ranges"]["max_17-8bit-paper"]
    qp47 = pin["map_voc07"]["max_11-8bit-qp47"]
    return {"ranges": f"{paper[0]:.0f}–{paper[1]:.0f} vs {jpeg[0]:.0f}–{jpeg[1]:.0f} kbits",
            "qp47": f"mAP at QP 47: {qp47['re-trained']:.3f} with the codec in the loop, {qp47['default']:.3f} "
                    "before fine-tuning"}


MAIN_JOB_COST = "benchmarks/main-job"  # tools/measure_run.py --pin: the main job's measured cost, one file a machine


def readme_cost(pin: dict) -> str:
    """The README's sentence on what the main job cost, written from a ``tools/measure_run.py --pin`` file: every
    figure in it is the pin's (wall, CPU of every process, the codec's CPU, both ratios of E-10.1, memory, files)."""
    measured, job, stages = pin["measured"], pin["job_timing"], pin["stages_cpu"]
    machine = pin["machine"]
    cpu = measured["cpu_user_s"] + measured["cpu_system_s"]
    return (f"on {machine['cpu']} with {machine['cores']} cores and {machine['memory_gib']} GiB ({pin['when']}, "
            f"commit {pin['commit']}, {job['workers']} workers): {measured['wall_s']:.0f} s wall and {cpu:.0f} "
            f"CPU-seconds over all its processes, of which the HEVC encoder takes {stages['encode']:.0f} and the "
            f"decoder {stages['decode']:.0f}; all CPU over the codec's CPU is {job['cpu_ratio_to_codec']:.2f} (the "
            f"figure of merit every run records and its report shows, spec E-10.1; wall × workers over the codec's "
            f"wall seconds is {job['ratio_to_codec']:.2f}); peak memory {measured['peak_rss_sum_mb'] / 1000:.1f} GB "
            f"over all processes; the run directory is {measured['dir_bytes'] / 1e6:.1f} MB in "
            f"{measured['dir_files']} files")


REAL_SIZE = "benchmarks/real-size"  # tools/measure_run.py --pin real-size, and bench_network_stages.py's figures
VOC2007_TEST_IMAGES = 4952
RAY_SECONDS_PER_UNIT = 0.0005  # docs/distributed.md: Ray's cost per unit (3 ms per coding task of 6 settings)


def real_size_projection(pin: dict, machine_cores: int = 16) -> dict[str, float]:
    """What the real-size job measured, per image, and its projection to VOC2007 test (same settings): CPU-hours,
    hours on the measured machine, on a ``machine_cores``-core machine of the same per-core speed (the share of its
    workers' cores the job kept busy kept), and that with Ray's cost per unit added (for a cluster of N such
    machines: divide by N)."""
    measured, stages = pin["measured"], pin["stages_cpu"]
    cpu = measured["cpu_user_s"] + measured["cpu_system_s"]
    per_image, wall_per_image = cpu / pin["images"], measured["wall_s"] / pin["images"]
    cores = min(pin["job_timing"]["workers"], pin["machine"]["cores"])
    use = cpu / (measured["wall_s"] * cores)  # the share of its workers' cores the job kept busy
    hours16 = per_image * VOC2007_TEST_IMAGES / (machine_cores * use) / 3600
    ray = pin["units"] / pin["images"] * VOC2007_TEST_IMAGES * RAY_SECONDS_PER_UNIT / (machine_cores * use) / 3600
    return {"cpu": cpu, "per_image": per_image, "back": stages["back"], "encode": stages["encode"],
            "decode": stages["decode"], "front": stages["front"], "coding": stages["coding"],
            "rest": cpu - sum(stages[name] for name in ("back", "encode", "decode", "front", "coding")),
            "cpu_hours": per_image * VOC2007_TEST_IMAGES / 3600,
            "hours_here": wall_per_image * VOC2007_TEST_IMAGES / 3600, "hours_16": hours16,
            "hours_16_ray": hours16 + ray}


def real_size_text(pin: dict, network: dict) -> str:
    """The paragraph on the real-size job that the README and docs/distributed.md quote (issue 34)."""
    p, job, machine = real_size_projection(pin), pin["job_timing"], pin["machine"]
    rows = network["results"]
    exact, fast, batched, bf16 = (rows[name] for name in ("exact", "fast", "fast, cloud batched", "fast bf16"))
    return (f"The real-size job (`tools/configs/bench-real-size.json`: yolo-voc.cfg at 416×416 with untrained weights "
            f"of the real layout from `tools/make_bench_weights.py`, the VOC2007 config's settings, "
            f"{pin['images']} synthetic images; time only, its mAP means nothing), on {machine['cpu']} with "
            f"{machine['cores']} cores ({pin['when']}, commit {pin['commit']}, {job['workers']} workers, pinned in "
            f"`benchmarks/real-size/`): {pin['measured']['wall_s']:.0f} s wall and {p['cpu']:.0f} CPU-seconds, "
            f"{p['per_image']:.1f} per image — back ends and cloud-only networks {p['back']:.0f}, HEVC encode "
            f"{p['encode']:.0f}, decode {p['decode']:.0f}, front ends {p['front']:.0f}, Q-layer, tiling and "
            f"container {p['coding']:.0f}, the rest {p['rest']:.0f}. It is network-bound: all CPU over the codec's "
            f"CPU is {job['cpu_ratio_to_codec']:.2f}. Projected to VOC2007 test ({VOC2007_TEST_IMAGES} images, the "
            f"same settings): {p['cpu_hours']:.1f} CPU-hours, about {p['hours_here']:.1f} h on the measured machine, "
            f"{p['hours_16']:.1f} h on a 16-core machine of the same per-core speed, and {p['hours_16_ray']:.1f} h "
            f"divided by N on a Ray cluster of N such machines (Ray's {RAY_SECONDS_PER_UNIT * 1000:.1f} ms per unit "
            f"added, {pin['units'] / pin['images']:.0f} units per image). The networks measured alone, per image on "
            f"one thread "
            f"(`tools/bench_network_stages.py`): the exact model's calls {exact['total']:.2f} CPU-seconds, "
            f"`inference: fast` {fast['total']:.2f}, with the cloud-only uploads batched {batched['total']:.2f} "
            f"(all CPU over codec CPU {exact['ratio_to_codec']:.2f}, {fast['ratio_to_codec']:.2f}, "
            f"{batched['ratio_to_codec']:.2f}); only bfloat16 (AMX on this CPU) reaches {bf16['total']:.2f} "
            f"({bf16['ratio_to_codec']:.2f}), and it moves the region layer's input by up to "
            f"{bf16['largest_difference']:.2f}, outside D-8.2's tolerance, so the 1.5× goal is out of reach on a CPU "
            f"without changing the numbers (and bfloat16 misses it too).")
