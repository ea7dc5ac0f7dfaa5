"""A real install: the wheel built from this checkout, installed (not editable) into a fresh
virtual environment, lists and runs the shipped benchmarks by name from an empty folder, and
writes only under ``$HARNESS_HOME`` (or the working directory), never inside the installed
package.

Nothing is downloaded: the wheel is built with the setuptools already installed
(``--no-build-isolation``), and the new environment reuses this interpreter's packages (torch,
ART, ...) through a ``.pth`` line instead of installing them again.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("harness", "benchmarks", "setup.cfg", "setup.py", "pyproject.toml", "README.md",
           "MANIFEST.in")  # fmt: skip
# digits_fgsm cut down: the point is where things land, not the numbers
FAST = ["--set", "model.train.epochs=1", "--set", "dataset.n_test=40", "--set", "threads=1",
        "--set", "eps=[0, 0.1]", "--set", "evasion.n_images=1", "--set", "gradcam.n_images=1",
        "--set", "defence=null"]  # fmt: skip


def _call(cmd: list, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def _clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without what points at the checkout or at test folders."""
    drop = {"PYTHONPATH", "HARNESS_HOME", "HARNESS_CACHE"}
    return {k: v for k, v in os.environ.items() if k not in drop} | {"OMP_NUM_THREADS": "1"} | extra


PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
# the oldest torch setup.cfg allows, as a CPU build, and the torchvision released with it
OLDEST = ("torch==2.13.0+cpu", "torchvision==0.28.0")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel of this checkout."""
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"  # a copy, so that the build's build/ and *.egg-info stay out of the repo
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(REPO / name, src / name)
    built = _call(
        [*PIP, "wheel", "--no-deps", "--no-build-isolation", "-w", root / "dist", src], root
    )
    assert built.returncode == 0, built.stderr
    (found,) = (root / "dist").glob("robustness_harness-*.whl")
    return found


@pytest.fixture(scope="module")
def venv(tmp_path_factory, wheel: Path) -> Path:
    """A fresh virtual environment with the wheel of this checkout installed in it."""
    root = tmp_path_factory.mktemp("install")
    env = root / "venv"
    assert _call([sys.executable, "-m", "venv", "--without-pip", env], root).returncode == 0
    python = env / "bin" / "python"
    site = _call([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], root)
    ours = {sysconfig.get_paths()[k] for k in ("purelib", "platlib")}
    (Path(site.stdout.strip()) / "project-deps.pth").write_text("\n".join(sorted(ours)) + "\n")
    done = _call([*PIP, "--python", python, "install", "--no-deps", wheel], root)
    assert done.returncode == 0, done.stderr
    return env


def _files(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()}  # fmt: skip


def test_the_installed_package_is_the_wheel_and_lists_the_shipped_benchmarks(
    venv, tmp_path
) -> None:
    where = _call([venv / "bin" / "python", "-c", "import harness; print(harness.__file__)"],
                  tmp_path, _clean_env())  # fmt: skip
    assert Path(where.stdout.strip()).is_relative_to(venv)  # not the checkout (no editable link)
    listed = _call([venv / "bin" / "harness", "list", "benchmarks"], tmp_path, _clean_env())
    assert listed.returncode == 0, listed.stderr
    names = [line.split()[0] for line in listed.stdout.splitlines()]
    assert names == sorted(p.stem for p in (REPO / "benchmarks").glob("*.yaml"))
    assert "Small CNN on sklearn digits" in listed.stdout
    missing = _call([venv / "bin" / "harness", "validate", "digits_fsgm"], tmp_path, _clean_env())
    assert missing.returncode == 2 and "did you mean 'digits_fgsm'" in missing.stderr
    assert missing.stderr.count("\n") == 1  # one line, no traceback
    by_path = _call([venv / "bin" / "harness", "validate", REPO / "benchmarks" / "cifake_pgd.yaml"],
                    tmp_path, _clean_env())  # fmt: skip
    assert by_path.returncode == 0, by_path.stderr  # a path still works (and its include:)


def test_a_run_by_name_from_an_empty_folder_writes_only_under_harness_home(venv, tmp_path) -> None:
    work, home = tmp_path / "empty", tmp_path / "home"
    work.mkdir()
    before = _files(venv)
    run = _call([venv / "bin" / "harness", "run", "digits_fgsm", *FAST], work,
                _clean_env(HARNESS_HOME=str(home)))  # fmt: skip
    assert run.returncode == 0, run.stderr
    (report,) = (home / "reports" / "digits_fgsm").iterdir()
    assert (report / "results.csv").is_file() and (report / "report.md").is_file()
    assert list((home / "models" / "digits").glob("*.pt"))  # the weights cache
    assert list(work.iterdir()) == []  # $HARNESS_HOME set: nothing in the working directory
    assert _files(venv) == before  # nothing written inside the installed package or its venv
    provenance = json.loads((report / "run.json").read_text())["provenance"]
    assert Path(provenance["spec_file"]).is_relative_to(venv)  # the shipped spec, by name
    assert provenance["git_commit"] == "unknown"  # an installed package is not a checkout


def test_installing_beside_the_oldest_supported_torch_keeps_it_and_runs(wheel, tmp_path) -> None:
    """A user's environment that already holds the oldest torch the package allows (a CPU build)
    and its torchvision: installing the wheel, with its dependencies resolved by pip, leaves
    torch's version and files as they were, and a run works on that torch.

    The only torchvision 0.28 on the index is built against CUDA torch and cannot load beside
    a CPU torch, so the run leaves out Grad-CAM (pytorch-grad-cam imports torchvision); nothing
    else on the default benchmark's path imports torchvision.
    """
    env = tmp_path / "venv"
    assert _call([sys.executable, "-m", "venv", env], tmp_path).returncode == 0
    python = env / "bin" / "python"
    pip = [python, "-m", "pip", "--disable-pip-version-check", "-q"]
    install = [*pip, "install", "--no-compile"]
    torch_first = _call([*install, OLDEST[0]], tmp_path)
    if "No matching distribution" in torch_first.stderr:
        pytest.skip(f"{OLDEST[0]} is not on this machine's package index")
    assert torch_first.returncode == 0, torch_first.stderr
    assert _call([*install, "--no-deps", OLDEST[1]], tmp_path).returncode == 0
    site = Path(
        _call([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
              tmp_path).stdout.strip()
    )  # fmt: skip
    before = _files(site / "torch")
    done = _call([*install, wheel], tmp_path)
    assert done.returncode == 0, done.stderr
    version = _call([python, "-c", "import torch; print(torch.__version__)"], tmp_path)
    assert version.stdout.strip() == "2.13.0+cpu"
    assert _files(site / "torch") == before  # not one of torch's files replaced or touched
    harness = env / "bin" / "harness"
    home = tmp_path / "home"
    run = _call([harness, "run", "digits_fgsm", *FAST, "--set", "gradcam.n_images=0",
                 "--out", tmp_path / "report"], tmp_path,
                _clean_env(HARNESS_HOME=str(home)))  # fmt: skip
    assert run.returncode == 0, run.stderr
    record = json.loads((tmp_path / "report" / "run.json").read_text())
    assert record["provenance"]["versions"]["torch"] == "2.13.0+cpu"
