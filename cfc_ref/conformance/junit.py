"""A conformance report as JUnit XML (spec C-2.8, ``--junit-xml FILE``), for CI systems: one ``<testsuite>`` per
profile run (and one for the suite's own checks), one ``<testcase>`` per test, with ``<failure>`` or ``<skipped>``;
the suite's version, catalogue digest and the implementation as ``<properties>``."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict
from typing import Any


def junit_xml(report: dict[str, Any]) -> bytes:
    suite, implementation = report["suite"], report["implementation"]
    properties = {"suite.version": suite["version"], "suite.spec_version": suite["spec_version"],
                  "suite.catalogue_sha256": suite["catalogue_sha256"], "implementation.adapter":
                  implementation["adapter"], "implementation.name": implementation["name"],
                  "implementation.version": implementation["version"]}
    by_profile: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for result in report["results"]:
        by_profile[result["profile"]].append(result)
    root = ET.Element("testsuites", name="cfc-ref conformance", tests=str(len(report["results"])),
                      failures=str(sum(r["outcome"] == "failed" for r in report["results"])), errors="0",
                      time=f"{report['run']['seconds']:.3f}")
    for profile, results in by_profile.items():
        element = ET.SubElement(root, "testsuite", name=profile, tests=str(len(results)),
                                failures=str(sum(r["outcome"] == "failed" for r in results)), errors="0",
                                skipped=str(sum(r["outcome"] in ("skipped", "xfailed") for r in results)),
                                time=f"{sum(r.get('seconds', 0.0) for r in results):.3f}",
                                timestamp=report["run"]["started"])
        props = ET.SubElement(element, "properties")
        for name, value in properties.items():
            ET.SubElement(props, "property", name=name, value="" if value is None else str(value))
        for result in results:
            case = ET.SubElement(element, "testcase", name=result["test"], classname=f"cfc_ref.conformance.{profile}",
                                 time=f"{result.get('seconds', 0.0):.6f}")
            if result["outcome"] == "failed":
                ET.SubElement(case, "failure", message=result["reason"][:1000]).text = result["reason"]
            elif result["outcome"] in ("skipped", "xfailed"):
                reason = ("expected failure (--xfail): " if result["outcome"] == "xfailed" else "") + result["reason"]
                ET.SubElement(case, "skipped", message=reason[:1000])
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
