"""The README's cluster recipe, for real: ``ray start --head`` in its own process, then
``harness run GRID --executor ray --address HOST:PORT`` joins it with token authentication.
(Without ``RAY_AUTH_MODE=token`` Ray retries the refused connection for minutes before it
gives up, so that case is checked on Ray's exceptions, not on a live cluster.)

The cluster is this test's own: bound to loopback, with a private temporary folder and its own
token (``RAY_AUTH_TOKEN_PATH``; the user's ``~/.ray/auth_token`` is neither read nor written),
and stopped at the end by ending its ``ray start --block`` process group, never with
``ray stop``, which would stop every Ray on the machine.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
RAY = Path(sys.executable).with_name("ray")  # the environment's own ``ray`` command
STARTED = "Ray runtime started."  # what ``ray start`` prints once the head node is up
# digits_grid cut down to one model build and one cell
SMALL = ["--set", "grid.seeds=[0]", "--set", "grid.models=[small_cnn]", "--set", "defences=[]",
         "--set", "attacks=[fgsm]", "--set", "eps=[0, 0.1]", "--set", "model.train.epochs=2",
         "--set", "dataset.n_test=100"]  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(token: Path) -> dict[str, str]:
    """The environment of the cluster and of the driver: the same code, token mode on, and
    loopback kept as the node's address (Ray otherwise swaps 127.0.0.1 for the machine's
    network address, on which this cluster does not listen)."""
    drop = {"RAY_ADDRESS", "RAY_AUTH_TOKEN", "HARNESS_HOME"}
    return {k: v for k, v in os.environ.items() if k not in drop} | {
        "PYTHONPATH": str(REPO),
        "OMP_NUM_THREADS": "1",
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN_PATH": str(token),
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    }


def _wait_started(proc: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while STARTED not in log.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"ray start --head did not come up:\n{log.read_text(errors='replace')}")
        time.sleep(1)


def _stop(proc: subprocess.Popen) -> None:
    """End the ``ray start --block`` process, which stops the processes it started (SIGTERM);
    if it hangs, kill its process group, which is this cluster's alone."""
    proc.terminate()
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[tuple[str, dict[str, str]]]:
    """A one-node Ray cluster on loopback with token authentication, shared by this module's
    tests: its address and the environment that may join it."""
    pytest.importorskip("ray", reason="ray is not installed (pip install -e '.[ray]')")
    tmp_path = tmp_path_factory.mktemp("cluster")
    token = tmp_path / "token"
    token.write_text(secrets.token_hex(32))
    token.chmod(0o600)
    env, port = _env(token), _free_port()
    temp = Path(tempfile.mkdtemp(prefix="hr-", dir="/tmp"))  # short: Ray's socket paths are bounded
    log = tmp_path / "ray-start.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [RAY, "start", "--head", "--block", "--node-ip-address", "127.0.0.1",
             "--port", str(port), "--temp-dir", temp, "--num-cpus", "2",
             "--include-dashboard", "false", "--disable-usage-stats"],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        _wait_started(proc, log)
        yield f"127.0.0.1:{port}", env
    finally:
        _stop(proc)
        shutil.rmtree(temp, ignore_errors=True)


def _harness(args: list, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "harness.cli", *map(str, args)]
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_a_grid_runs_on_a_cluster_joined_by_address(cluster, tmp_path) -> None:
    address, env = cluster
    out = tmp_path / "out"
    args = ["run", "digits_grid", "--executor", "ray", "--address", address, "--out", out,
            "--models-dir", tmp_path / "models", *SMALL]  # fmt: skip
    run = _harness(args, env, tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert f"ray: the cluster at {address}, 2 CPUs" in run.stdout
    assert "1 ran, 0 failed" in run.stdout
    assert (out / "results.csv").read_text().count("\n") > 1
    assert json.loads((out / "run.json").read_text())["executor"].startswith(
        f"ray: the cluster at {address}"
    )
    # the model the cluster's worker trained came back to the driver's cache
    assert list((tmp_path / "models" / "digits").glob("*.pt"))


def test_a_refused_token_is_named_with_what_the_driver_needs() -> None:
    """Ray's two shapes of a refused token (its own error, or its text inside the
    ``RuntimeError`` of the retry loop) are told apart from any other failure to connect."""
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install -e '.[ray]')")
    from harness.grid.executors import AUTH_HINT, _refused_token

    def raised(cause: BaseException) -> ConnectionError:
        try:
            raise ConnectionError("Failed to connect to Ray cluster at 127.0.0.1:1") from cause
        except ConnectionError as exc:
            return exc

    last = "Last connection error: ... RPC error: InvalidAuthToken: token is missing or incorrect"
    assert _refused_token(raised(RuntimeError(f"Failed to connect to GCS. {last}")), ray)
    assert _refused_token(raised(ray.exceptions.AuthenticationError("RPC error")), ray)
    assert not _refused_token(raised(RuntimeError("Failed to connect to GCS: timed out")), ray)
    assert "RAY_AUTH_MODE=token" in AUTH_HINT and "RAY_AUTH_TOKEN_PATH" in AUTH_HINT
