"""The device: one resolver (``harness.device``), requests checked as spec fields, no device
named anywhere else in the library, and ``auto`` equal to ``cpu`` on a machine without a GPU."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
import torch

from harness import device
from harness.api import benchmark
from harness.cli import main
from harness.errors import HarnessError
from harness.plan import validate
from harness.results import rundir
from harness.runner import run
from harness.spec import parse_spec

HARNESS = Path(__file__).resolve().parents[1] / "harness"
# Where a device may be named. device.py is the resolver; spec/checks.py holds the vocabulary
# of ``device:`` requests, checked without importing torch.
ALLOWED = {"device.py", "spec/checks.py"}
DEVICE_WORD = re.compile(r"^(cpu|gpu|mps|cuda(:\d+)?)$")


def literals(source: str) -> list[tuple[int, str]]:
    """(line, what) of every device named in ``source``: a string literal that is a device,
    ``torch.device(...)`` with a literal, ``.cuda()``, or ``torch.cuda`` / ``torch.backends.mps``
    (asking about the hardware is the resolver's job)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if DEVICE_WORD.match(node.value):
                found.append((node.lineno, repr(node.value)))
        elif isinstance(node, ast.Call) and ast.unparse(node.func) == "torch.device":
            if any(isinstance(a, ast.Constant) for a in node.args):
                found.append((node.lineno, ast.unparse(node)))
        elif isinstance(node, ast.Attribute):
            text = ast.unparse(node)
            if node.attr in ("cuda", "mps") and text in ("torch.cuda", "torch.backends.mps"):
                found.append((node.lineno, text))
            elif node.attr == "cuda" and not text.startswith("torch."):
                found.append((node.lineno, text))  # tensor.cuda(), model.cuda()
    return found


def test_the_scan_finds_each_kind_of_device_literal() -> None:
    source = (
        'a = torch.tensor(x, device="cpu")\n'
        "b = torch.device('cuda', 1)\n"
        "c = model.cuda()\n"
        "d = torch.cuda.is_available()\n"
        "e = {'cpu_count': 1, 'device_type': 'gpu'}\n"
        "f = x.cpu().numpy()  # the host, for numpy: allowed\n"
    )
    assert sorted({line for line, _ in literals(source)}) == [1, 2, 3, 4, 5]


def test_no_device_literal_outside_the_resolver() -> None:
    offenders = [
        f"{path.relative_to(HARNESS)}:{line}: {what}"
        for path in sorted(HARNESS.rglob("*.py"))
        if str(path.relative_to(HARNESS)) not in ALLOWED
        for line, what in literals(path.read_text())
    ]
    assert offenders == [], "a device named outside harness/device.py:\n" + "\n".join(offenders)


def test_auto_picks_cuda_then_mps_then_the_cpu() -> None:
    dev = device.resolve("auto")
    if torch.cuda.is_available():
        assert dev.type == "cuda"
    elif torch.backends.mps.is_available():
        assert dev.type == "mps"
    else:
        assert dev == torch.device("cpu")
    assert device.resolve("cpu") == torch.device("cpu")


def test_an_unavailable_device_is_one_line() -> None:
    with pytest.raises(HarnessError, match=r"^device: 'cuda:999' is not available here \(") as e:
        device.resolve("cuda:999")
    assert "\n" not in str(e.value)
    if not torch.cuda.is_available():
        with pytest.raises(HarnessError, match="'cuda' is not available here"):
            device.resolve("cuda")


def test_requests_are_checked_as_spec_fields() -> None:
    assert parse_spec({"device": "cuda:1"}).device == "cuda:1"
    for bad in ("gpu", "cuda:", "cuda:x", 0, "CPU"):
        with pytest.raises(HarnessError, match=r"^device: expected one of auto, cpu, cuda"):
            parse_spec({"device": bad})


@pytest.mark.parametrize(("bad", "meant"), [("gpu", "cuda"), ("GPU:1", "cuda"), ("metal", "mps")])
def test_a_device_named_otherwise_suggests_the_spec_word(bad: str, meant: str) -> None:
    with pytest.raises(HarnessError) as e:
        parse_spec({"device": bad})
    assert str(e.value).endswith(f"got {bad!r} (did you mean {meant!r}?)")


def test_the_default_keeps_hashes_and_the_resolved_device_is_recorded() -> None:
    base = parse_spec({})
    assert parse_spec({"device": "cpu"}).digest() == base.digest()
    assert "device" not in base.identity() and "amp" not in base.identity()
    assert parse_spec({"amp": True}).digest() != base.digest()


@pytest.mark.skipif(torch.cuda.is_available(), reason="amp is allowed on CUDA")
def test_amp_is_refused_without_cuda() -> None:
    with pytest.raises(HarnessError, match=r"^amp: mixed precision needs a CUDA device; this run"):
        validate(parse_spec({"amp": True, "device": "cpu"}))


def test_cli_device_option_gives_one_line_and_exit_2(capsys) -> None:
    spec = "benchmarks/digits_fgsm.yaml"
    for request, expected in (("cuda:999", "is not available here"), ("gpu", "expected one of")):
        for command in ("validate", "run"):
            code = main([command, spec, "--device", request])
            err = capsys.readouterr().err.strip()
            assert code == 2, (command, request, err)
            assert len(err.splitlines()) == 1 and "device: " in err and expected in err
    assert main(["validate", spec, "--device", "cpu"]) == 0


def test_the_python_api_takes_a_device() -> None:
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
    with pytest.raises(HarnessError, match=r"^device: 'cuda:999' is not available here"):
        benchmark(net, device="cuda:999")
    with pytest.raises(HarnessError, match=r"^device: expected one of"):
        benchmark(net, device="tpu")


TINY = {
    "name": "tiny",
    "dataset": {"name": "digits", "n_train": 200, "n_test": 60},
    "model": {"arch": "small_cnn", "train": {"epochs": 1}},
    "attacks": ["fgsm", {"name": "pgd", "steps": 3}],
    "eps": [0.0, 0.1],
    "defence": None,
    "evasion": {"n_images": 0},
    "gradcam": {"n_images": 2},
    "threads": 1,
}


def test_cpu_and_auto_give_the_same_results_csv(tmp_path) -> None:
    """On a machine without an accelerator ``auto`` is the CPU: the same bytes, the same
    weights-cache file, and run.json records the device the run resolved, not the request."""
    results = {}
    for request in ("cpu", "auto"):
        spec = parse_spec(TINY | {"device": request})
        result = run(spec, models_dir=tmp_path / request)
        results[request] = result
        rundir.write_run(result, tmp_path / f"run-{request}", {})
    if device.resolve("auto") != torch.device("cpu"):
        pytest.skip("this machine has an accelerator: auto is not the CPU")
    csv = {k: rundir.csv_text(r.measurements) for k, r in results.items()}
    assert csv["cpu"] == csv["auto"]
    weights = {k: Path(r.models[0].weights).name for k, r in results.items()}
    assert weights["cpu"] == weights["auto"]
    for request in ("cpu", "auto"):
        recorded = json.loads((tmp_path / f"run-{request}" / "run.json").read_text())
        assert recorded["provenance"]["device"]["device"] == "cpu"
        assert recorded["spec"].get("device", "auto") == request  # the default is left out
        assert recorded["batch_fallbacks"] == []


def test_run_json_records_versions_and_determinism() -> None:
    d = device.describe(device.resolve("cpu"))
    assert d["device"] == "cpu" and d["amp"] is False and d["cuda"] is None
    assert set(d) >= {"cudnn", "cudnn_deterministic", "cudnn_benchmark", "deterministic_algorithms"}
    assert d["deterministic_algorithms"] == torch.are_deterministic_algorithms_enabled()


def test_the_estimator_follows_the_model() -> None:
    from harness.estimator import build_classifier

    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2))
    clf = build_classifier(net, (1, 2, 2), 2)
    assert clf.device == device.of(net) == torch.device("cpu")
    assert clf.device_type == "cpu"
