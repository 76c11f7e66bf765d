"""course_lib: the companion library of *Conditioned music generation, hands-on*."""

__version__ = "0.1.0"
