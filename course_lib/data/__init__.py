"""The package's data folder: composer tables (csv), the shipped corpus cache (corpus/),
pretrained checkpoints and their registry (checkpoints/), the exercise notebooks (exercises/).

It is also the old home of the training windows: ``course_lib.data.EventWindows`` is
:class:`course_lib.windows.EventWindows`, imported on first use so that reading a file here
does not load torch.

Notebook: notebooks/02_teacher_forcing.ipynb
"""

__all__ = ["EventWindows"]


def __getattr__(name: str):
    if name == "EventWindows":
        from ..windows import EventWindows

        return EventWindows
    raise AttributeError(f"module 'course_lib.data' has no attribute {name!r}")
