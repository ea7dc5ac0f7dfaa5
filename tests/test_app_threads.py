"""The app under concurrent reruns and sessions: Streamlit runs each session's script in its own
thread, and ``st.cache_resource`` hands every thread the same model objects.

Instrumentation rather than a race: a forward pre-hook refuses to run the model unless the
calling thread holds the model's lock, so code that skips the lock fails with an exception in
the thread (and never gets to race torch into a segfault of the test process).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch
from app_support import cifake_run
from streamlit.testing.v1 import AppTest

from harness.app import inference
from harness.app.models import AppModel, load_models
from harness.app.page import VIEW
from harness.app.runs import load_app_run
from harness.app.samples import sample_images

THREADS = 8


class LockGuard:
    """Forward pre-hook: the thread running the model must hold ``m.lock``; counts the calls."""

    def __init__(self, m: AppModel) -> None:
        self.m, self.calls, self.violations = m, 0, []

    def __call__(self, module: torch.nn.Module, args: tuple) -> None:
        if not self.m.lock._is_owned():  # RLock's own check (what threading.Condition uses)
            self.violations.append(threading.current_thread().name)
            raise RuntimeError("model run without its lock")
        self.calls += 1  # safe: only the lock's holder gets here


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> list[AppModel]:
    return load_models(load_app_run(cifake_run(tmp_path_factory)))


@pytest.fixture(scope="module")
def images(models: list[AppModel]) -> np.ndarray:
    samples = sample_images(models[0].run, per_class=2)
    return samples.x  # (4, C, H, W)


@pytest.fixture
def guards(models: list[AppModel]) -> Iterator[list[LockGuard]]:
    guards = [LockGuard(m) for m in models]
    handles = [m.model.register_forward_pre_hook(g) for m, g in zip(models, guards, strict=True)]
    yield guards
    for h in handles:
        h.remove()


def one_view(m: AppModel, x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """What the Attack tab computes for one model and image: verdict with Grad-CAM, PGD."""
    v = inference.verdict(m, x)
    pgd = inference.planned_attack(m.run, "pgd")
    return v.probs, v.cam, inference.attack(m, pgd, x, 0.03, v.pred)


def state(m: AppModel) -> dict[str, torch.Tensor]:
    return {k: t.clone() for k, t in m.model.state_dict().items()}


@pytest.mark.realdata
def test_many_threads_on_the_same_cached_models_match_one_thread(
    models: list[AppModel], images: np.ndarray, guards: list[LockGuard]
) -> None:
    jobs = [(m, x) for m in models for x in images]  # 8 jobs, one per thread
    before = [state(m) for m in models]
    sequential = [one_view(m, x) for m, x in jobs]
    with ThreadPoolExecutor(THREADS, thread_name_prefix="session") as pool:
        concurrent = list(pool.map(lambda job: one_view(*job), jobs))
    assert all(g.violations == [] for g in guards)
    assert all(g.calls > 0 for g in guards)
    for (p1, c1, a1), (p2, c2, a2) in zip(sequential, concurrent, strict=True):
        assert np.array_equal(p1, p2) and np.array_equal(a1, a2)
        assert (c1 is None and c2 is None) or np.array_equal(c1, c2)
    for m, saved in zip(models, before, strict=True):  # eval mode; BatchNorm statistics unmoved
        assert not any(module.training for module in m.model.modules())
        now = m.model.state_dict()
        assert all(torch.equal(saved[k], now[k]) for k in saved)


@pytest.mark.realdata
def test_a_computation_without_the_lock_is_caught(
    models: list[AppModel], images: np.ndarray, guards: list[LockGuard]
) -> None:
    """The guard is not vacuous: the model run outside ``exclusive`` is refused."""
    with pytest.raises(RuntimeError, match="without its lock"):
        models[0].model(torch.from_numpy(images[:1]))
    with models[0].exclusive() as model:
        model(torch.from_numpy(images[:1]))


def script(runs: list[str]) -> None:
    from harness.app.page import main

    main(runs)


def session(run: Path, eps: float) -> list[str]:
    """One browser session: PGD at ``eps`` on the first test image; the page's text."""
    at = AppTest.from_function(script, kwargs={"runs": [str(run)]}, default_timeout=180)
    at.session_state[VIEW] = "Attack"  # only the open tab runs
    at.run()
    assert at.selectbox(key="attack").value == "fgsm", [t.label for t in at.tabs]
    at.selectbox(key="attack").set_value("pgd").run()
    at.slider(key="eps").set_value(eps).run()
    assert not at.exception, at.exception
    return [e.value for e in at.markdown]


@pytest.mark.realdata
def test_several_sessions_attack_at_once(tmp_path_factory) -> None:
    run = cifake_run(tmp_path_factory)
    eps = [0.02, 0.05, 0.08]
    with ThreadPoolExecutor(len(eps)) as pool:
        pages = list(pool.map(lambda e: session(run, e), eps))
    for page in pages:
        assert sum("→ attacked" in t for t in page) == 2, page
        assert sum(t.startswith("smallest flipping ε (pgd)") for t in page) == 2
