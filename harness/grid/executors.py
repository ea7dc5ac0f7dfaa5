"""Where a grid's tasks run. An executor turns ``submit(fn, *args)`` into a ``Future``.

- ``local`` runs each task in this process at submission, one at a time, in order.
- ``ray`` runs each task as a Ray task (``pip install -e '.[ray]'``): on a local Ray instance,
  or on an existing cluster (``address``). Each task asks Ray for ``threads`` CPUs, the torch
  threads it will use, so Ray never puts more tasks on a node than it has cores, and for
  ``gpus`` GPUs (``grid.gpus_per_cell``; a fraction shares one GPU between tasks; Ray sets
  ``CUDA_VISIBLE_DEVICES`` so the spec's ``device: auto`` or ``cuda`` lands on the GPU given).

Both run a cell on the spec's ``device`` (``harness.device``): the cell's models are built there.

Retries are the driver's (``harness.grid.driver``), the same for every executor: Ray's own are
off, and a task whose worker or node was lost is reported like a task that raised.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import torch

from harness.datasets.paths import DATA_ENV
from harness.errors import HarnessError
from harness.registry import Registry

log = logging.getLogger(__name__)


class LocalExecutor:
    """Tasks run in this process, each when it is submitted (``capacity`` 1: in order)."""

    name = "local"
    capacity = 1  # tasks in flight at a time

    def __init__(self, threads: int = 1, **_: Any) -> None:
        self.description = "local: this process, one task at a time"

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        """Run ``fn(*args)`` now; torch's thread count, which a task sets, is restored after."""
        future: Future = Future()
        threads = torch.get_num_threads()
        try:
            future.set_result(fn(*args))
        except Exception as exc:  # the task's failure, for the driver to retry or report
            future.set_exception(exc)
        finally:
            torch.set_num_threads(threads)
        return future

    def share(self, value: Any) -> Any:
        """A value many tasks take as an argument (weights): itself, in this process."""
        return value

    def close(self) -> None:
        pass


class RayExecutor:
    """Tasks run as Ray tasks of ``threads`` CPUs each; results come back to the driver."""

    name = "ray"

    def __init__(
        self,
        threads: int = 1,
        address: str | None = None,
        num_cpus: int | None = None,
        gpus: float = 0.0,
    ) -> None:
        try:
            import ray
        except ImportError:
            raise HarnessError(
                "--executor ray: Ray is not installed; pip install -e '.[ray]'"
            ) from None
        self._ray, self.gpus = ray, gpus
        self._remote: dict[Callable[..., Any], Any] = {}
        env = {"env_vars": _worker_env()}
        if address:
            _join(ray, address, env)
        else:
            cpus = num_cpus or os.cpu_count() or 1
            ray.init(num_cpus=cpus, include_dashboard=False, runtime_env=env, log_to_driver=False)
        total = int(ray.cluster_resources().get("CPU", 1))
        self.threads = min(threads, total)
        self.capacity = max(1, 2 * total // self.threads)  # keep every core busy, not more
        where = f"the cluster at {address}" if address else "a local Ray instance"
        per_task = f"{self.threads} per task" + (f", {gpus:g} GPU per task" if gpus else "")
        self.description = f"ray: {where}, {total} CPUs, {per_task}"
        log.info(self.description)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        """``fn(*args)`` as a Ray task; arguments that are object references (``share``)
        arrive as their values."""
        if fn not in self._remote:
            options = {"num_cpus": self.threads, "num_gpus": self.gpus, "max_retries": 0}
            self._remote[fn] = self._ray.remote(**options)(fn)
        return self._remote[fn].remote(*args).future()

    def share(self, value: Any) -> Any:
        """Put ``value`` in Ray's object store once; tasks given the reference receive the value."""
        return self._ray.put(value)

    def close(self) -> None:
        self._ray.shutdown()


def _worker_env() -> dict[str, str]:
    """Environment of every Ray worker: no progress bars (they would interleave), and the
    driver's $HARNESS_DATA, so that a spec without a root reads the same folder as on the driver
    (as a relative root is the driver's)."""
    env = {"TQDM_DISABLE": "1"}
    if os.environ.get(DATA_ENV):
        env[DATA_ENV] = str(Path(os.environ[DATA_ENV]).expanduser().resolve())
    return env


# What a cluster started with token authentication (Ray >= 2.52; ``ray start`` turns it on when a
# token exists) needs from a driver that joins it by address: Ray only enables the token by itself
# for ``address="auto"``, never for an explicit address, so that a token is not sent to a
# cluster unasked (ray/_private/worker.py, ``init``).
AUTH_HINT = (
    "set RAY_AUTH_MODE=token for this command and give it the cluster's token "
    "(~/.ray/auth_token, RAY_AUTH_TOKEN_PATH=FILE or RAY_AUTH_TOKEN), as on the cluster's nodes"
)


def _join(ray: Any, address: str, env: dict[str, Any]) -> None:
    """Connect to the cluster at ``address``; a refused token or a failed connection is one line."""
    try:
        ray.init(address=address, runtime_env=env, log_to_driver=False)
    except (ConnectionError, RuntimeError, ray.exceptions.RayError) as exc:
        if _refused_token(exc, ray):
            raise HarnessError(
                f"--address {address}: the Ray cluster refused this driver's authentication "
                f"token; {AUTH_HINT}"
            ) from None
        problem = " ".join(str(exc).split())
        raise HarnessError(
            f"--address {address}: cannot join the Ray cluster ({problem})"
        ) from None


def _refused_token(exc: BaseException | None, ray: Any) -> bool:
    """Whether ``exc`` or an exception it came from is Ray's authentication error. Ray retries
    the connection and then raises ``ConnectionError`` from a ``RuntimeError`` that carries the
    last attempt's traceback as text, so the text is read too."""
    while exc is not None:
        if isinstance(exc, ray.exceptions.AuthenticationError) or "InvalidAuthToken" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


EXECUTORS: Registry[Callable[..., Any]] = Registry("executor")
EXECUTORS.register("local")(LocalExecutor)
EXECUTORS.register("ray")(RayExecutor)


def make_executor(name: str, threads: int = 1, **options: Any) -> Any:
    """The executor registered as ``name`` (``--executor``), started."""
    return EXECUTORS.get(name, "--executor")(threads=threads, **options)
