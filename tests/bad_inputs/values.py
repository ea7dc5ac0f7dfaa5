"""Values that passed validation and failed later (or silently misreported): caught up front."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from bad_inputs import Case, Setup, spec, with_files

DIGITS = "dataset: {name: digits, n_test: 60}\n"
SMALL = "model: {arch: small_cnn, train: {epochs: 1}}\n"


def check(text: str) -> Setup:
    """``harness validate`` of ``text`` (a spec named x)."""
    return spec("name: x\n" + text, command="validate")


def run(text: str) -> Setup:
    """``harness run`` of ``text`` on 60 digits; it must stop before any training."""
    return spec("name: x\n" + text)


def png(value: int) -> bytes:
    """An 8x8 RGB PNG filled with ``value``."""
    buf = io.BytesIO()
    Image.fromarray(np.full((8, 8, 3), value, np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


ONE_CLASS = {f"imgs/cat/{i}.png": png(30 * i) for i in range(6)}
IMAGEFOLDER = "dataset: {name: imagefolder, root: '{tmp}/imgs'}\n" + SMALL

CASES = [
    Case("seed_negative", check("seed: -1\n"), "seed: expected an integer in [0, 4294967295]"),
    Case("seed_2_pow_32", check("seed: 4294967296\n"), "seed"),
    Case("seed_text", check("seed: abc\n"), "seed"),
    Case("seed_float", check("seed: 1.5\n"), "seed"),
    Case("grid_seed_2_pow_32", check("grid: {seeds: [0, 4294967296]}\n"), "grid.seeds[1]"),
    Case("eps_duplicated", check("eps: [0, 0.1, 0.1]\n"), "eps[2]: 0.1 is also eps[1]"),
    Case("eps_duplicated_fraction", check("eps: [0, 0.1, 1/10]\n"), "eps[2]: 0.1 is also eps[1]"),
    Case("eps_duplicated_run", run(DIGITS + "eps: [0, 8/255, 8/255]\n"), "eps[2]"),
    Case("eps_above_one", check("eps: [0, 1.5]\n"), "eps[1]"),
    Case("eps_negative", check("eps: [-0.1, 0]\n"), "eps[0]"),
    Case("eps_null", check("eps:\n"), "eps: expected a value, got null"),
    Case("eps_empty_list", check("eps: []\n"), "eps: expected a list"),
    Case("eps_scalar", check("eps: 0.1\n"), "eps: expected a list"),
    Case("batch_size_zero", check("model: {train: {batch_size: 0}}\n"), "model.train.batch_size"),
    Case("batch_size_negative", check("defence: {train: {batch_size: -8}}\n"), "defence.train.batch_size"),
    Case("epochs_negative", check("model: {train: {epochs: -1}}\n"), "model.train.epochs"),
    Case("lr_zero", check("model: {train: {lr: 0}}\n"), "model.train.lr: expected a value in (0, 10.0]"),
    Case("lr_negative", check("model: {train: {lr: -0.1}}\n"), "model.train.lr"),
    Case("lr_text", check("model: {train: {lr: fast}}\n"), "model.train.lr"),
    Case("n_test_zero", check("dataset: {n_test: 0}\n"), "dataset.n_test"),
    Case("n_test_above_data", run("dataset: {name: digits, n_test: 1000000}\n" + SMALL), "has 359"),
    Case("n_train_above_data", run("dataset: {name: digits, n_train: 100000}\n" + SMALL), "dataset.n_train: 100000"),
    Case("val_fraction_one", check("dataset: {val_fraction: 1.0}\n"), "dataset.val_fraction"),
    Case("image_size_huge", check("dataset: {image_size: 100000}\n"), "dataset.image_size"),
    Case("threads_zero", check("threads: 0\n"), "threads"),
    Case("threads_huge", check("threads: 100000\n"), "threads: expected an integer in [1, 256]"),
    Case("eval_batch_size_zero", check("eval_batch_size: 0\n"), "eval_batch_size"),
    Case("unknown_top_level_key", check("epochs: 3\n"), "epochs: unknown field"),
    Case("dataset_not_a_mapping", check("dataset: 5\n"), "dataset: expected a mapping"),
    Case("dataset_null", check("dataset:\n"), "dataset: expected a value, got null"),
    Case("model_a_list", check("model: [small_cnn]\n"), "model: expected a mapping"),
    Case("description_a_list", check("description: [a, b]\n"), "description: expected text"),
    Case("name_dots", spec("name: ..\n", command="validate"), "name: expected letters"),
    Case("name_too_long", spec("name: " + "a" * 300 + "\n", command="validate"), "name: expected at most 100"),
    Case("std_zero", check("model: {arch: small_cnn, mean: [0.5], std: [0]}\n"), "model.std"),
    Case("mean_channels_mismatch", run(DIGITS + "model: {arch: small_cnn, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], train: {epochs: 1}}\n"), "model.mean: 3 values for 1-channel"),
    Case("evasion_step_above_max", check("evasion: {eps_max: 0.1, eps_step: 0.5}\n"), "evasion.eps_step"),
    Case("defence_attack_a_list", check("defence: {attack: []}\n"), "defence.attack"),
    Case("one_class_imagefolder", with_files(ONE_CLASS, IMAGEFOLDER), "1 class ['cat']"),
    Case("n_test_above_data_grid", run("dataset: {name: digits, n_test: 1000000}\n" + SMALL + "grid: {seeds: [0, 1]}\n"), "dataset.n_test"),
    Case("image_size_ignored_by_mnist", check("dataset: {name: mnist, image_size: 64}\n"), "dataset.image_size: the 'mnist' loader does not use it"),
    Case("channels_ignored_by_cifake", check("dataset: {name: cifake, channels: 1}\n"), "dataset.channels"),
    Case("root_ignored_by_digits", check("dataset: {name: digits, root: data/digits}\n"), "dataset.root"),
    Case("download_ignored_by_digits", check("dataset: {name: digits, download: true}\n"), "dataset.download"),
    Case("corruption_reference_missing", run(DIGITS + SMALL + "corruptions: {n_images: 5, reference: {name: AlexNet, errors: missing/none.csv}}\n"), "corruptions.reference.errors"),
    Case("corruption_reference_error_above_1", with_files({"ref.csv": "corruption,severity,error\nfog,all,80\n"}, "name: x\n" + DIGITS + SMALL + "corruptions: {n_images: 5, reference: {name: AlexNet, errors: '{tmp}/ref.csv'}}\n"), "ref.csv line 2: expected an error in [0, 1], got '80'"),
]  # fmt: skip
