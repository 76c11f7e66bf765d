"""Execute notebooks in place so their stored outputs are fresh (nbval compares the
cells marked `# NBVAL_CHECK_OUTPUT` against them).

    python tools/run_notebooks.py notebooks/01_event_encoding.ipynb solutions/01_*.ipynb
"""

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

if __name__ == "__main__":
    for name in sys.argv[1:]:
        path = Path(name)
        nb = nbformat.read(path, as_version=4)
        t = time.perf_counter()
        NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
        for cell in nb.cells:
            cell.get("metadata", {}).pop("execution", None)
            # Audio players embed the whole WAV: drop them from the stored notebook (the
            # learner's run makes them again) so the repository stays small.
            if cell.cell_type == "code":
                cell.outputs = [o for o in cell.outputs if "<audio" not in str(o.get("data", {}).get("text/html", ""))]
        nbformat.write(nb, path)
        print(f"{path}: ran in {time.perf_counter() - t:.1f} s")
