"""``grid.gpus_per_cell``: each Ray task asks for that many GPUs (fractions allowed), and gets
them. This machine may have none, so the local Ray instance is told it has one logical GPU:
Ray schedules by that resource and hands its id to the tasks that asked."""

from __future__ import annotations

import pytest

from harness.grid.executors import make_executor
from harness.spec import parse_spec


def test_gpus_per_cell_is_a_grid_field() -> None:
    assert parse_spec({"grid": {"gpus_per_cell": "1/4"}}).grid.gpus_per_cell == 0.25
    base = parse_spec({"grid": {"seeds": [0, 1]}})
    assert parse_spec({"grid": {"seeds": [0, 1], "gpus_per_cell": 0}}).digest() == base.digest()
    assert "gpus_per_cell" not in base.to_dict()["grid"]


@pytest.mark.slow
def test_ray_tasks_ask_for_their_gpus(monkeypatch) -> None:
    ray = pytest.importorskip("ray")
    real_init = ray.init
    monkeypatch.setattr(ray, "init", lambda **kw: real_init(num_gpus=1, **kw))
    pool = make_executor("ray", threads=1, num_cpus=1, gpus=0.5)
    try:
        assert pool.description.endswith("1 per task, 0.5 GPU per task")
        assert pool.submit(ray.get_gpu_ids).result(timeout=120) == [0]
        pool.gpus = 0.0
        pool._remote.clear()
        assert pool.submit(ray.get_gpu_ids).result(timeout=120) == []
    finally:
        pool.close()
