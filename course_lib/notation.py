"""Sheet music in a notebook: music21 streams and score files engraved by verovio, offline.

music21 reads the score (a stream you built, or a MusicXML / ABC / Humdrum / MIDI
file) and writes MusicXML; verovio engraves that MusicXML as SVG, which a notebook
shows inline. Both run locally, so this works on Binder without a network.

Notebook: notebooks/01_event_encoding.ipynb (what quantisation does to a score),
notebooks/06_rag_jaccard.ipynb (the retrieved tunes)
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["score_svg", "show_score"]


def _describe(source) -> str:
    return (
        f"file {source}"
        if isinstance(source, (str, os.PathLike)) and "\n" not in str(source)
        else "the score"
    )


def _load(source):
    """A music21 stream from a stream, a file path, or score text (ABC, MusicXML, Humdrum)."""
    import music21

    if isinstance(source, music21.stream.Stream):
        return source
    if isinstance(source, str) and "\n" in source:  # score text rather than a file name
        try:
            return music21.converter.parse(source)
        except Exception as err:
            raise ValueError(f"cannot render the score text: music21 could not parse it ({err})") from err
    if not isinstance(source, (str, os.PathLike)):
        raise ValueError(
            f"cannot render an object of type {type(source).__name__}: give a music21 stream, a path to a "
            "MusicXML/ABC/Humdrum/MIDI file, or score text"
        )
    path = Path(source)
    if not path.is_file():
        why = "it is a folder" if path.is_dir() else "no such file"
        raise ValueError(f"cannot render file {path}: {why}")
    try:
        return music21.converter.parse(path)
    except Exception as err:
        raise ValueError(
            f"cannot render file {path}: music21 could not parse it ({type(err).__name__}: {err}); "
            "expected MusicXML (.musicxml/.xml/.mxl), ABC (.abc), Humdrum (.krn) or MIDI (.mid)"
        ) from err


def _first_measures(score, measures: int):
    """The first ``measures`` bars (a stream without bars gets them from its time signature)."""
    import music21

    if not score.recurse().getElementsByClass(music21.stream.Measure):
        score = score.makeNotation()
    return score.measures(1, measures)


def score_svg(source, *, page_width: int = 2100, measures: int | None = None, scale: int = 40) -> str:
    """Engrave a score and return the SVG text of its first page.

    Notebook: notebooks/01_event_encoding.ipynb

    Args:
        source: a music21 stream, a path to a MusicXML/ABC/Humdrum/MIDI file, or the
            text of such a score. A file with several pieces (an ABC tune book) shows
            its first piece.
        page_width: verovio page width in its units (tenths of a millimetre at scale 100).
        measures: engrave only the first ``measures`` bars.
        scale: verovio zoom in percent (40 gives a ~840 px wide page at the default width).

    Returns:
        The SVG document as a string.

    Raises:
        ValueError: the source cannot be read or engraved (the message says which and why).
    """
    import music21
    import verovio
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    what = _describe(source)
    score = _load(source)
    if isinstance(score, music21.stream.Opus):
        if not score.scores:
            raise ValueError(f"cannot render {what}: it holds no pieces")
        score = score.scores[0]
    if measures is not None:
        if measures < 1:
            raise ValueError(f"measures must be >= 1, got {measures}")
        score = _first_measures(score, int(measures))
    if not score.recurse().notesAndRests:
        raise ValueError(f"cannot render {what}: it has no notes or rests")
    try:
        xml = GeneralObjectExporter(score).parse().decode("utf-8")
    except Exception as err:
        raise ValueError(f"cannot render {what}: music21 could not write MusicXML ({err})") from err

    verovio.enableLog(verovio.LOG_ERROR)  # no warnings about the engraving on stderr
    toolkit = verovio.toolkit()
    toolkit.setOptions(
        {
            "pageWidth": int(page_width),
            "scale": int(scale),
            "adjustPageHeight": True,
            "header": "none",
            "footer": "none",
        }
    )
    if not toolkit.loadData(xml) or toolkit.getPageCount() < 1:
        raise ValueError(f"cannot render {what}: verovio could not read the MusicXML music21 wrote")
    return toolkit.renderToSVG(1)


def show_score(source, **kwargs):
    """Show a score inline in a notebook.

    Notebook: notebooks/01_event_encoding.ipynb

    Args:
        source: see :func:`score_svg`.
        **kwargs: ``page_width``, ``measures``, ``scale``: see :func:`score_svg`.

    Returns:
        An ``IPython.display.SVG`` object (the notebook displays it).
    """
    from IPython.display import SVG

    return SVG(data=score_svg(source, **kwargs))
