"""Where two runs diverge (spec E-13): the SHA-256 of every feature tensor the back end received (E-9.7), unit by
unit, in the first run's order of settings and images, and the first unit and tensor where they differ.

    report = compare_runs(Path("runs/a"), Path("runs/b"))
    report["first_divergence"]     # {"setting": …, "image": …, "tensor": …, "a": sha256, "b": sha256} or None
"""

from __future__ import annotations

from pathlib import Path

from cfc_ref.experiment.store import RunStore
from cfc_ref.experiment.units import Unit


def _ordered(store: RunStore) -> tuple[list[str], list[str]]:
    settings = [row[0] for row in store.connection.execute("SELECT key FROM settings ORDER BY position")]
    return settings, list(store.image_digests())


def _first_difference(a: Unit, b: Unit) -> tuple[str, str | None, str | None] | None:
    """The first tensor (by name) whose hash differs, with both hashes (None: the tensor is missing there)."""
    ha, hb = dict(a.features), dict(b.features)
    for name in sorted(set(ha) | set(hb)):
        if ha.get(name) != hb.get(name):
            return name, ha.get(name), hb.get(name)
    return None


def compare_runs(first: Path, second: Path) -> dict:
    """E-13.1: both run directories' units (each verified against its digest, E-9.4) compared by their feature
    hashes: how many were compared, how many differ, the first that does (in the first run's order), and the units
    only one run has."""
    with RunStore.open(first, create=False) as a, RunStore.open(second, create=False) as b:
        units_a, units_b = a.all_units(), b.all_units()
        settings, images = _ordered(a)
    keys = [(s, i) for s in settings for i in images]
    keys += sorted({(s, i) for s, by in units_a.items() for i in by} - set(keys))
    compared, differing, first_divergence = 0, 0, None
    only_a: list[str] = []
    only_b: list[str] = []
    for setting, image in keys:
        ua, ub = units_a.get(setting, {}).get(image), units_b.get(setting, {}).get(image)
        if ua is None and ub is None:
            continue
        if ua is None or ub is None:
            (only_b if ua is None else only_a).append(f"{setting}/{image}")
            continue
        compared += 1
        difference = _first_difference(ua, ub)
        if difference is not None:
            differing += 1
            if first_divergence is None:
                tensor, hash_a, hash_b = difference
                first_divergence = {"setting": setting, "image": image, "tensor": tensor, "a": hash_a, "b": hash_b}
    only_b += sorted(f"{s}/{i}" for s, by in units_b.items() for i in by if i not in units_a.get(s, {}))
    return {"first": str(first), "second": str(second), "units_compared": compared, "units_differing": differing,
            "first_divergence": first_divergence, "only_in_first": only_a, "only_in_second": only_b,
            "equal": differing == 0 and not only_a and not only_b}


def format_comparison(report: dict) -> str:
    lines = [f"{report['units_compared']:,} units compared by the SHA-256 of the features each back end received "
             "(spec E-9.7)"]
    first = report["first_divergence"]
    if first is None:
        lines.append("no unit differs" if report["units_compared"] else "no unit in common")
    else:
        lines.append(f"{report['units_differing']:,} differ; the first: {first['setting']}/{first['image']}, tensor "
                     f"{first['tensor']} ({(first['a'] or 'absent')[:16]}… in the first run, "
                     f"{(first['b'] or 'absent')[:16]}… in the second)")
    for key, where in (("only_in_first", "first"), ("only_in_second", "second")):
        if report[key]:
            lines.append(f"{len(report[key]):,} units only in the {where} run (e.g. {report[key][0]})")
    return "\n".join(lines)
