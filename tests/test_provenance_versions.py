"""run.json names every library a result can depend on, the optional extras included, and a
comparison names the harness version each run came from."""

from __future__ import annotations

import importlib.metadata

from harness.provenance import versions
from harness.report.sections.comparison.runs import _code


def test_versions_name_the_optional_extras_as_installed_or_not() -> None:
    v = versions()
    for name in ("timm", "safetensors", "robustbench", "pyautoattack", "imagecorruptions"):
        try:
            expected = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            expected = "not installed"
        assert v[name] == expected
    assert v["robustness-harness"] == importlib.metadata.version("robustness-harness")


def test_a_run_is_labelled_by_harness_version_and_commit_when_known() -> None:
    installed = {"git_commit": "unknown", "versions": {"robustness-harness": "0.1.0"}}
    checkout = {"git_commit": "0123456789abcdef+dirty", "versions": {"robustness-harness": "0.1.0"}}
    assert _code(installed) == "0.1.0"
    assert _code(checkout) == "0.1.0 (`0123456789ab+dirty`)"
    clean = {**checkout, "git_commit": "0123456789abcdef"}
    assert _code(clean) == "0.1.0 (`0123456789ab`)"
