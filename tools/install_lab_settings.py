"""Install the course's JupyterLab settings (lab/overrides.json) into this environment.

JupyterLab 4.6 with ipykernel 7 runs widget callbacks on a separate kernel thread ("comms
over subshells"); matplotlib figures drawn there came out blank in most clicks. The course
turns that off. Settings already in the environment's overrides.json are kept.

    python tools/install_lab_settings.py      # make setup and Binder's postBuild run this
"""

import json
import sys
from pathlib import Path

SOURCE = Path(__file__).resolve().parent.parent / "lab" / "overrides.json"


def install(prefix: Path = Path(sys.prefix)) -> Path:
    target = prefix / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    settings = json.loads(target.read_text()) if target.exists() else {}
    for plugin, values in json.loads(SOURCE.read_text()).items():
        settings.setdefault(plugin, {}).update(values)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(settings, indent=2) + "\n")
    return target


if __name__ == "__main__":
    print(f"JupyterLab settings → {install()}")
