"""The core cases on CUDA, compared with the CPU: a tiny training run with an FGSM and PGD sweep,
Grad-CAM, the ART estimator's device and CUDA index, mixed precision and the out-of-memory
fallback on real device memory. Marked ``gpu``; skipped (with the reason) without CUDA.

Run them with ``pytest -m gpu tests/test_gpu.py`` on a machine with a GPU.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from harness import device, oom
from harness.architectures import ARCHITECTURES, wrap
from harness.estimator import build_classifier, predict_logits
from harness.explain import gradcam, gradcam_raw, last_conv_layer
from harness.runner import run
from harness.spec import parse_spec

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine"),
]

TINY = {
    "name": "tiny-gpu",
    "dataset": {"name": "digits", "n_train": 400, "n_test": 120},
    "model": {"arch": "small_cnn", "train": {"epochs": 2}},
    "attacks": ["fgsm", {"name": "pgd", "steps": 5}],
    "eps": [0.0, 0.05, 0.1],
    "defence": None,
    "evasion": {"n_images": 0},
    "gradcam": {"n_images": 4},
    "threads": 1,
}
TOLERANCE = 0.05  # accuracies (fractions): float reductions differ between the CPU and CUDA


def _values(result) -> dict[tuple, float]:
    return {(m.model, m.attack, m.eps, m.metric): m.value for m in result.measurements}


def test_a_tiny_benchmark_on_cuda_agrees_with_the_cpu(tmp_path) -> None:
    results = {
        d: run(parse_spec(TINY | {"device": d}), models_dir=tmp_path / d) for d in ("cpu", "cuda")
    }
    cpu, cuda = (_values(results[d]) for d in ("cpu", "cuda"))
    assert cpu.keys() == cuda.keys()
    for key in cpu:
        if key[-1].endswith("accuracy") or key[-1] == "attack_success_rate":
            assert abs(cpu[key] - cuda[key]) <= TOLERANCE, (key, cpu[key], cuda[key])
    recorded = results["cuda"].provenance["device"]
    assert recorded["device"].startswith("cuda:") and recorded["cuda"] == torch.version.cuda
    assert recorded["cudnn_deterministic"] is True and recorded["cudnn_benchmark"] is False
    assert results["cuda"].models[0].weights != results["cpu"].models[0].weights  # own cache key
    assert results["cuda"].gradcam is not None


@pytest.fixture(scope="module")
def model_pair():
    torch.manual_seed(0)
    net = wrap(ARCHITECTURES.get("small_cnn").build((1, 8, 8), 10), (0.5,), (0.5,), 1).eval()
    gpu = wrap(ARCHITECTURES.get("small_cnn").build((1, 8, 8), 10), (0.5,), (0.5,), 1).eval()
    gpu.load_state_dict(net.state_dict())
    x = np.random.default_rng(0).random((32, 1, 8, 8), dtype=np.float32)
    return net, gpu.to(device.resolve("cuda")), x


def test_gradcam_and_predictions_on_cuda_match_the_cpu(model_pair) -> None:
    net, gpu, x = model_pair
    np.testing.assert_allclose(predict_logits(gpu, x), predict_logits(net, x), atol=1e-4)
    targets = predict_logits(net, x).argmax(1)
    layer_cpu, layer_gpu = last_conv_layer(net)[1], last_conv_layer(gpu)[1]
    cams = gradcam(net, x, layer_cpu, targets), gradcam(gpu, x, layer_gpu, targets)
    np.testing.assert_allclose(cams[1], cams[0], atol=1e-3)
    raw = gradcam_raw(net, x, layer_cpu, targets), gradcam_raw(gpu, x, layer_gpu, targets)
    np.testing.assert_allclose(raw[1], raw[0], rtol=1e-3, atol=1e-5)
    assert device.of(gpu).type == "cuda"  # left where it was


def test_the_art_estimator_uses_the_models_cuda_index(model_pair) -> None:
    _, gpu, x = model_pair
    last = torch.device("cuda", torch.cuda.device_count() - 1)
    gpu = gpu.to(last)
    clf = build_classifier(gpu, (1, 8, 8), 10)
    assert clf.device == last and clf.device_type == "gpu"
    grad = clf.loss_gradient(x, np.zeros(len(x), np.int64))
    assert grad.shape == x.shape and np.isfinite(grad).all()


def test_amp_runs_in_half_precision_and_returns_float32(model_pair) -> None:
    net, gpu, x = model_pair
    amp = device.autocast(gpu, True)
    out = amp(torch.from_numpy(x).to(device.of(gpu)))
    assert out.dtype == torch.float32
    np.testing.assert_allclose(predict_logits(amp, x), predict_logits(net, x), atol=5e-2)


def test_a_real_out_of_memory_halves_the_batch(model_pair) -> None:
    _, gpu, _ = model_pair
    dev = device.of(gpu)
    free, _ = torch.cuda.mem_get_info(dev)
    big = torch.nn.Linear(1, 1).to(dev)

    def hungry(xb: torch.Tensor) -> torch.Tensor:  # about free / 8 bytes per sample
        per_sample = free // 8 // 4
        return big(torch.ones(len(xb) * per_sample, 1, device=dev)).sum().reshape(1).repeat(len(xb))

    with oom.recording() as fallbacks:
        out = oom.Batches(dev).run("hungry", hungry, [torch.zeros(64)], 64)
    assert len(out) == 64 and fallbacks and fallbacks[-1].retried_with < 8


def test_a_mixed_precision_run_is_recorded_and_agrees(tmp_path) -> None:
    spec = TINY | {"device": "cuda", "amp": True, "gradcam": {"n_images": 0}}
    amp = run(parse_spec(spec), models_dir=tmp_path)
    full = run(parse_spec(spec | {"amp": False}), models_dir=tmp_path)  # the same cached weights
    assert amp.provenance["device"]["amp"] is True and full.provenance["device"]["amp"] is False
    assert amp.spec["amp"] is True
    a, f = _values(amp), _values(full)
    for key in f:
        if key[-1].endswith("accuracy"):
            assert abs(a[key] - f[key]) <= TOLERANCE, (key, a[key], f[key])
