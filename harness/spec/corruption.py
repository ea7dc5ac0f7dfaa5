"""The ``corruptions:`` section: the common-corruption evaluation (``harness.corruptions``).

Absent (the default), nothing is evaluated and the spec's hashes and results are unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.corruptions.catalog import ALL, CORRUPTIONS, EXTRAS, SEVERITIES
from harness.corruptions.scales import AUTO, PARAMETERS
from harness.errors import HarnessError
from harness.spec.checks import boolean, choice, integer, optional, string
from harness.spec.schema import nested, setting
from harness.spec.sizes import MAX_CORRUPTED_IMAGES, at_most


def _listed(check: Any, name: str) -> Any:
    """A non-empty list, each item through ``check``, each once, kept in the given order."""

    def listed(value: Any, where: str) -> tuple[Any, ...]:
        if not isinstance(value, list) or not value:
            raise HarnessError(f"{where}: expected a non-empty list of {name}, got {value!r}")
        items = tuple(check(v, f"{where}[{i}]") for i, v in enumerate(value))
        if len(set(items)) != len(items):
            raise HarnessError(f"{where}: expected each of the {name} once, got {list(items)}")
        return items

    return listed


@dataclass(frozen=True)
class NamedReference:
    """A published model's errors to express CE and mCE against (AlexNet's, in ImageNet-C)."""

    name: str = setting(check=string)  # how the report names it, e.g. "AlexNet"
    # a CSV file: corruption,severity,error (error in [0, 1]; severity 1-5, or "all" for an error
    # averaged over the severities, as published tables give it); a row "clean,,E" adds the
    # model's clean error, needed for the relative mCE
    errors: str = setting(check=string)


@dataclass(frozen=True)
class CorruptionSpec:
    """Hendrycks & Dietterich's corruptions of the test set, evaluated for every model."""

    # default: the 15 benchmark corruptions; any of them and of the 4 held-out ones may be listed
    names: tuple[str, ...] = setting(CORRUPTIONS, _listed(choice(ALL), "corruptions"))
    extras: bool = setting(False, boolean)  # add the 4 held-out ones (speckle_noise, ...)
    severities: tuple[int, ...] = setting(SEVERITIES, _listed(integer(1, 5), "severities"))
    # a stratified n_images of the test set is corrupted (None: all of it; with root: the
    # folder's first n_images, in the published order)
    n_images: int | None = setting(None, optional(integer(1)))
    # a CIFAR-10-C / CIFAR-100-C folder (<corruption>.npy, labels.npy): read, not generated
    root: str | None = setting(None, optional(string))
    # whose severity parameters generate the sets (``harness.corruptions.scales``): cifar,
    # tiny_imagenet or imagenet (Hendrycks & Dietterich's scripts for 32, 64, 224 px); auto: by
    # the image side (<= 32 px: cifar, <= 64: tiny_imagenet, larger: imagenet)
    parameters: str = setting(AUTO, choice(PARAMETERS), recipe=True, sparse=True)
    # also express CE and mCE against this published model's errors (absent: the run's baseline
    # only)
    reference: NamedReference | None = setting(
        None, optional(nested(NamedReference)), recipe=True, sparse=True
    )

    def cross_check(self, where: str) -> None:
        """The corrupted images asked for are bounded (without n_images: the test split's);
        parameters are for generated sets, not a folder's."""
        if self.root and self.parameters != AUTO:
            raise HarnessError(
                f"{where}.parameters: {self.parameters!r} applies to generated corruptions; with"
                " root the folder's images are read as published (leave parameters out)"
            )
        if self.n_images is None:
            return
        kinds, levels = len(self.corruptions), len(self.severities)
        how = f"{kinds} corruption(s) x {levels} severities x {self.n_images:,} images gives "
        total = kinds * levels * self.n_images
        at_most(total, MAX_CORRUPTED_IMAGES, f"{where}.n_images", "corrupted images", how)

    @property
    def corruptions(self) -> tuple[str, ...]:
        """The corruptions to evaluate: ``names``, then the extras not already listed."""
        extra = tuple(e for e in EXTRAS if e not in self.names) if self.extras else ()
        return self.names + extra
