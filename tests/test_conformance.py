"""The conformance suite of the package (``cfc_ref/conformance/suite/test_conformance.py``), run here against the
reference or ``--cfc-impl`` / ``--cfc-impl-cmd`` (spec C-2): the same tests ``cfc-ref conformance`` runs."""

from cfc_ref.conformance.suite.test_conformance import *  # noqa: F403 - pytest collects the suite's tests here
