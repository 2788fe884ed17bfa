"""docs/reliability.md cannot rot: every test it names exists, every catalogue case is listed,
and its counts match its rows."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PAGE = REPO / "docs" / "reliability.md"
TEST_ID = re.compile(r"`(tests/[\w/]+\.py::[\w]+(?:\[[\w.-]+\])?)`")
OUTCOMES = ("refused", "warned", "accepted", "survived")


def sections() -> dict[str, list[list[str]]]:
    """Table rows (cells) under each ``## `` heading of the page."""
    found: dict[str, list[list[str]]] = {}
    heading = ""
    for line in PAGE.read_text().splitlines():
        if line.startswith("## "):
            heading = line[3:].strip()
        elif line.startswith("| ") and not line.startswith(("| Case", "| ---")):
            found.setdefault(heading, []).append([c.strip() for c in line.strip("|").split(" | ")])
    return found


def collected(files: set[str]) -> set[str]:
    """The node ids pytest collects from ``files``."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *files],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return {line.strip() for line in done.stdout.splitlines() if "::" in line}


def test_every_test_the_page_names_exists() -> None:
    named = set(TEST_ID.findall(PAGE.read_text()))
    assert len(named) > 40
    files = {n.split("::")[0] for n in named}
    missing_files = [f for f in files if not (REPO / f).is_file()]
    assert not missing_files
    ids = collected(files)
    # a row may name a parametrised test as a whole
    bases = {i.split("[")[0] for i in ids}
    missing = sorted(n for n in named if n not in ids and n not in bases)
    assert not missing, f"docs/reliability.md names tests that do not exist: {missing}"


def test_every_row_names_a_test_and_an_outcome() -> None:
    for heading, rows in sections().items():
        for cells in rows:
            assert len(cells) == 4, (heading, cells)
            assert cells[1] in OUTCOMES, (heading, cells)
            assert TEST_ID.fullmatch(cells[3]), (heading, cells)


def test_every_catalogue_case_is_on_the_page() -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    try:
        from test_reliability import CASES
    finally:
        sys.path.pop(0)
    text = PAGE.read_text()
    absent = [
        case.id
        for case in CASES
        if f"test_reliability.py::test_bad_input_is_refused_before_work[{case.id}]`" not in text
    ]
    assert not absent, f"catalogue cases missing from docs/reliability.md: {absent}"


@pytest.mark.parametrize(
    "heading", ["", "Bad input", "Faults", "Plugins"], ids=["all", "inputs", "faults", "plugins"]
)
def test_the_counts_match_the_rows(heading: str) -> None:
    found = sections()
    rows = found[heading] if heading else [row for part in found.values() for row in part]
    outcomes = Counter(cells[1] for cells in rows)
    page = PAGE.read_text()
    text = page.split(f"## {heading}")[1].split("\n## ")[0] if heading else page
    line = next(line for line in text.splitlines() if line.startswith("Counts: "))
    stated = {word: int(n) for n, word in re.findall(r"(\d+) (\w+)", line)}
    assert stated.pop("tried") == len(rows), line
    assert stated == {k: v for k, v in outcomes.items()}, line


def test_the_page_is_linked() -> None:
    assert "reliability.md" in (REPO / "mkdocs.yml").read_text()
    assert "(reliability.md)" in (REPO / "docs" / "index.md").read_text()
