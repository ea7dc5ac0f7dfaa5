"""Bad ``--set KEY=VALUE`` overrides: values are YAML, read with the spec file's bounds."""

from __future__ import annotations

from bad_inputs import TINY, Case, Setup, spec


def check(*overrides: str) -> Setup:
    """``harness validate`` of a good spec with each override as ``--set``."""
    return spec(TINY, *(a for o in overrides for a in ("--set", o)), command="validate")


def run(*overrides: str) -> Setup:
    """``harness run`` of a good spec with each override as ``--set``."""
    return spec(TINY, *(a for o in overrides for a in ("--set", o)))


BOMB = "[&a [lol, lol, lol, lol], &b [*a, *a, *a, *a], &c [*b, *b, *b, *b], *c, *c]"

CASES = [
    Case("set_eps_empty", check("eps="), "--set eps=: empty value"),
    Case("set_eps_empty_run", run("eps="), "--set eps="),
    Case("set_eps_null", check("eps=null"), "eps: expected a value, got null"),
    Case("set_attacks_null", check("attacks=~"), "attacks: expected a value, got null"),
    Case("set_without_equals", check("seed"), "--set 'seed': expected key=value"),
    Case("set_empty_key", check("=1"), "--set '=1': expected key=value"),
    Case("set_empty_key_part", check("dataset..n_test=5"), "expected key=value"),
    Case("set_unknown_key", check("unknown.key=1"), "--set unknown.key=1: unknown: unknown field"),
    Case("set_unknown_nested_key", check("dataset.n_tset=5"), "--set dataset.n_tset=5: dataset.n_tset: unknown field"),
    Case("set_typo_blames_the_override", run("datset.name=x"), "error: --set datset.name=x: datset: unknown"),
    Case("set_bad_attack_param_blames_it", check("attacks=[{name: fgsm, bogus: 1}]"), "--set attacks=[{name: fgsm, bogus: 1}]: attacks[0].bogus"),
    Case("set_alias_bomb", check(f"description={BOMB}"), "--set description: not a valid YAML value"),
    Case("set_anchor", check("seed=&s 1"), "anchors and aliases"),
    Case("set_duplicate_keys", check("dataset={name: digits, name: mnist}"), "duplicate key 'name'"),
    Case("set_deep_value", check("description=" + "[" * 40 + "]" * 40), "nested too deep"),
    Case("set_huge_value", check("description=" + "x" * 70_000), "--set description: value too large"),
    Case("set_undecodable_value", check("description=\udcff\udcfe"), "--set description: not a valid YAML value"),
    Case("set_unparsable_value", check("eps=[0, 0.1"), "--set eps: not a valid YAML value"),
    Case("set_impossible_date", check("description=2001-13-01"), "cannot read '2001-13-01'"),
    Case("set_seed_too_big", check("seed=4294967296"), "seed: expected an integer in [0, 4294967295]"),
    Case("set_seed_text", run("seed=abc"), "seed: expected an integer"),
    Case("set_duplicate_eps", check("eps=[0, 0.1, 1/10]"), "eps[2]: 0.1 is also eps[1]"),
    Case("set_list_index_out_of_range", check("attacks.5.steps=1"), "'5' is not an index"),
    Case("set_inside_a_scalar", check("dataset.name.x=1"), "'name' is not a mapping"),
    Case("set_n_test_above_data", run("dataset.n_test=1000000"), "dataset.n_test: 1000000 samples asked for"),
]  # fmt: skip
