"""Every manifest under golden/ validates against its JSON Schema in golden/schema/ (spec C-1.4)."""

from __future__ import annotations

import copy
import json

import pytest

from cfc_testing import GOLDEN

jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is not installed (it is in the test extra)")
referencing = pytest.importorskip("referencing")

spec = pytest.mark.spec
SCHEMAS = GOLDEN / "schema"
MANIFESTS = {  # manifest → its schema; every JSON manifest under golden/ is listed (checked below)
    "qlayer/vectors.json": "qlayer.schema.json",
    "qlayer-fcm/vectors.json": "qlayer-fcm.schema.json",
    "tiling/vectors.json": "tiling.schema.json",
    "container/vectors.json": "container.schema.json",
    "metrics/vectors.json": "metrics.schema.json",
    "metrics/bd_monotonic.json": "metrics-bd-monotonic.schema.json",
    "detector/vectors.json": "detector.schema.json",
    "hm-16.12/manifest.json": "hm-16.12.schema.json",
    "x265/manifest.json": "x265.schema.json",
    "embedded/regression.json": "embedded-regression.schema.json",
    "embedded/main_job.json": "embedded-main-job.schema.json",
}


def validator(schema_name: str):
    resources = []
    for path in SCHEMAS.glob("*.schema.json"):
        contents = json.loads(path.read_text())
        resources.append((contents["$id"], referencing.Resource.from_contents(contents)))
    registry = referencing.Registry().with_resources(resources)
    schema = json.loads((SCHEMAS / schema_name).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, registry=registry)


@spec("C-1.4")
@pytest.mark.parametrize("manifest", sorted(MANIFESTS))
def test_manifest_validates(manifest):
    data = json.loads((GOLDEN / manifest).read_text())
    errors = sorted(validator(MANIFESTS[manifest]).iter_errors(data), key=lambda e: list(e.path))
    assert not errors, f"{manifest}: {errors[0].message} at {list(errors[0].path)}"


@spec("C-1.4")
def test_every_manifest_has_a_schema():
    found = {str(p.relative_to(GOLDEN)) for p in GOLDEN.rglob("*.json") if p.parent != SCHEMAS}
    assert found == set(MANIFESTS)


@spec("C-1.4", "C-1.3")
@pytest.mark.parametrize("breakage", ["drop-error", "unknown-key", "bad-id", "bad-result", "error-on-valid"])
def test_schemas_reject_broken_manifests(breakage):
    data = json.loads((GOLDEN / "container/vectors.json").read_text())
    broken = copy.deepcopy(data)
    invalid = next(v for v in broken["vectors"] if v["result"] == "invalid")
    valid = next(v for v in broken["vectors"] if v["result"] == "valid")
    if breakage == "drop-error":
        del invalid["error"]  # an invalid vector must name the error it expects
    elif breakage == "unknown-key":
        valid["expected_bits"] = 1
    elif breakage == "bad-id":
        valid["id"] = "Has Spaces"
    elif breakage == "bad-result":
        valid["result"] = "acceptable"
    else:
        valid["error"] = "ContainerError"
    assert list(validator("container.schema.json").iter_errors(broken))


@spec("C-1.4")
def test_every_flag_is_in_the_legend():
    legend = {line.split("`")[1] for line in (GOLDEN / "FLAGS.md").read_text().splitlines()
              if line.startswith("| `")}
    used = {flag for path in GOLDEN.rglob("*.json") if path.parent != SCHEMAS
            for vector in json.loads(path.read_text()).get("vectors", []) for flag in vector.get("flags", [])}
    assert used <= legend, f"flags without a legend line: {sorted(used - legend)}"
    assert legend <= used, f"legend lines for flags no vector uses: {sorted(legend - used)}"


@spec("C-1.1")
@pytest.mark.parametrize("component", ["qlayer", "tiling", "container", "metrics", "detector"])
def test_every_manifest_states_its_number_of_vectors(component):
    manifest = json.loads((GOLDEN / component / "vectors.json").read_text())
    assert manifest["count"] == len(manifest["vectors"]) > 0
