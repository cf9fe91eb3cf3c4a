"""Every notebook executes in quick mode, and renders its plots.

The notebooks are jupytext percent scripts (``notebooks/NN_*.py``, the source of truth).
Each one is converted with jupytext and executed with nbclient in a fresh kernel
(``ASYNCNIGT_NOTEBOOK_QUICK=1``, a timeout per cell); a cell that raises, including a
failed ``assert`` cell, fails the test. The executed notebook and its PNG plots are
written to pytest's temporary directory, or to ``$ASYNCNIGT_NOTEBOOK_OUT`` when set
(e.g. to look at the plots), never into the repository.
"""

from __future__ import annotations

import base64
import os
import time
from pathlib import Path

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
CELL_TIMEOUT = 300  # seconds per cell; each whole notebook takes well under 2 min quick


def test_there_are_notebooks():
    assert [p.stem[:2] for p in NOTEBOOKS] == ["01", "02", "03"]


def save_images(nb, out: Path, stem: str) -> list[Path]:
    """Write every image/png output of ``nb`` to ``out/<stem>-<k>.png``."""
    paths = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "image/png" in data:
                path = out / f"{stem}-{len(paths) + 1}.png"
                path.write_bytes(base64.b64decode(data["image/png"]))
                paths.append(path)
    return paths


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_in_quick_mode(path, tmp_path, monkeypatch):
    out = Path(os.environ.get("ASYNCNIGT_NOTEBOOK_OUT") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    work = tmp_path / "cwd"  # the kernel's working directory: anything a notebook writes
    work.mkdir()
    monkeypatch.setenv("ASYNCNIGT_NOTEBOOK_QUICK", "1")
    monkeypatch.delenv("ASYNCNIGT_PAPER_RUNS", raising=False)  # run, do not read
    nb = jupytext.read(path)
    assert any("parameters" in c.get("metadata", {}).get("tags", []) for c in nb.cells), \
        "a cell tagged 'parameters' holds the notebook's parameters"
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(work)}})
    start = time.perf_counter()
    try:
        client.execute()
    finally:
        nbformat.write(nb, out / f"{path.stem}.ipynb")
    seconds = time.perf_counter() - start
    images = save_images(nb, out, path.stem)
    print(f"{path.name}: {seconds:.1f} s, {len(images)} plots in {out}")
    assert images, "the notebook renders its plots"
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
