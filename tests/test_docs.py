"""Every ```python block of README.md and docs/**/*.md runs.

The convention (a small runner rather than pytest-markdown-docs, so the rules are the few lines
below and need no plugin): a page's ```python blocks run in order, in one fresh namespace per
page, so a block may use what earlier blocks of its page defined; the current directory is a
fresh temporary folder; nothing may be written to stderr. Shell commands go in ```bash or
```console blocks, output and pseudo-code in ```text; those are not run.
"""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", flags=re.S | re.M)


def blocks(page: Path) -> list[tuple[int, str]]:
    """The page's ```python blocks, each with the line it starts on."""
    text = page.read_text(encoding="utf-8")
    return [(text.count("\n", 0, match.start()) + 2, match.group(1))
            for match in BLOCK.finditer(text)]


RUNNABLE = [page for page in PAGES if blocks(page)]


@pytest.mark.parametrize("page", RUNNABLE, ids=[str(p.relative_to(ROOT)) for p in RUNNABLE])
def test_every_python_block_of_the_page_runs_in_order(page, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__docs__"}
    for line, source in blocks(page):
        name = f"{page.relative_to(ROOT)}, block at line {line}"
        exec(compile(source, name, "exec"), namespace)
        assert capsys.readouterr().err == "", f"{name} wrote to stderr"


def test_the_runner_finds_the_pages_with_code():
    names = {str(page.relative_to(ROOT)) for page in RUNNABLE}
    assert {"README.md", "docs/autograd.md", "docs/visualization.md"} <= names


def test_every_image_a_page_shows_exists():
    for page in PAGES:
        for image in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", page.read_text(encoding="utf-8")):
            if not image.startswith(("http://", "https://")):
                assert (page.parent / image).exists(), f"{page.name} shows a missing {image}"
