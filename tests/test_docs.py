"""The Python blocks of the docs pages that promise to run as written do run."""
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
RUNNABLE = ["autograd.md"]
BLOCKS = [(page, i, source) for page in RUNNABLE
          for i, source in enumerate(re.findall(r"```python\n(.*?)```",
                                                (DOCS / page).read_text(), flags=re.S))]


@pytest.mark.parametrize("page, index, source", BLOCKS,
                         ids=[f"{page}-{i}" for page, i, _ in BLOCKS])
def test_docs_example_runs(page, index, source, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    exec(compile(source, f"{page} block {index}", "exec"), {"__name__": "__docs__"})
    assert capsys.readouterr().err == ""


def test_every_image_a_page_shows_exists():
    for page in DOCS.glob("*.md"):
        for image in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", page.read_text()):
            assert (page.parent / image).exists(), f"{page.name} shows a missing {image}"
