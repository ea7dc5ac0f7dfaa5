"""Bad model builders (``model: {builder: file.py:function}``) and networks that do not fit the
data: each fails on one real batch, before any training or cached model."""

from __future__ import annotations

from bad_inputs import Case, spec, with_files

DATA = "dataset: {name: digits, n_test: 60}\n"


def builder(body: str, fn: str = "build", extra: str = "") -> object:
    """A builder file ``mynet.py`` with ``body`` (torch's nn imported) named by the spec."""
    text = DATA + f"model: {{builder: '{{tmp}}/mynet.py:{fn}', train: {{epochs: 1}}{extra}}}\n"
    return with_files({"mynet.py": "from torch import nn\n" + body}, text)


LINEAR = "def build(num_classes):\n    return nn.Sequential(nn.Flatten(), nn.Linear({}, {}))\n"
TUPLE = (
    "class Two(nn.Module):\n    def forward(self, x):\n        return x, x\n"
    "def build(num_classes):\n    return Two()\n"
)
FORWARD_RAISES = (
    "class Bad(nn.Module):\n    def forward(self, x):\n        raise KeyError('head')\n"
    "def build(num_classes):\n    return Bad()\n"
)


def arch(name: str) -> str:
    return DATA + f"model: {{arch: {name}, train: {{epochs: 1}}}}\n"


CASES = [
    Case(
        "builder_file_missing",
        spec(DATA + "model: {builder: 'nowhere/mynet.py:build'}\n"),
        "mynet.py does not exist",
    ),
    Case(
        "builder_not_file_colon_function",
        spec(DATA + "model: {builder: mynet.build}\n"),
        "model.builder: expected 'path/to/file.py:function'",
    ),
    Case("builder_no_such_function", builder("def other():\n    pass\n"), "no function 'build'"),
    Case("builder_not_callable", builder("build = 3\n"), "no function 'build'"),
    Case("builder_syntax_error", builder("def build(:\n"), "SyntaxError"),
    Case(
        "builder_import_raises", builder("raise RuntimeError('boom at import')\n"), "boom at import"
    ),
    Case("builder_import_exits", builder("import sys\nsys.exit(3)\n"), "SystemExit"),
    Case(
        "builder_raises_when_called",
        builder("def build(num_classes):\n    raise ValueError('no such depth')\n"),
        "mynet.py:build raised ValueError: no such depth",
    ),
    Case(
        "builder_unknown_parameter",
        builder("def build(depth):\n    return nn.Linear(64, 10)\n"),
        "mynet.py:build raised TypeError",
    ),
    Case(
        "builder_returns_none",
        builder("def build(num_classes):\n    pass\n"),
        "returned NoneType, expected an nn.Module",
    ),
    Case(
        "builder_returns_a_class",
        builder("def build(num_classes):\n    return nn.Linear\n"),
        "returned type, expected an nn.Module",
    ),
    Case(
        "builder_wrong_number_of_classes",
        builder(LINEAR.format(64, 5)),
        "outputs (2, 5) for a batch of shape (2, 1, 8, 8); expected a tensor of shape (2, 10)",
    ),
    Case(
        "builder_wrong_classes_with_weights",
        builder(LINEAR.format(64, 5), extra=", weights: '{tmp}/absent.pt'"),
        "expected a tensor of shape (2, 10)",
    ),
    Case(
        "builder_rejects_input_size",
        builder(LINEAR.format(100, "num_classes")),
        "rejects a batch of shape (2, 1, 8, 8) from the dataset (RuntimeError: mat1",
    ),
    Case("builder_outputs_a_tuple", builder(TUPLE), "outputs tuple for a batch"),
    Case("builder_forward_raises", builder(FORWARD_RAISES), "rejects a batch of shape"),
    Case(
        "arch_expects_other_input",
        spec(arch("spatial_baseline_cnn")),
        "model.arch: spatial_baseline_cnn expects inputs of shape 3x32x32",
    ),
    Case(
        "defence_arch_expects_other_input",
        spec(
            arch("small_cnn") + "defence: {name: adversarial_training, "
            "arch: spatial_baseline_cnn}\n"
        ),
        "defence.arch: spatial_baseline_cnn expects",
    ),
]
