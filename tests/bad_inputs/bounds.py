"""Numbers a run cannot use: NaN and inf, seeds out of range below the top level, sizes that
would exhaust the machine. Each used to validate and then fail (or mislead) during the run."""

from __future__ import annotations

from bad_inputs import TINY, Case, Setup, spec


def check(text: str) -> Setup:
    """``harness validate`` of ``text`` (a spec named x)."""
    return spec("name: x\n" + text, command="validate")


def run(text: str) -> Setup:
    """``harness run`` of ``text`` on 60 digits and a one-epoch model: refused before training."""
    return spec("name: x\n" + TINY + text)


CASES = [
    # NaN and inf in a component's parameters (deepfool's overshoot gave NaN images, 90% success)
    Case("deepfool_overshoot_inf", check("attacks: [{name: deepfool, overshoot: .inf}]\n"), "attacks[0].overshoot: expected a finite number, got inf"),
    Case("deepfool_overshoot_inf_run", run("attacks: [{name: deepfool, overshoot: .inf}]\n"), "attacks[0].overshoot: expected a finite number"),
    Case("cw_confidence_nan", check("attacks: [{name: cw_l2, confidence: .nan}]\n"), "attacks[0].confidence: expected a finite number, got nan"),
    Case("pgd_step_size_minus_inf", check("attacks: [{name: pgd, step_size: -.inf}]\n"), "attacks[0].step_size: expected a finite number, got -inf"),
    Case("transfer_inner_param_inf", check("attacks: [{name: transfer, params: {step_size: .inf}}]\n"), "attacks[0].params.step_size: expected a finite number"),
    Case("noise_threshold_inf", check("probes: [{name: noise, threshold: .inf}]\n"), "probes[0].threshold: expected a finite number"),
    Case("trades_beta_inf", check("defence: {name: trades, beta: .inf}\n"), "defence.beta: expected a finite number"),
    Case("smoothing_radii_inf", check("defence: {name: randomized_smoothing, radii: [0.1, .inf]}\n"), "defence.radii[1]: expected a finite number"),
    Case("gpus_per_cell_inf", check("grid: {gpus_per_cell: .inf}\n"), "grid.gpus_per_cell: expected a finite number, got inf"),
    Case("train_lr_nan_text", check("model: {train: {lr: nan}}\n"), "model.train.lr: expected a finite number, got nan"),
    Case("model_mean_inf", check("model: {mean: [.inf], std: [1]}\n"), "model.mean[0]: expected a finite number"),
    # seeds below the top level take the top level's range
    Case("attack_seed_too_big", check("attacks: [{name: pgd, seed: 99999999999}]\n"), "attacks[0].seed: expected an integer in [0, 4294967295], got 99999999999"),
    Case("attack_seed_too_big_run", run("attacks: [{name: pgd, seed: 99999999999}]\n"), "attacks[0].seed: expected an integer in [0, 4294967295]"),
    Case("transfer_seed_too_big", check("attacks: [{name: transfer, seed: 4294967296}]\n"), "attacks[0].seed"),
    Case("transfer_inner_seed_negative", check("attacks: [{name: transfer, params: {seed: -1}}]\n"), "attacks[0].params.seed"),
    Case("square_seed_too_big", check("attacks: [{name: square, seed: 4294967296}]\n"), "attacks[0].seed"),
    Case("noise_probe_seed_too_big", check("probes: [{name: noise, seed: 4294967296}]\n"), "probes[0].seed"),
    Case("training_attack_seed_too_big", check("defence: {name: adversarial_training, attack: pgd, attack_params: {seed: 4294967296}}\n"), "defence.attack_params.seed"),
    # sizes that follow from the spec, bounded at validation (eps_step 1e-9 trained, attacked,
    # then died building a 300-million-point grid)
    Case("evasion_eps_step_tiny", check("evasion: {eps_max: 0.3, eps_step: 1e-9}\n"), "evasion.eps_step: eps_max / eps_step = 0.3 / 1e-09 gives 300,000,000 steps; at most 1,000"),
    Case("evasion_eps_step_tiny_run", run("evasion: {eps_max: 0.3, eps_step: 1e-9}\n"), "gives 300,000,000 steps; at most 1,000"),
    Case("evasion_n_images_huge", check("evasion: {n_images: 100000}\n"), "evasion.n_images: expected an integer in [0, 100]"),
    Case("eps_too_many", check("eps: [" + ", ".join(f"{i / 1000}" for i in range(101)) + "]\n"), "eps: 101 epsilons; at most 100"),
    Case("grid_cells_too_many", check("grid: {seeds: [" + ", ".join(map(str, range(2000))) + "]}\nattacks: [fgsm, pgd, deepfool]\n"), "gives 12,000 cells; at most 10,000"),
    Case("corrupted_images_too_many", check("corruptions: {n_images: 1000000}\n"), "corruptions.n_images: 15 corruption(s) x 5 severities x 1,000,000 images gives 75,000,000 corrupted images; at most 10,000,000"),
    Case("noise_probe_images_huge", check("probes: [{name: noise, n_images: 10000000000}]\n"), "probes[0].n_images: expected at most 1,000,000"),
    Case("minimal_probe_steps_huge", check("probes: [{name: minimal, fgsm_steps: 100000000}]\n"), "probes[0].fgsm_steps: expected at most 10,000"),
    Case("sanity_samples_huge", check("sanity: {n_samples: 1000000000}\n"), "sanity.n_samples: expected an integer in [1, 1000000]"),
]  # fmt: skip
