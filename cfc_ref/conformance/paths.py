"""Where the conformance suite finds its golden vectors (spec C-2.8): the checkout's ``golden/`` beside the package
(a source tree or an editable install), else the copy a wheel carries in ``cfc_ref/conformance/golden``."""

from __future__ import annotations

from pathlib import Path

from cfc_ref.errors import CfcError

PACKAGE = Path(__file__).resolve().parent
SUITE = PACKAGE / "suite"


def golden_root() -> Path:
    for candidate in (PACKAGE.parents[1] / "golden", PACKAGE / "golden"):
        if (candidate / "qlayer" / "vectors.json").is_file():
            return candidate
    raise CfcError("the golden vectors are missing: neither a checkout's golden/ nor the copy a built wheel carries "
                   f"in {PACKAGE / 'golden'} (reinstall cfc-ref from a wheel or a checkout)")
