"""Benchmark specs: YAML in, validated typed dataclasses out.

Strings and units are converted once here (``"8/255"`` -> 0.0313...); everything after this
package carries floats in [0, 1] pixel units. Every registry name is checked before any data
or weights are loaded, and a bad value gives one line naming the field.

- ``loader``: bounded YAML (``yaml.safe_load`` semantics, no aliases, size and node limits).
- ``files``: a spec file and the files it ``include:``s, merged; ``load_spec``.
- ``catalog``: the shipped benchmark specs by name (``harness run cifake_fgsm``).
- ``schema``: the walker that parses a mapping into any spec dataclass from its fields.
- ``checks``: the value checks the fields name (``integer(1)``, ``fraction(0, 0.9)``, ...).
- ``sections``, ``components``, ``gridspec``, ``document``: the dataclasses, one declaration
  per field (type, default, check); ``document`` holds ``Spec`` and ``parse_spec``.

``--set key=value`` overrides belong to the command line (``harness.overrides``).
"""

from harness.spec.checks import MAX_IMAGE_SIZE, MAX_NAME, MAX_SEED, MAX_THREADS, parse_float
from harness.spec.components import AttackSpec, DefenceSpec
from harness.spec.document import SPEC_VERSION, Spec, parse_spec, stable_hash
from harness.spec.files import DEFAULT_SPEC, SpecFile, load_spec, merge, read_spec
from harness.spec.gridspec import GridModel, GridSpec
from harness.spec.loader import (
    MAX_SPEC_BYTES,
    MAX_YAML_DEPTH,
    MAX_YAML_NODES,
    SpecLoader,
    load_yaml,
    read_spec_text,
    yaml_problem,
)
from harness.spec.schema import identity
from harness.spec.sections import (
    AUGMENTS,
    KEEPS,
    OPTIMIZERS,
    SCHEDULES,
    DataSpec,
    EvasionSpec,
    GradcamSpec,
    ModelSpec,
    Reference,
    ReferenceRow,
    TrainSpec,
)

__all__ = [
    "AUGMENTS",
    "DEFAULT_SPEC",
    "KEEPS",
    "MAX_IMAGE_SIZE",
    "MAX_NAME",
    "MAX_SEED",
    "MAX_SPEC_BYTES",
    "MAX_THREADS",
    "MAX_YAML_DEPTH",
    "MAX_YAML_NODES",
    "OPTIMIZERS",
    "SCHEDULES",
    "SPEC_VERSION",
    "AttackSpec",
    "DataSpec",
    "DefenceSpec",
    "EvasionSpec",
    "GradcamSpec",
    "GridModel",
    "GridSpec",
    "ModelSpec",
    "Reference",
    "ReferenceRow",
    "Spec",
    "SpecFile",
    "SpecLoader",
    "TrainSpec",
    "identity",
    "load_spec",
    "load_yaml",
    "merge",
    "parse_float",
    "parse_spec",
    "read_spec",
    "read_spec_text",
    "stable_hash",
    "yaml_problem",
]
