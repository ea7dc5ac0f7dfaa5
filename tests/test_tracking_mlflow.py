"""The MLflow sink against real stores (harness.tracking.mlflow_sink): a file store in a
temporary folder, and an MLflow server this module starts on 127.0.0.1 (a SQLite backend,
killed at teardown). One tiny digits run is tracked to the file store while the server starts;
``harness run`` with the same ``--out`` then logs that finished report to the server. What was
logged is read back with MLflow's own client and compared with the run folder."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

if importlib.util.find_spec("mlflow") is None:  # the optional extra; CI installs it (make test)
    if os.environ.get("CI"):
        pytest.fail("mlflow is not installed, and CI must run these tests", pytrace=False)
    pytest.skip("mlflow is not installed (pip install 'robustness-harness[mlflow]')",
                allow_module_level=True)  # fmt: skip

from conftest import FAST_RUN
from mlflow import MlflowClient

from harness.cli import main
from harness.results import rundir
from harness.spec import parse_spec
from harness.tracking import content, open_sink
from harness.tracking.mlflow_sink import TrackingError

QUIET = {"MLFLOW_DISABLE_TELEMETRY": "true", "MLFLOW_ALLOW_FILE_STORE": "true"}
# what these tests do not read: the weight analysis, the pictures, most of the sanity probes
LEANER = ["--set", "weights.enabled=false", "--set", "gradcam.n_images=0"]
LEANER += ["--set", "sanity.n_samples=64"]
STARTUP_S = 180  # a cold server on two busy cores took 35 s


def tracking(uri: str, experiment: str) -> list[str]:
    return ["--set", f"tracking.mlflow.uri={uri}", "--set", f"tracking.mlflow.experiment={experiment}"]  # fmt: skip


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    uri: str
    log: Path

    def wait(self) -> str:
        """The URI once the server answers /health (fails with its log if it died)."""
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"mlflow server exited: {self.log.read_text()[-2000:]}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{self.uri}/health", timeout=2) as r,
            ):
                if r.status == 200:
                    return self.uri
            time.sleep(0.5)
        pytest.fail(
            f"mlflow server not healthy after {STARTUP_S} s: {self.log.read_text()[-2000:]}"
        )

    def stop(self) -> None:
        """SIGTERM to the server's process group (it starts uvicorn and a job runner), then
        SIGKILL to what is left."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=5)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=15)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """An MLflow server starting on a free loopback port (``Server.wait`` before use)."""
    root = tmp_path_factory.mktemp("mlflow-server")
    port, log = free_port(), root / "server.log"
    command = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1",
               "--port", str(port), "--workers", "1",
               "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
               "--artifacts-destination", str(root / "artifacts")]  # fmt: skip
    with log.open("w") as sink:
        process = subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, **QUIET}, cwd=root,
        )  # fmt: skip
    found = Server(process, f"http://127.0.0.1:{port}", log)
    try:
        yield found
    finally:
        found.stop()


@dataclass
class Tracked:
    out: Path  # the run folder
    store: str  # the file store's URI
    code: int
    printed: str
    args: list[str]  # the run's arguments less --out and tracking


@pytest.fixture(scope="module")
def tracked(tmp_path_factory: pytest.TempPathFactory, server: Server) -> Iterator[Tracked]:
    """One tiny digits run tracked to a file store, made while the server starts."""
    root = tmp_path_factory.mktemp("tracked")
    store = f"file://{root / 'store'}"
    args = [*FAST_RUN, *LEANER, "-q"]
    with pytest.MonkeyPatch.context() as mp:
        for k, v in QUIET.items():
            mp.setenv(k, v)
        mp.setattr("harness.runner.MODELS_DIR", root / "models")
        code, printed, err = cli(
            "run", "--out", str(root / "run"), *args, *tracking(store, "digits")
        )
        assert code == 0, err
        yield Tracked(root / "run", store, code, printed, args)


def the_run(client: MlflowClient, experiment: str) -> object:
    found = client.get_experiment_by_name(experiment)
    runs = client.search_runs([found.experiment_id])
    assert len(runs) == 1, [r.info.run_id for r in runs]
    return runs[0]


def assert_logged(client: MlflowClient, logged: object, folder: Path, tmp: Path) -> None:
    """Params, a per-epoch history, a figure with its interval, a sanity tag and the files."""
    run = rundir.read_run(folder)
    result, data = run.result, logged.data
    assert logged.info.status == "FINISHED" and logged.info.run_name == "digits_fgsm-seed0"
    assert data.params["dataset.name"] == "digits" and data.params["model.train.epochs"] == "2"
    assert json.loads(data.params["eps"]) == result.spec["eps"]
    history = client.get_metric_history(logged.info.run_id, "training/baseline/val_acc")
    expected = [(e.epoch, e.val_acc) for e in result.model("baseline").history]
    assert sorted((m.step, m.value) for m in history) == expected and len(expected) == 2
    m = next(m for m in result.measurements if m.metric == "robust_accuracy" and m.eps > 0)
    where = f"robust_accuracy/{m.model}/{m.attack}/eps_{m.eps!r}"
    interval = result.interval(m)
    assert data.metrics[f"{where}/value"] == m.value
    assert (data.metrics[f"{where}/low"], data.metrics[f"{where}/high"]) == (
        interval.low, interval.high,
    )  # fmt: skip
    assert interval.low < m.value < interval.high
    check = result.sanity[0]
    assert data.tags[f"sanity/{check.model}/{check.name}"] == check.status
    assert data.tags[content.WORST_TAG] in ("PASS", "WARN", "FAIL", "SKIP")
    files = sorted(p.name for p in folder.iterdir())
    listed = client.list_artifacts(logged.info.run_id, "report")
    assert sorted(Path(a.path).name for a in listed) == files
    got = client.download_artifacts(logged.info.run_id, "report/results.csv", str(tmp))
    assert Path(got).read_bytes() == (folder / "results.csv").read_bytes()


def test_a_run_is_logged_to_a_file_store(tracked: Tracked, tmp_path: Path) -> None:
    client = MlflowClient(tracked.store)
    logged = the_run(client, "digits")
    assert f"mlflow: logged as run {logged.info.run_id} in experiment 'digits'" in tracked.printed
    assert_logged(client, logged, tracked.out, tmp_path)


def test_the_same_report_is_not_logged_twice(tracked: Tracked, monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    code, printed, _ = cli("run", "--out", str(tracked.out), *tracked.args,
                           *tracking(tracked.store, "digits"))  # fmt: skip
    logged = the_run(MlflowClient(tracked.store), "digits")
    assert code == 0 and f"already logged as run {logged.info.run_id}" in printed


def test_a_store_that_fails_at_the_end_keeps_the_report(
    tracked: Tracked, tmp_path: Path, monkeypatch
) -> None:
    """The report is written first; the failure is one warning line and exit 1; the MLflow run
    is marked FAILED; the same --out logs it once the store is healthy."""
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    store = f"file://{tmp_path / 'store'}"
    (tmp_path / "a_file").write_text("not a folder")
    client = MlflowClient(store)
    client.create_experiment("broken", artifact_location=f"file://{tmp_path / 'a_file' / 'x'}")
    before = (tracked.out / "results.csv").read_bytes()
    code, printed, err = cli("run", "--out", str(tracked.out), *tracked.args,
                             *tracking(store, "broken"))  # fmt: skip
    assert code == 1 and "nothing to do" in printed
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith(f"warning: tracking: the report {tracked.out} is written but was not")
    assert f"--out {tracked.out}" in err
    assert the_run(client, "broken").info.status == "FAILED"
    assert (tracked.out / "results.csv").read_bytes() == before
    code, printed, _ = cli("run", "--out", str(tracked.out), *tracked.args,
                           *tracking(store, "healthy"))  # fmt: skip
    assert code == 0 and the_run(client, "healthy").info.status == "FINISHED"


def test_a_store_that_does_not_answer_at_the_start_runs_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    uri = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    code, _, err = cli("run", "--out", str(out), *tracking(uri, "x"))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert err.startswith(f"error: tracking.mlflow.uri: {uri}: the tracking store cannot be used")
    assert not out.exists()


def test_a_file_store_without_mlflows_consent_is_one_line(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
    code, _, err = cli("run", "--out", str(tmp_path / "out"),
                       *tracking(f"file://{tmp_path / 'store'}", "x"))  # fmt: skip
    assert code == 2 and "MLFLOW_ALLOW_FILE_STORE=true" in err
    assert len(err.strip().splitlines()) == 1


def test_a_finished_run_is_logged_to_a_server_on_loopback(
    tracked: Tracked, server: Server, tmp_path: Path
) -> None:
    """``harness run`` of the default benchmark with tracking on, against the server: the
    finished report in --out is logged (nothing is run again) and read back over HTTP."""
    uri = server.wait()
    code, printed, err = cli("run", "--out", str(tracked.out), *tracked.args,
                             *tracking(uri, "loopback"))  # fmt: skip
    assert code == 0, err
    client = MlflowClient(uri)
    logged = the_run(client, "loopback")
    assert f"logged as run {logged.info.run_id} in experiment 'loopback' at {uri}" in printed
    assert_logged(client, logged, tracked.out, tmp_path)


def test_a_server_gone_by_the_end_is_a_tracking_error(
    tracked: Tracked, server: Server, monkeypatch
) -> None:
    """Last in this module: stops the shared server between the check and the logging."""
    uri = server.wait()
    raw = {"tracking": {"mlflow": {"uri": uri, "experiment": "gone"}}}
    sink = open_sink(parse_spec({"name": "digits_fgsm", **raw}))  # the server answers now
    server.stop()
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # MLflow's default: 4 minutes
    with pytest.raises(TrackingError) as failed:
        sink.log(tracked.out)
    assert "\n" not in str(failed.value) and str(failed.value)
