"""Bad specs, missing data and corrupt inputs: one line on stderr, exit code 2, no traceback."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main


def run_cli(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    err = capsys.readouterr().err.strip()
    return code, err


def write_spec(tmp_path: Path, text: str) -> str:
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: x\nattacks: [fgsn]\n", "attacks[0].name: unknown attack 'fgsn'"),
        ("name: x\nmodel: {arch: small_cn}\n", "did you mean 'small_cnn'"),
        ("name: x\ndataset: {name: digitz}\n", "dataset.name: unknown dataset 'digitz'"),
        ("name: x\ndefence: {name: adv}\n", "defence.name: unknown defence 'adv'"),
        ("name: x\neps: [0, big]\n", "eps[1]: expected a number"),
        ("name: x\nattacks: [{name: fgsm, steps: 3}]\n", "attacks[0].steps: unknown parameter"),
    ],
)
def test_bad_spec_gives_one_line_and_exit_2(tmp_path, capsys, text: str, expected: str) -> None:
    spec = write_spec(tmp_path, text)
    for command in ("validate", "run"):
        code, err = run_cli(capsys, command, spec)
        assert code == 2
        assert expected in err and len(err.splitlines()) == 1 and spec in err


def test_missing_dataset_folder(tmp_path, capsys) -> None:
    spec = write_spec(tmp_path, f"name: x\ndataset: {{name: cifake, root: {tmp_path / 'nope'}}}\n")
    code, err = run_cli(capsys, "run", spec, "--out", str(tmp_path / "out"))
    assert code == 2 and "nope" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_corrupt_image_names_the_file(tmp_path, capsys) -> None:
    root = tmp_path / "folder"
    from PIL import Image

    for cls in ("a", "b"):
        (root / cls).mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (32, 32), (40 * i, 90, 200)).save(root / cls / f"ok{i}.png")
    (root / "a" / "broken.png").write_bytes(b"not an image at all")
    spec = write_spec(tmp_path, f"name: x\ndataset: {{name: imagefolder, root: {root}}}\n")
    code, err = run_cli(capsys, "run", spec, "--out", str(tmp_path / "out"))
    assert code == 2 and "broken.png" in err and len(err.splitlines()) == 1


def test_corrupt_weights_file_is_refused_without_traceback(tmp_path, capsys) -> None:
    weights = tmp_path / "w.pt"
    weights.write_bytes(b"garbage")
    spec = write_spec(tmp_path, f"name: x\nmodel: {{arch: small_cnn, weights: {weights}}}\n")
    code, err = run_cli(capsys, "run", spec, "--out", str(tmp_path / "out"))
    assert code == 2 and "w.pt" in err and len(err.splitlines()) == 1
    assert weights.read_bytes() == b"garbage"


def test_bad_override_and_console_script(tmp_path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", "validate", "benchmarks/digits_fgsm.yaml", "--set", "seed"],
        capture_output=True, text=True, cwd=Path(__file__).parents[1],
    )  # fmt: skip
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: ") and "key=value" in proc.stderr


def test_list_shows_registries(capsys) -> None:
    assert main(["list", "attacks"]) == 0
    assert "fgsm" in capsys.readouterr().out
    assert main(["list", "models"]) == 0
    out = capsys.readouterr().out
    assert all(n in out for n in ("spatial_baseline_cnn", "robust_cnn", "small_cnn"))
    zoos = [line.split()[1] for line in out.splitlines() if line.startswith("zoo: ")]
    assert zoos == ["robustbench", "timm", "torchvision"]  # each zoo a spec can read from
    assert "fields: checkpoint [pip install 'robustness-harness[timm]']" in out


HEAVY = ("torch", "art", "sklearn", "scipy", "matplotlib", "pandas", "torchvision")


def test_light_commands_answer_without_importing_torch() -> None:
    """--version, --help, a misspelt benchmark, a misspelt --set key, ``validate`` of every
    shipped benchmark (grids, defences, probes, corruptions among them) and every ``list`` are
    answered without importing torch, ART or the other heavy libraries: a fraction of a second
    instead of several. One subprocess for all, so that nothing imported earlier hides one."""
    probe = (
        "import contextlib, io, json, sys\n"
        "from harness.cli import LISTS, main\n"
        "from harness.spec import catalog\n"
        "for argv in (['run', 'digits_fgms'], ['validate', 'digits_fgsm', '--set', 'datset.x=1']):\n"
        "    assert main(argv) == 2\n"
        "for argv in (['--help'], ['validate', '--help'], ['--version']):\n"
        "    out = io.StringIO()\n"
        "    try:\n"
        "        with contextlib.redirect_stdout(out):\n"
        "            main(argv)\n"
        "    except SystemExit as exc:\n"
        "        assert exc.code == 0\n"
        "print(out.getvalue().strip())  # the version\n"
        "codes = {}\n"
        "for argv in [['validate', n] for n in catalog.names()] + [['list', w] for w in LISTS]:\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        "        codes[' '.join(argv)] = main(argv)\n"
        "print(json.dumps(codes))\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    version, codes, heavy = done.stdout.splitlines()[-3:]
    assert version == (
        f"harness {__import__('harness').__version__} (robustness-harness; Python "
        f"{sys.version.split()[0]})"
    )
    codes = json.loads(codes)
    extra = importlib.util.find_spec("imagecorruptions") is not None  # corruption specs need it
    expected = {c: 0 if extra or "corruptions" not in c else 2 for c in codes}
    assert len(codes) >= 20 and codes == expected, done.stderr
    assert heavy == "[]"
    assert "did you mean 'digits_fgsm'" in done.stderr and "--set datset.x=1: datset" in done.stderr


def test_list_takes_the_us_spelling(capsys) -> None:
    assert main(["list", "defences"]) == 0
    british = capsys.readouterr().out
    assert main(["list", "defenses"]) == 0
    assert capsys.readouterr().out == british and "trades" in british
