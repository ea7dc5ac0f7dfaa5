"""What a run prints: off a terminal no progress debris, on one a bar per phase (none of ART's),
-q for the summary alone, and a closing summary that gives the verdict's numbers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bad_inputs import TINY_RUN, run_args  # tests/ is on sys.path (rootdir conftest)

from harness import console
from harness.cli import main
from harness.results import rundir
from harness.verdict import verdict

HARDENED = TINY_RUN.replace("defence: null\n", "") + (
    "defence: {name: adversarial_training, attack: fgsm, eps: 0.1}\n"
)
ART_BARS = ("Precompute adv", "Adversarial training epochs")


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    """One weights cache for the module: the first run trains, the others reuse its weights."""
    return tmp_path_factory.mktemp("models")


def _run(tmp_path: Path, capsys, models: Path, *extra: str) -> tuple[str, str, Path]:
    (tmp_path / "spec.yaml").write_text(HARDENED, encoding="utf-8")
    args = [*run_args(tmp_path, tmp_path / "spec.yaml", *extra), "--models-dir", str(models)]
    capsys.readouterr()
    assert main(args) == 0
    out, err = capsys.readouterr()
    return out, err, tmp_path / "out"


def test_a_run_off_a_terminal_prints_no_bars_and_ends_with_the_verdict(
    tmp_path, capsys, models
) -> None:
    out, err, folder = _run(tmp_path, capsys, models)
    assert "\r" not in out + err and not re.search(r"\d+%\|", out + err)  # no bar frames
    assert not any(b in out + err for b in ART_BARS)
    assert "baseline epoch 1/1: train loss" in out  # the epochs are the progress in a log
    v = verdict(rundir.read_run(folder).result)
    tail = out.strip().splitlines()[-4:]
    assert tail[0].startswith(f"robust accuracy at ε = 0.1 ({v.rule}); {v.n} test images")
    for line, m in zip(tail[1:3], v.models, strict=True):
        assert line.split()[0] == m.role and f"clean {m.clean.text()}" in line
        assert f"fgsm {m.robust['fgsm'].text()}" in line and "sanity " in line
    assert tail[3].startswith("  note: only one-step attacks (fgsm)")


def test_on_a_terminal_each_phase_draws_one_bar_and_art_draws_none(
    tmp_path, capsys, monkeypatch
) -> None:
    monkeypatch.setattr(console, "_isatty", lambda stream: True)
    _, err, _ = _run(tmp_path, capsys, tmp_path / "models")  # trains: the training bars
    descs = {m.group(1) for m in re.finditer(r"(?:^|\r)([a-z][a-z ]+?):\s+\d+%\|", err)}
    assert descs == {"baseline", "adversarial training", "attacking baseline", "attacking robust"}
    assert not any(b in err for b in ART_BARS)


def test_quiet_prints_the_report_line_and_the_summary_only(
    tmp_path, capsys, monkeypatch, models
) -> None:
    monkeypatch.setattr(console, "_isatty", lambda stream: True)
    out, err, _ = _run(tmp_path, capsys, models, "-q")
    assert err == ""
    lines = out.strip().splitlines()
    assert lines[0].startswith("report: ") and lines[1].startswith("robust accuracy at ε = 0.1")
    assert len(lines) == 5 and "epoch" not in out


@pytest.fixture(autouse=True)
def _normal_level():
    yield
    console.set_level(console.NORMAL)  # -q must not leak into the next test's run
