"""``harness schema``: the JSON Schema an editor reads is walked from the declarations that
validate a spec, so every shipped spec passes it and a misspelt key fails it, as in the harness."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from harness.cli import main
from harness.spec import catalog
from harness.spec.document import Spec, spec_schema
from harness.spec.schema import keys
from harness.spec.sections import DataSpec, TrainSpec

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = spec_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def test_every_shipped_spec_and_included_file_passes(validator) -> None:
    files = sorted(BENCHMARKS.rglob("*.yaml"))
    assert len(files) >= len(catalog.names())
    for path in files:
        errors = list(validator.iter_errors(yaml.safe_load(path.read_text(encoding="utf-8"))))
        assert not errors, (path.name, errors[0].message)


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ({"datset": {"name": "digits"}}, "'datset' was unexpected"),
        ({"dataset": {"nme": "digits"}}, "'nme' was unexpected"),
        ({"model": {"train": {"epochs": -1}}}, "-1 is less than the minimum of 0"),
        ({"eps": [0, 2]}, "2 is not valid"),
        ({"reproducible": "strictly"}, "'strictly' is not one of ['standard', 'strict']"),
        ({"attacks": []}, "should be non-empty"),
        ({"seed": 2**32}, "is greater than the maximum of 4294967295"),
    ],
)
def test_what_the_harness_refuses_the_schema_refuses(
    validator, spec, problem, tmp_path, capsys
) -> None:
    messages = [e.message for e in validator.iter_errors(spec)]
    messages += [c.message for e in validator.iter_errors(spec) for c in e.context or ()]
    assert any(problem in m for m in messages), messages
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    assert main(["validate", str(path)]) == 2  # the harness refuses it too
    capsys.readouterr()


def test_what_the_harness_accepts_the_schema_accepts(validator, tmp_path) -> None:
    spec = {"name": "ok", "eps": [0, "8/255"], "defence": None, "attacks": ["fgsm", {"name": "pgd",
            "eps_step": "1/255", "max_iter": 3}], "model": {"builder": "x.py:f", "mean": [0.5]}}  # fmt: skip
    assert not list(validator.iter_errors(spec))


def test_every_key_the_parser_reads_is_in_the_schema() -> None:
    schema = spec_schema()
    assert set(keys(Spec)) | {"include", "defence"} == set(schema["properties"])
    dataset = schema["properties"]["dataset"]
    assert set(dataset["properties"]) == set(keys(DataSpec))
    train = dataset_default = schema["properties"]["model"]["properties"]["train"]
    assert set(train["properties"]) == set(keys(TrainSpec))
    assert train["properties"]["lr"]["default"] == dataclasses.fields(TrainSpec)[2].default
    assert dataset_default["additionalProperties"] is False
    # a component's own parameters: any further key
    attack = schema["properties"]["attacks"]["items"]["anyOf"][1]
    assert attack["additionalProperties"] is True and attack["required"] == ["name"]


def test_the_command_prints_it_and_writes_only_its_own_file(tmp_path, capsys) -> None:
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out) == spec_schema()
    out = tmp_path / "spec.schema.json"
    assert main(["schema", "--out", str(out)]) == 0
    assert json.loads(out.read_text()) == spec_schema()
    assert main(["schema", "--out", str(out)]) == 0  # its own earlier file: replaced
    mine = tmp_path / "mine.json"
    mine.write_text('{"mine": true}')
    capsys.readouterr()
    assert main(["schema", "--out", str(mine)]) == 2
    assert "is not a schema this command wrote" in capsys.readouterr().err
    assert mine.read_text() == '{"mine": true}'
