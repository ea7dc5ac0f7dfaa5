"""The README and the documentation: a short README that starts with the two commands, a docs
site that builds without a warning, a generated reference that matches the code, and no machine
paths, issue numbers or measurement logistics in anything a user reads."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import yaml

from harness import reference
from harness.cli import _parser

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
USER_TEXT = [REPO / "README.md", *sorted(DOCS.glob("*.md"))]
# what belongs in a closing note, not in user docs: this machine's own folders (the one the
# checkout sits in, the home folder), a user's home or a test's temporary path, measurement
# logistics and issue or session numbers
OWN = [p for p in (REPO.parent, Path.home()) if p != Path(p.anchor)]  # "/" would match any path
LOGISTICS = (
    r"/home/\w",
    "/tmp/pytest",
    "load average",
    r"\bissues? #?\d+",
    r"\bsession \d+",
    r"#\d{2,}\b",
)
NOT_FOR_USERS = re.compile(
    "|".join([*(re.escape(f"{p.as_posix()}/") for p in OWN), *LOGISTICS]), re.IGNORECASE
)


def test_the_readme_is_short_and_starts_with_the_two_commands() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) < 250
    first_block = re.search(r"```bash\n(.*?)```", text, re.S).group(1).splitlines()
    assert [line.split()[:2] for line in first_block] == [["make", "run"], ["make", "test"]]
    for link in re.findall(r"\]\((docs/[^)#]+)", text):
        assert (REPO / link).is_file(), link


def test_user_docs_name_no_machine_path_issue_or_load() -> None:
    found = [
        f"{p.name}:{i}: {line.strip()}"
        for p in USER_TEXT
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if NOT_FOR_USERS.search(line)
    ]
    assert not found, found


def test_every_page_is_in_the_site_and_the_site_builds_without_a_warning(tmp_path) -> None:
    config = yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8"))

    def pages(nav: list) -> list[str]:
        out = []
        for item in nav:
            (value,) = item.values()
            out += pages(value) if isinstance(value, list) else [value]
        return out

    assert sorted(pages(config["nav"])) == sorted(p.name for p in DOCS.glob("*.md"))
    assert importlib.util.find_spec("mkdocs"), "mkdocs is missing: the test extra installs it"
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(tmp_path / "site")],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    assert (tmp_path / "site" / "gate" / "index.html").is_file()


def test_the_reference_page_is_what_the_code_generates() -> None:
    """The spec keys exactly; every command and option of the parser (argparse's layout varies
    between Python versions, so the help text itself is compared option by option)."""
    page = (DOCS / "reference.md").read_text(encoding="utf-8")
    fresh = reference.render()
    assert page.split("## Spec keys")[1] == fresh.split("## Spec keys")[1], (
        "docs/reference.md is stale: python -m harness.reference"
    )
    parser = _parser()
    for name, sub in reference._subcommands(parser).items():
        assert f"### harness {name}" in page
        for action in sub._actions:
            for option in action.option_strings:
                assert option in page.split(f"### harness {name}")[1].split("###")[0], option


def _row(page: str, check: str) -> str:
    rows = [line for line in page.splitlines() if line.startswith(f"| `{check}` |")]
    assert len(rows) == 1, check
    return rows[0]


def test_the_trust_page_has_every_check_with_the_codes_thresholds() -> None:
    from harness import masking, overfitting, probe_checks, sanity

    page = (DOCS / "trust.md").read_text()
    assert set(re.findall(r"^\| `(\w+)` \|", page, re.MULTILINE)) == set(sanity.NAMES)
    for name, tol in [
        (sanity.ITERATIVE, sanity.ITERATIVE_TOL),
        (sanity.EFFORT, sanity.EFFORT_TOL),
        (sanity.BLACK_BOX, sanity.BLACK_BOX_TOL),
        (sanity.OVERFITTING, overfitting.DROP_TOL),
    ]:
        cells = _row(page, name).split(" | ")[-3:]  # PASS, WARN, FAIL
        assert f"{100 * tol[0]:g} pp" in cells[0] and f"{100 * tol[1]:g} pp" in cells[1], name
        assert f"{100 * tol[1]:g} pp" in cells[2], name
    assert f"rises by at most {100 * sanity.MONOTONE_TOL[1]:g} pp" in _row(page, sanity.MONOTONE)
    assert f"chance + {100 * probe_checks.CHANCE_MARGIN:g} pp" in _row(page, sanity.UNBOUNDED)
    assert f"{probe_checks.TRAINED_SD:g} binomial SD" in _row(page, sanity.TRAINED)
    masked = _row(page, sanity.BLACK_BOX_SAMPLES)
    assert (
        f"{100 * masking.TOL[0]:g}% of samples" in masked and f"{100 * masking.TOL[1]:g}%" in masked
    )
    healthy = _row(page, sanity.GRADIENTS)
    tol = probe_checks.GRADIENT_TOL
    assert f"at most {100 * tol[0]:g}%" in healthy and f"at most {100 * tol[1]:g}%" in healthy
