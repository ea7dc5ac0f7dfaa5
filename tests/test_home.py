"""Where the harness writes (the working directory or ``$HARNESS_HOME``, never beside the
package) and the shipped benchmark specs by name (``harness run cifake_fgsm``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness import home, runner
from harness.cli import main
from harness.datasets import paths
from harness.errors import HarnessError
from harness.spec import DataSpec, catalog, load_spec, read_spec

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "harness"


def test_everything_written_goes_under_the_working_directory(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv(home.HOME_ENV, raising=False)
    monkeypatch.delenv(paths.CACHE_ENV, raising=False)
    monkeypatch.delenv(paths.DATA_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    here = tmp_path.resolve()
    assert runner.default_models_dir() == here / "models"
    assert paths.cache_dir() == here / "data" / ".cache"
    assert paths.root_path(DataSpec(name="cifake")) == here / "data" / "cifake"
    assert home.reports_dir() == Path("reports")  # printed as given: short
    monkeypatch.setenv(paths.CACHE_ENV, str(tmp_path / "elsewhere"))
    assert paths.cache_dir() == here / "elsewhere"  # $HARNESS_CACHE still wins for the cache


def test_harness_home_moves_all_of_it(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv(paths.CACHE_ENV, raising=False)
    monkeypatch.delenv(paths.DATA_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(home.HOME_ENV, str(tmp_path / "h"))
    h = (tmp_path / "h").resolve()
    assert runner.default_models_dir() == h / "models"
    assert paths.cache_dir() == h / "data" / ".cache"
    assert paths.root_path(DataSpec(name="mnist")) == h / "data" / "mnist"
    assert home.reports_dir().resolve() == h / "reports"
    for where in (runner.default_models_dir(), paths.cache_dir(), home.reports_dir()):
        assert PACKAGE not in where.resolve().parents


def test_a_relative_dataset_root_stays_relative_to_the_working_directory(
    tmp_path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(home.HOME_ENV, str(tmp_path / "h"))
    root = paths.root_path(DataSpec(name="cifake", root="../shared/data/cifake"))
    assert root == (tmp_path / ".." / "shared" / "data" / "cifake").resolve()


def test_harness_data_is_where_a_spec_without_a_root_finds_its_data(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(home.HOME_ENV, str(tmp_path / "h"))
    monkeypatch.setenv(paths.DATA_ENV, str(tmp_path / "sets"))
    assert paths.root_path(DataSpec(name="mnist")) == (tmp_path / "sets" / "mnist").resolve()
    given = paths.root_path(DataSpec(name="mnist", root="mine"))  # a spec's root still wins
    assert given == (tmp_path / "mine").resolve()
    assert paths.cache_dir() != tmp_path / "sets" / ".cache"  # the data folder is never written


def test_no_shipped_benchmark_depends_on_a_folder_beside_the_checkout() -> None:
    for path in sorted((REPO / "benchmarks").rglob("*.yaml")):
        text = path.read_text()
        assert "../" not in text and "shared/data" not in text, path.name
        if path.parent.name == "benchmarks":
            assert load_spec(path).dataset.root is None, path.name


def test_every_shipped_benchmark_resolves_by_name(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # not the checkout: names do not depend on the working directory
    shipped = sorted(p.stem for p in (REPO / "benchmarks").glob("*.yaml"))
    assert catalog.names() == shipped and "digits_fgsm" in shipped
    for name in shipped:
        assert catalog.resolve(name) == REPO / "benchmarks" / f"{name}.yaml"
    spec = load_spec("cifake_fgsm")  # its include: include/cifake.yaml is found beside it
    assert spec.name == "cifake_fgsm" and spec.includes
    assert load_spec(None).name == "digits_fgsm"


def test_a_path_wins_over_a_name_and_a_missing_path_is_named(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("digits_fgsm").write_text("version: 1\nname: mine\ndataset: {name: digits}\n")
    assert read_spec("digits_fgsm").raw["name"] == "mine"  # an existing file is read as a file
    with pytest.raises(HarnessError, match=r"nothere\.yaml: cannot read spec file"):
        read_spec("nothere.yaml")  # a path, reported as today, not looked up as a name
    with pytest.raises(HarnessError, match=r"the shipped benchmark .* `harness run cifake_pgd`"):
        read_spec("benchmarks/cifake_pgd.yaml")  # a checkout's path, outside the checkout


def test_an_unknown_name_is_one_line_with_a_suggestion(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "cifake_fsgm"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "cifake_fsgm: no such spec file or benchmark (did you mean 'cifake_fgsm'?)" in err
    assert "digits_fgsm" in err


def test_list_benchmarks_gives_each_name_and_its_description(capsys) -> None:
    assert main(["list", "benchmarks"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == catalog.names()
    for line in lines:
        name = line.split()[0]
        raw = yaml.safe_load((REPO / "benchmarks" / f"{name}.yaml").read_text())
        assert line.split(None, 1)[1] == raw["description"].splitlines()[0]


def test_a_folder_named_like_a_benchmark_does_not_hide_it(tmp_path, monkeypatch) -> None:
    """``--out digits_fgsm`` leaves a folder of that name; the name still runs the benchmark,
    and a folder that is no benchmark is called a folder, not an unreadable spec."""
    monkeypatch.chdir(tmp_path)
    Path("digits_fgsm").mkdir()
    assert catalog.resolve("digits_fgsm") == REPO / "benchmarks" / "digits_fgsm.yaml"
    assert read_spec("digits_fgsm").raw["name"] == "digits_fgsm"
    Path("digits_fgsn").mkdir()
    with pytest.raises(HarnessError) as err:
        catalog.resolve("digits_fgsn")
    assert str(err.value).startswith("digits_fgsn: a folder, not a spec file; expected a path")
    assert str(err.value).endswith("(did you mean 'digits_fgsm'?)")


def test_validate_takes_a_name(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "digits_grid"]) == 0
    assert "a grid of 36 cells" in capsys.readouterr().out
