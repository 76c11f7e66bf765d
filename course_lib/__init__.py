"""course_lib: the companion library of *Conditioned music generation, hands-on*.

The names notebooks use most are here; each idea lives in its own module
(``course_lib.encoding``, ``course_lib.corpus``, ...), imported on first use.
"""

import importlib
import pkgutil

from .encoding import PerformanceEncoding
from .midi import MidiError, read_midi, write_midi
from .performance import Performance

__version__ = "0.1.0"

__all__ = ["Performance", "PerformanceEncoding", "MidiError", "read_midi", "write_midi", "__version__"]

# Every public module of the package (widgets, grading, workshop, windows, ...), read from the
# folder itself so that a new module can never be missing here.
_MODULES = {m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")}


def __getattr__(name: str):
    # `course_lib.plots` etc. without importing matplotlib/torch/music21 up front.
    if name in _MODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'course_lib' has no attribute {name!r}")
