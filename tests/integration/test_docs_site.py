"""The docs build offline and strictly: a broken reference fails the build."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXTERNAL_ASSET = re.compile(r'<(?:link|script|img)[^>]+(?:href|src)="(https?://[^"]+)"')

pytest.importorskip("mkdocs", reason="the docs extra (mkdocs) is not installed")
pytest.importorskip("mkdocstrings", reason="the docs extra (mkdocstrings) is not installed")


def mkdocs_build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
        cwd=ROOT,  # the config's paths (snippets, mkdocstrings) are relative to the repo root
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},  # mute mkdocs-material's banner
    )


def test_docs_build_strictly_without_network_assets(tmp_path: Path) -> None:
    done = mkdocs_build(ROOT / "mkdocs.yml", tmp_path / "site")
    assert done.returncode == 0, done.stderr[-4000:]
    pages = list((tmp_path / "site").rglob("*.html"))
    assert len(pages) > 10
    for page in pages:
        external = EXTERNAL_ASSET.findall(page.read_text(encoding="utf-8"))
        assert not external, f"{page} loads {external}: the docs must render offline"
    hooks = (tmp_path / "site" / "plugins" / "hooks" / "index.html").read_text(encoding="utf-8")
    assert "vamoh_modalities" in hooks and "vamoh_trainer_settings" in hooks


def test_a_broken_reference_fails_the_build(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text(
        "# Broken\n\nSee [the missing function][vamoh.does_not_exist] and [a page](absent.md).\n"
    )
    config = tmp_path / "mkdocs.yml"
    config.write_text(
        f"INHERIT: {ROOT / 'mkdocs.yml'}\ndocs_dir: {docs}\nnav:\n  - Broken: index.md\n"
    )
    done = mkdocs_build(config, tmp_path / "site")
    assert done.returncode != 0
    assert "vamoh.does_not_exist" in done.stderr
    assert "absent.md" in done.stderr


def test_the_docs_griffe_extension_examples_run() -> None:
    import doctest
    import importlib.util

    path = ROOT / "docs" / "_griffe" / "example_sections.py"
    spec = importlib.util.spec_from_file_location("example_sections", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
