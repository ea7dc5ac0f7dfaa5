"""What a file given as a checkpoint plainly is, from its first bytes, before torch reads it.

Apart from ``harness.checkpoints`` (which reads weights with torch) so that validating a spec
that names a checkpoint (a zoo model's) imports no torch: an HTML page saved by a failed
download, a Git LFS pointer or a text file is one line before anything heavy is loaded.
"""

from __future__ import annotations

from pathlib import Path

from harness.errors import HarnessError

# How a file that is not a checkpoint starts, and what it is: zoo downloads that fail save a
# web page (e.g. a confirmation page) or a Git LFS pointer under the checkpoint's name
_NOT_CHECKPOINTS = (
    (b"<!doctype html", "an HTML page, not a checkpoint (a download that saved a web page)"),
    (b"<html", "an HTML page, not a checkpoint (a download that saved a web page)"),
    (b"<", "an XML/HTML document, not a checkpoint"),
    (b"version https://git-lfs", "a Git LFS pointer, not the checkpoint (run 'git lfs pull')"),
    (b"{", "a JSON text, not a checkpoint"),
    (b"\x93numpy", "a NumPy .npy array, not a checkpoint (save a state_dict with torch.save)"),
)
ZIP, PICKLE = b"pk\x03\x04", b"\x80"  # how torch.save's files start (lower-cased: see below)
PICKLE_PROTOCOLS = range(2, 6)  # the byte after PICKLE: torch.save writes 2, pickle.dumps 4 or 5
SAFETENSORS = ".safetensors"  # a JSON header after its length: read by safetensors, not torch


def not_a_checkpoint(path: Path) -> str:
    """What ``path`` plainly is when it is no checkpoint (empty, a web page, text, binary data
    in no checkpoint's format); "" else."""
    with open(path, "rb") as f:
        head = f.read(256).lstrip().lower()
    if not head:
        return "an empty file, not a checkpoint"
    what = next((w for start, w in _NOT_CHECKPOINTS if head.startswith(start)), "")
    if not what and not _torch_file(head):
        if _is_text(head):
            what = "a text file, not a checkpoint"
        elif path.suffix != SAFETENSORS:
            what = "binary data in no checkpoint format (neither a PyTorch zip nor a pickle)"
    return f"{what}, {path.stat().st_size:,} bytes" if what else ""


def _torch_file(head: bytes) -> bool:
    """Whether ``head`` starts as torch.save's files do: a zip archive or a pickle."""
    pickled = head.startswith(PICKLE) and len(head) > 1 and head[1] in PICKLE_PROTOCOLS
    return head.startswith(ZIP) or pickled


def _is_text(head: bytes) -> bool:
    """UTF-8 text without control characters other than whitespace (a YAML, a log, a CSV)."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:  # possibly a multi-byte character cut at 256 bytes
        text = head[:-4].decode("utf-8", errors="replace")
        if "\ufffd" in text:
            return False
    return all(c.isprintable() or c in "\t\n\r" for c in text)


def refuse_non_checkpoint(path: Path, field: str) -> None:
    """One line when ``path`` is plainly not a checkpoint (``not_a_checkpoint``)."""
    what = not_a_checkpoint(path)
    if what:
        raise HarnessError(f"{field}: {path} is not a readable state_dict: it is {what}")
