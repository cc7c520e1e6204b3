"""Every normative clause in spec/ is cited by a test (spec C-4.1, O-1.1)."""

from __future__ import annotations

import pytest

from cfc_ref.conformance.spec_coverage import citations, normative_clauses, report

from cfc_testing import ROOT

spec = pytest.mark.spec


@spec("C-4.1", "O-1.1")
def test_every_shall_is_cited():
    lines, missing = report(ROOT)
    assert lines, "no normative clauses found: the spec parser is broken"
    assert not missing, "uncited normative clauses: " + ", ".join(missing)


@spec("C-4.1")
def test_coverage_parser(tmp_path):
    (tmp_path / "spec").mkdir()
    (tmp_path / "spec" / "x.md").write_text("# X\n\nX-1.1 It shall work.\n\nX-1.2 Informative only.\n\n"
                                            "X-1.3 Two lines,\nthe second one shall count.\n## next\nshall\n")
    assert normative_clauses(tmp_path / "spec") == {"X-1.1": "x.md", "X-1.3": "x.md"}
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text(
        "import pytest\nspec = pytest.mark.spec\n\n@spec('X-1.1')\ndef test_a():\n    pass\n\n"
        "@pytest.mark.parametrize('v', [pytest.param(1, marks=spec('X-1.3'))])\ndef test_b(v):\n    pass\n"
        "def helper():\n    spec('X-9.9')\n")
    cited = citations(tmp_path / "tests")
    assert set(cited) == {"X-1.1", "X-1.3"}
