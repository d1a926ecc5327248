"""The notebooks in docs/notebooks run top to bottom without an error, and their stored outputs
are the ones a run produces (so what a code host displays is what the code does)."""
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from tinygrad_dropbn.visualization import render  # noqa: E402

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "docs" / "notebooks").glob("*.ipynb"))


def test_the_learners_notebooks_are_there():
    assert {path.name for path in NOTEBOOKS} >= {"backprop-from-scratch.ipynb",
                                                 "dropout-and-batchnorm.ipynb"}


def stored_outputs(notebook) -> list:
    """Each code cell's output kinds (the stored text, for printed output)."""
    kinds = []
    for cell in notebook.cells:
        if cell.cell_type == "code":
            kinds.append([(o.output_type, tuple(sorted(o.get("data", {}))))
                          for o in cell.outputs])
    return kinds


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path, tmp_path):
    if not render.find_renderers():
        pytest.skip("the notebooks draw graphs inline, which needs a Graphviz renderer")
    stored = nbformat.read(path, as_version=4)
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    errors = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs
              if o.output_type == "error" or o.get("name") == "stderr"]
    assert not errors, errors
    assert stored_outputs(notebook) == stored_outputs(stored), "re-run and save the notebook"
    assert all(cell.outputs for cell in stored.cells if cell.cell_type == "code")
