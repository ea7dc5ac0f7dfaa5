"""The robustness card (card.json, card.md) of a real run folder, and the RobustBench record."""

from __future__ import annotations

import dataclasses
import json

import pytest

from harness.card import card, card_markdown
from harness.results import rundir


@pytest.fixture(scope="module")
def folder(digits_runs):
    return digits_runs[0]


def test_card_json_holds_every_headline_number_with_its_interval(folder) -> None:
    c = json.loads((folder / "card.json").read_text())
    result = rundir.read_run(folder).result
    assert c == json.loads(json.dumps(card(result)))  # written from the same record
    assert c["threat_model"]["norm"] == "linf" and c["threat_model"]["eps"] == 0.15
    assert c["threat_model"]["eps_rule"] == "the training ε of defence robust, adversarial_training"
    assert [(m["architecture"], (m["defence"] or {}).get("name")) for m in c["models"]] == [
        ("small_cnn", None),
        ("small_cnn", "adversarial_training"),
    ]
    assert c["test_set"]["n_test"] == 359 and c["test_set"]["subset_seed"] is None
    assert c["weights_sha256"] == result.provenance["weights_sha256"] and c["weights_sha256"]
    assert c["versions"]["robustness-harness"] and c["hardware"]["cpu_model"]
    for m in c["models"]:
        for interval in [m["clean_accuracy"], *m["robust_accuracy"].values(), m["strongest"]]:
            assert interval["low"] <= interval["value"] <= interval["high"]
        assert m["sanity"]["FAIL"] == 0 and m["sanity"]["PASS"] > 0
    assert c["robustbench"] == []  # no AutoAttack in this run
    assert "upper bounds" in c["caveats"]["upper_bound"]


def test_card_md_is_a_model_card_section(folder) -> None:
    text = (folder / "card.md").read_text()
    assert text.startswith("## Robustness\n") and "| baseline | " in text
    assert "% [" in text and "ε = 0.15" in text


def test_the_test_set_id_names_the_images_not_the_folder(folder) -> None:
    result = rundir.read_run(folder).result
    moved = dataclasses.replace(result, data=dataclasses.replace(result.data, source="/elsewhere"))
    assert card(moved)["test_set"]["sha256"] == card(result)["test_set"]["sha256"]
    subset = dataclasses.replace(result, spec=result.spec | {"dataset": {"n_test": 359}})
    assert card(subset)["test_set"]["sha256"] != card(result)["test_set"]["sha256"]


def test_an_autoattack_run_gets_robustbench_records(folder) -> None:
    result = rundir.read_run(folder).result
    aa = [dataclasses.replace(a, attack="autoattack") for a in result.attacks]
    record = card(dataclasses.replace(result, attacks=aa))["robustbench"]
    assert [r["name"] for r in record] == ["digits_fgsm/baseline", "digits_fgsm/robust"]
    base = record[0]
    assert set(base) >= {"clean_acc", "autoattack_acc", "eps", "dataset", "threat_model"}
    assert (base["threat_model"], base["eps"], base["n_examples"]) == ("Linf", "0.15", 359)
    assert base["clean_acc"] == round(
        100 * result.value("baseline", "none", 0.0, "clean_accuracy"), 2
    )
    assert base["autoattack_acc"] == round(
        100 * result.value("baseline", "fgsm", 0.15, "robust_accuracy"), 2
    )
    assert card_markdown(result).count("\n| ") == 4  # the header, its rule, two models


def test_an_l2_autoattack_run_gets_l2_robustbench_records(folder) -> None:
    """The records follow the declaration (an ensemble), not a name: the L2 ensemble's run
    gets records on the L2 threat model."""
    result = rundir.read_run(folder).result
    aa = [dataclasses.replace(a, attack="autoattack_l2", norm="l2") for a in result.attacks]
    record = card(dataclasses.replace(result, attacks=aa))["robustbench"]
    assert [r["threat_model"] for r in record] == ["L2", "L2"]
    pgd = [dataclasses.replace(a, attack="pgd_l2", norm="l2") for a in result.attacks]
    assert card(dataclasses.replace(result, attacks=pgd))["robustbench"] == []
