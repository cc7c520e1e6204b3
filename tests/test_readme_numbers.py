"""Every number the README quotes from the main job is the pinned regression data's (issue 32 item 1): the Table 1 of
"What the embedded default measures" is written from golden/embedded/main_job.json, and every percentage, KBPI range
and mAP that section quotes is one the pin gives (or the paper's own Table 1). The pin itself is checked against a
fresh main job in tests/test_main_job.py (``tox -e golden``)."""

from __future__ import annotations

import json
import re

import pytest

from cfc_ref.experiment.regression import MAIN_JOB_PIN, readme_quotes, readme_table1
from cfc_ref.experiment.table1 import PAPER_TABLE1

from cfc_testing import GOLDEN, ROOT

PIN = json.loads((GOLDEN / "embedded" / MAIN_JOB_PIN).read_text())
SECTION = "## What the embedded default measures"


def section() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index(SECTION)
    end = text.index("\n## ", start + len(SECTION))
    return text[start:end]


def test_the_readme_table1_is_written_from_the_pin():
    lines = section().splitlines()
    table = readme_table1(PIN)
    start = lines.index(table[0])
    assert lines[start:start + len(table)] == table
    assert not lines[start + len(table)].startswith("|")  # no row the pin does not give


def test_every_number_the_section_quotes_is_the_pins():
    text = section()
    quotes = readme_quotes(PIN)
    for name, quote in quotes.items():
        assert quote in text, f"the README does not quote the pin's {name}: {quote!r}"
    table = "\n".join(readme_table1(PIN))
    rest = text.replace(table, "")
    for quote in quotes.values():
        rest = rest.replace(quote, "")
    paper = {v.removesuffix(" %").replace("-", "−") for v in PAPER_TABLE1.values()}
    stray = [m for m in re.findall(r"[+−-]?\d+\.\d+ ?%", rest) if m.replace(" ", "").removesuffix("%") not in paper]
    assert not stray, f"percentages the pin does not give: {stray}"
    assert not re.findall(r"\b0\.\d{3}\b", rest), "an mAP quoted outside the pinned quotes"
    assert not re.findall(r"\d+–\d+ vs \d+–\d+ kbits", rest)


@pytest.mark.parametrize("row", [r for r in PIN["table1"] if r["quantizer"] == "paper"],
                         ids=lambda r: f"{r['split']}-{r['accounting']}-{r['weights']}")
def test_the_pin_holds_every_method_and_the_reading(row):
    rate = row["bd_kbpi_percent"]
    assert rate["read_method"] in ("cubic", "pchip", "monotonic") and rate["read"] == rate[rate["read_method"]]


def test_the_readme_cost_paragraph_is_a_pinned_measurement():
    """Issue 32 item 5: the README's cost figures are a ``tools/measure_run.py --pin`` file's, machine named."""
    from cfc_ref.experiment.regression import MAIN_JOB_COST, readme_cost

    text = (ROOT / "README.md").read_text()
    start = text.index("Measured cost of that job")
    paragraph = text[start:text.index("\n\n", start)].replace("\n", " ")
    named = set(re.findall(r"benchmarks/main-job/([\w.-]+\.json)", paragraph))
    assert len(named) == 1, named
    pin = json.loads((ROOT / MAIN_JOB_COST / named.pop()).read_text())
    sentence = readme_cost(pin)
    assert sentence in paragraph
    measured, job = pin["measured"], pin["job_timing"]
    assert measured["exit"] == 0 and measured["processes_left_behind"] == 0
    assert measured["cpu_source"].startswith("cgroup")  # every process's CPU, the workers' too
    assert job["cpu_ratio_to_codec"] == pytest.approx(job["cpu"] / job["codec_cpu"])
    assert job["codec_cpu"] == pytest.approx(pin["stages_cpu"]["encode"] + pin["stages_cpu"]["decode"])
    rest = paragraph.replace(sentence, "")
    assert not re.findall(r"\d+ s wall|CPU-seconds|\d MB|\d GB|\d\.\d\d\b", rest), "a figure the pin does not give"


def test_the_real_size_paragraph_is_the_pinned_measurement_in_the_readme_and_the_cluster_docs():
    """Issue 34: the real-size job's stage table, ratio and VOC2007 projection, from benchmarks/real-size/."""
    from cfc_ref.experiment.regression import REAL_SIZE, VOC2007_TEST_IMAGES, real_size_projection, real_size_text

    pins = sorted(p for p in (ROOT / REAL_SIZE).glob("*.json") if not p.name.endswith("-network-stages.json"))
    assert pins
    for path in pins:
        pin = json.loads(path.read_text())
        network = json.loads(path.with_name(path.stem + "-network-stages.json").read_text())
        assert pin["measured"]["exit"] == 0 and pin["measured"]["cpu_source"].startswith("cgroup")
        p, measured = real_size_projection(pin), pin["measured"]
        cpu, wall, images = measured["cpu_user_s"] + measured["cpu_system_s"], measured["wall_s"], pin["images"]
        busy = min(pin["job_timing"]["workers"], pin["machine"]["cores"])  # the cores the job's workers could use
        assert p["cpu_hours"] * 3600 == pytest.approx(cpu / images * VOC2007_TEST_IMAGES)
        assert p["hours_here"] * 3600 == pytest.approx(wall / images * VOC2007_TEST_IMAGES)
        # 16 cores kept as busy as the measured job kept its own: the wall time scales by busy / 16
        assert p["hours_16"] == pytest.approx(p["hours_here"] * busy / 16)
        assert p["hours_16"] < p["hours_16_ray"] < p["hours_16"] * 1.01  # Ray's per-unit cost: small on 0.3 s units
        assert p["rest"] >= 0 and pin["units"] == 1060 and images == 20
        text = real_size_text(pin, network)
        for doc in ("README.md", "docs/distributed.md"):
            assert text in (ROOT / doc).read_text().replace("\n", " "), f"{doc} does not quote {path.name}"


def test_measure_run_pins_a_finished_job_and_refuses_anything_else(tmp_path):
    import sys

    from cfc_ref.errors import CfcError
    from cfc_ref.experiment.regression import readme_cost
    from cfc_ref.experiment.store import RunStore

    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import measure_run
    finally:
        sys.path.remove(str(ROOT / "tools"))
    run = tmp_path / "run"
    measured = {"exit": 0, "wall_s": 10.0, "cpu_user_s": 15.0, "cpu_system_s": 1.0, "peak_rss_sum_mb": 900,
                "dir_bytes": 2_000_000, "dir_files": 9, "processes_left_behind": 0, "cpu_source": "cgroup cpuacct"}
    with pytest.raises(CfcError, match="exited with 1"):
        measure_run.pin({**measured, "exit": 1}, run, root=tmp_path)
    run.mkdir()
    with RunStore.open(run):
        pass
    with pytest.raises(CfcError, match="no job timing"):
        measure_run.pin(measured, run, root=tmp_path)
    timing = {"wall": 9.9, "workers": 2, "cpu": 16.0, "codec_cpu": 8.0, "codec": 8.5, "cpu_ratio_to_codec": 2.0,
              "ratio_to_codec": 2.33, "stages_cpu": {"encode": 7.0, "decode": 1.0, "back": 5.0},
              "sweeps": {"default weights": {"units": 40}, "re-trained max 11": {"units": 7}}}
    with RunStore.open(run) as store:
        store.set_meta(job_timing=json.dumps(timing))
        store.connection.execute("INSERT INTO sweeps (started, engine, workers, units, encodes, wall, worker_cpu, "
                                 "complete) VALUES ('t', 'local', 2, 40, 0, 9.0, 15.0, 1)")
        store.connection.commit()
    (run / "report.md").write_text("# x\n\nEncoder: x265 9; decoders: pylibde265; 1 settings\n")
    out = measure_run.pin(measured, run, root=tmp_path)
    assert out == tmp_path / "benchmarks" / "main-job" / out.name and out.name.endswith(".json")
    pin = json.loads(out.read_text())
    assert pin["images"] == 0 and pin["units"] == 47 and pin["stages_cpu"]["back"] == 5.0
    assert pin["codecs"][0] == "Encoder: x265 9"
    with RunStore.open(run) as store:  # a resumed run: its timing covers the last sweep only
        store.connection.execute("INSERT INTO sweeps (started, engine, workers, units, encodes, wall, worker_cpu, "
                                 "complete) VALUES ('u', 'local', 2, 3, 0, 1.0, 1.5, 1)")
        store.connection.commit()
    with pytest.raises(CfcError, match="records 2 sweeps"):
        measure_run.pin(measured, run, root=tmp_path)
    assert "10 s wall and 16 CPU-seconds" in readme_cost(pin) and "the decoder 1;" in readme_cost(pin)
