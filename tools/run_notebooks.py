"""Execute notebooks in place so their stored outputs are fresh (nbval compares the
cells marked `# NBVAL_CHECK_OUTPUT` against them).

    python tools/run_notebooks.py notebooks/01_event_encoding.ipynb solutions/01_*.ipynb
"""

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from notebook_audio import compact_outputs

if __name__ == "__main__":
    for name in sys.argv[1:]:
        path = Path(name)
        nb = nbformat.read(path, as_version=4)
        t = time.perf_counter()
        NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
        for cell in nb.cells:
            cell.get("metadata", {}).pop("execution", None)
        # Players embed the whole WAV: keep them as 48 kbit/s MP3 so the repository stays small
        # and GitHub and the book still play them (tools/notebook_audio.py).
        compact_outputs(nb)
        nbformat.write(nb, path)
        print(f"{path}: ran in {time.perf_counter() - t:.1f} s")
