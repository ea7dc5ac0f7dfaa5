"""The fast CIFAR-10 recipe: the ``cifar10_fast`` network, its data-fitted patch whitening, and
the training options it brings (label smoothing, lookahead, triangular lr, flip_translate)."""

from __future__ import annotations

import copy
import itertools

import numpy as np
import pytest
import torch
from torch import nn

from harness import fast_training
from harness.architectures import ARCHITECTURES, wrap
from harness.errors import HarnessError
from harness.spec import TrainSpec, parse_spec
from harness.training import TrainData, make_schedule, train_standard
from harness.whitening import PatchWhitening, fit_whitening, patches

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: tiny models, one thread


def _fast_model() -> nn.Module:
    arch = ARCHITECTURES.get("cifar10_fast")
    torch.manual_seed(0)
    return wrap(arch.build((3, 32, 32), 10), arch.mean, arch.std, 3)


def _correlated_images(n: int, seed: int = 0) -> torch.Tensor:
    """(n, 3, 16, 16) in [0, 1] with strongly correlated channels and neighbouring pixels."""
    g = torch.Generator().manual_seed(seed)
    base = nn.functional.avg_pool2d(torch.rand(n, 1, 17, 17, generator=g), 2, stride=1)
    colour = torch.tensor([1.0, 0.8, 0.5]).view(1, 3, 1, 1)
    noise = 0.05 * torch.rand(n, 3, 16, 16, generator=g)
    return (base * colour + noise).clamp(0, 1)


# ---------------------------------------------------------------- the network


def test_cifar10_fast_builds_and_trains_a_step_on_tiny_random_data() -> None:
    arch = ARCHITECTURES.get("cifar10_fast")
    assert arch.input_shape == (3, 32, 32)
    model = _fast_model()
    x, y = torch.rand(8, 3, 32, 32), torch.arange(8) % 10
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    before = copy.deepcopy(model.state_dict())
    model.train()
    nn.functional.cross_entropy(model(x), y).backward()
    optimizer.step()
    out = model.eval()(x)
    assert out.shape == (8, 10) and bool(torch.isfinite(out).all())
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())
    with pytest.raises(HarnessError, match="expects inputs of shape"):
        arch.check_input((1, 28, 28))


def test_eval_mode_forward_is_a_pure_function_of_the_input() -> None:
    """No test-time randomness or flip averaging: the attacked forward is deterministic and its
    BatchNorm statistics stay put in eval mode."""
    model = _fast_model().eval()
    x = torch.rand(4, 3, 32, 32)
    stats = {k: v.clone() for k, v in model.state_dict().items()}
    a, b = model(x), model(x)
    assert torch.equal(a, b)
    assert not torch.allclose(model(x.flip(-1)), a)  # no averaging over flips inside
    assert all(torch.equal(stats[k], v) for k, v in model.state_dict().items())


# ---------------------------------------------------------------- whitening


def test_whitened_patches_have_zero_mean_and_identity_covariance() -> None:
    x = _correlated_images(200)
    layer = PatchWhitening(3, kernel=2)
    layer.fit(x, eps=0.0)
    with torch.no_grad():
        out = layer(x)  # (N, 24, 15, 15)
    half = out[:, :12].permute(0, 2, 3, 1).reshape(-1, 12).double()
    cov = half.T @ half / len(half)  # the bias has centred them: a second moment is a covariance
    assert torch.allclose(half.mean(0), torch.zeros(12, dtype=half.dtype), atol=1e-4)
    assert torch.allclose(cov, torch.eye(12, dtype=cov.dtype), atol=2e-3)
    raw = patches(x.double(), 2)
    raw_cov = torch.cov(raw.T)
    corr = raw_cov[0, 4] / (raw_cov[0, 0] * raw_cov[4, 4]).sqrt()  # red vs green, one pixel
    assert corr > 0.9  # the input was far from white
    assert torch.equal(out[:, 12:], -out[:, :12])  # the second half: the same filters, negated
    assert not layer.weight.requires_grad and layer.bias.requires_grad


def test_fit_whitening_fits_the_layer_on_the_normalized_images_the_model_feeds_it() -> None:
    model = _fast_model()
    x = torch.rand(64, 3, 32, 32) * 0.5 + 0.25
    assert fit_whitening(model, x) == 1
    assert model.training  # put back in the mode it was in
    layer = next(m for m in model.modules() if isinstance(m, PatchWhitening))
    seen = []
    layer.register_forward_hook(lambda m, args, out: seen.append(out[:, :12]))
    with torch.no_grad():
        model.eval()(x)
    flat = seen[0].permute(0, 2, 3, 1).reshape(-1, 12).double()
    cov = flat.T @ flat / len(flat)
    # the eps regulariser shrinks each direction's variance to v / (v + eps): near 1 here
    assert torch.allclose(cov, torch.eye(12, dtype=cov.dtype), atol=0.05)


def test_whiten_on_a_network_without_the_layer_is_one_line() -> None:
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 2))
    with pytest.raises(HarnessError, match=r"^train\.whiten: the network has no patch-whitening"):
        fast_training.init_from_data(model, np.zeros((4, 1, 8, 8), np.float32), _ts(whiten=True))


# ---------------------------------------------------------------- label smoothing


def _ts(**kw) -> TrainSpec:
    return TrainSpec(**{"epochs": 1, "batch_size": 16, "lr": 0.5, "optimizer": "sgd", **kw})


def _tiny(n: int = 16) -> TrainData:
    g = np.random.default_rng(0)
    x = g.random((n, 1, 8, 8), dtype=np.float32)
    y = (np.arange(n) % 2).astype(np.int64)
    return TrainData(x, y, x[:4], y[:4])


def test_label_smoothing_trains_against_the_smoothed_targets() -> None:
    data, s = _tiny(), 0.2
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 2))
    want = copy.deepcopy(model)
    train_standard(model, data, _ts(momentum=0.0, label_smoothing=s), seed=0)
    # one full-batch SGD step on -sum(q log p), q = (1 - s) one-hot + s / classes
    x, y = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    q = (1 - s) * nn.functional.one_hot(y, 2) + s / 2
    (-(q * want(x).log_softmax(1)).sum(1).mean()).backward()
    with torch.no_grad():
        for p in want.parameters():
            p -= 0.5 * p.grad
    for a, b in zip(model.parameters(), want.parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-6)
    torch.manual_seed(0)
    plain = nn.Sequential(nn.Flatten(), nn.Linear(64, 2))
    train_standard(plain, data, _ts(momentum=0.0), seed=0)
    assert not torch.allclose(plain[1].weight, model[1].weight, atol=1e-4)  # smoothing changed it


@pytest.mark.parametrize(
    ("train", "message"),
    [
        ({"label_smoothing": 0.7}, "model.train.label_smoothing: expected a value in [0.0, 0.5]"),
        ({"lookahead": -1}, "model.train.lookahead: "),
        ({"lookahead_decay": 0.5}, "model.train.lookahead_decay: only read with lookahead"),
        ({"lookahead": 5, "lookahead_decay": 1.5}, "model.train.lookahead_decay: expected"),
        ({"whiten": "yes"}, "model.train.whiten: "),
        ({"augment": "flip_translat"}, "did you mean 'flip_translate'?"),
    ],
)
def test_bad_fast_recipe_values_are_one_line_naming_the_field(train, message) -> None:
    with pytest.raises(HarnessError) as info:
        parse_spec({"model": {"train": train}})
    text = str(info.value)
    assert "\n" not in text and message in text


def test_the_new_fields_at_their_defaults_leave_the_recipe_text_unchanged() -> None:
    assert repr(TrainSpec(15, 64, 0.002)) == "TrainSpec(epochs=15, batch_size=64, lr=0.002)"
    assert "lookahead=5" in repr(TrainSpec(lookahead=5))


def test_art_trainers_refuse_what_they_cannot_apply() -> None:
    fast_training.refuse_in_art(_ts(whiten=True), "adversarial training")  # applied: no error
    for field in ({"label_smoothing": 0.1}, {"lookahead": 5}):
        with pytest.raises(HarnessError, match=f"train.{next(iter(field))}: .* not applied"):
            fast_training.refuse_in_art(_ts(**field), "adversarial training")


# ---------------------------------------------------------------- lookahead


def test_lookahead_moves_the_slow_weights_by_the_ramped_decay() -> None:
    model = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(0.0)
    la = fast_training.Lookahead(model, _ts(lookahead=2, lookahead_decay=0.5), total=4)
    with torch.no_grad():
        model.weight.fill_(1.0)  # a first "optimizer step"
    la.after_step()
    assert _w(model) == 1.0  # no sync yet
    with torch.no_grad():
        model.weight.fill_(2.0)
    la.after_step()  # sync at step 2 of 4: d = 0.5 * (2/4)**3 = 0.0625, slow = 0 + 0.9375 * 2
    assert _w(model) == pytest.approx(1.875)
    with torch.no_grad():
        model.weight.fill_(3.0)
    la.finish()  # the run ends on the slow weights
    assert _w(model) == pytest.approx(1.875)


def _w(model: nn.Module) -> float:
    return float(model.weight.detach())


def test_lookahead_off_leaves_the_weights_alone() -> None:
    model = nn.Linear(1, 1)
    la = fast_training.Lookahead(model, _ts(), total=4)
    with torch.no_grad():
        model.weight.fill_(3.0)
    la.after_step()
    la.after_step()
    la.finish()
    assert _w(model) == 3.0


# ---------------------------------------------------------------- schedule and augmentation


def test_triangular_rises_to_the_peak_then_falls_linearly() -> None:
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=2.0)
    schedule = make_schedule(opt, _ts(lr=2.0, epochs=10, schedule="triangular", pct_start=0.2), 10)
    lrs = []
    for _ in range(100):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        schedule.step()
    assert lrs[0] == pytest.approx(0.4) and lrs[20] == pytest.approx(2.0)
    assert max(lrs) == lrs[20]
    assert lrs[10] == pytest.approx(1.2)  # half-way up
    assert lrs[99] == pytest.approx(2.0 + (0.14 - 2.0) * 79 / 80)
    assert all(a >= b for a, b in itertools.pairwise(lrs[20:]))


def test_flip_translate_draws_shifted_or_flipped_windows_of_the_reflected_image() -> None:
    x = torch.rand(12, 3, 8, 8)
    before = x.clone()
    a = fast_training.flip_translate(x, torch.Generator().manual_seed(1))
    b = fast_training.flip_translate(x, torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and torch.equal(x, before) and a.shape == x.shape
    padded = nn.functional.pad(x, (2, 2, 2, 2), mode="reflect")
    kinds = set()
    for k in range(len(x)):
        hits = [
            (i, j, f)
            for i in range(5)
            for j in range(5)
            for f in (False, True)
            if torch.equal(a[k], _window(padded[k], i, j, f))
        ]
        assert hits, f"image {k} is no window of its padded input"
        kinds.add(hits[0][2])
    assert kinds == {False, True}  # both flipped and unflipped draws occur


def _window(img: torch.Tensor, i: int, j: int, flip: bool) -> torch.Tensor:
    w = img[:, i : i + 8, j : j + 8]
    return w.flip(-1) if flip else w


# ---------------------------------------------------------------- the whole recipe


def test_the_fast_recipe_is_reproducible_and_ends_in_eval_mode() -> None:
    g = np.random.default_rng(0)
    x = g.random((32, 3, 32, 32), dtype=np.float32)
    y = (np.arange(32) % 10).astype(np.int64)
    data = TrainData(x, y, x[:8], y[:8])
    train = _ts(
        epochs=2, batch_size=16, lr=0.5, nesterov=True, weight_decay=5e-4,
        schedule="triangular", augment="flip_translate", label_smoothing=0.2,
        lookahead=2, whiten=True,
    )  # fmt: skip
    states = []
    for _ in range(2):
        model = _fast_model()
        history = train_standard(model, data, train, seed=3)
        assert len(history) == 2 and not model.training
        states.append(model.state_dict())
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
