"""Bad weights files (``model.weights``): refused in one line naming the file, nothing trained."""

from __future__ import annotations

import io
import json
import os
import pickle

import torch

from bad_inputs import Case, with_files
from harness.architectures import ARCHITECTURES, wrap

SPEC = "dataset: {name: digits, n_test: 60}\nmodel: {arch: small_cnn, weights: '{tmp}/w.pt'}\n"


def saved(obj: object) -> bytes:
    out = io.BytesIO()
    torch.save(obj, out)
    return out.getvalue()


def state(classes: int = 10, **changes: float) -> dict[str, torch.Tensor]:
    """small_cnn's wrapped state dict for 8x8 digits, with ``{key: value}`` put in one entry."""
    torch.manual_seed(0)
    net = wrap(ARCHITECTURES.get("small_cnn").build((1, 8, 8), classes), (0.5,), (0.5,), 1)
    out = net.state_dict()
    for key, value in changes.items():
        out[key.replace("__", ".")].view(-1)[3] = value
    return out


class Payload:
    """Unpickling this would run code (it touches a file); ``weights_only=True`` refuses it."""

    def __reduce__(self) -> tuple:
        return os.system, ("touch pwned",)


GOOD = saved(state())
META_OTHER = json.dumps({"sha256": "0" * 64, "key": "x"})


def weights(content: bytes | str, extra: dict[str, bytes | str] | None = None) -> object:
    return with_files({"w.pt": content} | (extra or {}), SPEC)


CASES = [
    Case("weights_missing", with_files({}, SPEC), "w.pt does not exist"),
    Case("weights_is_a_folder", with_files({"w.pt/x": "x"}, SPEC), "w.pt is a folder"),
    Case("weights_garbage", weights(b"\x00\x01garbage"), "w.pt is not a readable state_dict"),
    Case("weights_empty_file", weights(b""), "w.pt is not a readable state_dict"),
    Case(
        "weights_html_page_saved_as_pt",
        weights("<!DOCTYPE html><html><body>Sign in to download</body></html>"),
        "w.pt is not a readable state_dict",
    ),
    Case("weights_truncated", weights(GOOD[: len(GOOD) // 2]), "w.pt is not a readable"),
    Case("weights_plain_pickle", weights(pickle.dumps({"a": 1})), "w.pt is not a readable"),
    Case(
        "weights_pickle_with_code",
        weights(saved(Payload())),
        "w.pt is not a readable state_dict (it holds Python objects besides tensors, refused",
    ),
    Case("weights_a_tensor", weights(saved(torch.zeros(3))), "w.pt holds a Tensor"),
    Case("weights_a_list", weights(saved([torch.zeros(3)])), "w.pt holds a list"),
    Case(
        "weights_wrong_keys",
        weights(saved({"layer.weight": torch.zeros(3)})),
        "w.pt does not fit the model",
    ),
    Case("weights_wrong_shapes", weights(saved(state(classes=3))), "w.pt does not fit the model"),
    Case(
        "weights_nan",
        weights(saved(state(net__features__3__weight=float("nan")))),
        "w.pt has non-finite values (NaN or inf) in 'net.features.3.weight'",
    ),
    Case(
        "weights_inf",
        weights(saved(state(net__classifier__3__bias=float("-inf")))),
        "in 'net.classifier.3.bias'",
    ),
    Case(
        "weights_nan_in_checkpoint_layout",
        weights(saved({"epoch": 3, "state_dict": state(net__features__0__bias=float("nan"))})),
        "in 'net.features.0.bias'",
    ),
    Case(
        "weights_hash_mismatch",
        weights(GOOD, {"w.json": META_OTHER}),
        "w.pt does not match the SHA-256 recorded in w.json",
    ),
]
