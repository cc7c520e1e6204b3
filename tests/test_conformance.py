"""Every golden vector against the implementation under test (spec C-1.3); ``--cfc-impl`` picks it (C-2.1)."""

from __future__ import annotations

import pytest

from cfc_ref.conformance.vectors import COMPONENTS, check_vector, load_manifest, load_vectors

from cfc_testing import GOLDEN, expected_failures

spec = pytest.mark.spec
pytestmark = pytest.mark.conformance
ALL_VECTORS = [v for c in COMPONENTS for v in load_vectors(GOLDEN, c)]


@spec("C-1.3")
@pytest.mark.parametrize("vector", ALL_VECTORS, ids=[v.id for v in ALL_VECTORS])
def test_golden_vector(impl, vector, request):
    if vector.id in expected_failures(request.config):
        request.applymarker(pytest.mark.xfail(reason="listed in --cfc-xfail", strict=True))
    check_vector(impl, vector)


@spec("C-1.1")
@pytest.mark.parametrize("component", COMPONENTS)
def test_manifest_schema(component):
    manifest = load_manifest(GOLDEN, component)
    assert {"schema", "version", "component", "spec", "vectors"} <= manifest.keys()
    ids = [v["id"] for v in manifest["vectors"]]
    assert len(ids) == len(set(ids)), "vector ids must be unique"
    for vector in manifest["vectors"]:
        assert {"id", "section", "comment", "flags", "result"} <= vector.keys(), vector["id"]
        assert vector["result"] in ("valid", "invalid")
        assert vector["result"] == "valid" or vector["error"].endswith("Error")
        assert vector["section"].split("-")[0] in "QTWC"
    assert any(v["result"] == "invalid" for v in manifest["vectors"]), "invalid vectors matter too"
