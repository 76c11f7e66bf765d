import os

os.environ.setdefault("MPLBACKEND", "Agg")
import music21
import pytest

from course_lib import notation


def _tiny():
    """Four quarter notes and a half note: two bars of 4/4 once barred."""
    return music21.stream.Stream(
        [music21.note.Note(p) for p in ("C4", "D4", "E4", "F4")] + [music21.note.Note("G4", quarterLength=2)]
    )


def _noteheads(svg: str) -> int:
    return svg.count('class="notehead"')


def test_score_svg_of_a_stream():
    svg = notation.score_svg(_tiny())
    assert svg.lstrip().startswith("<svg")
    assert _noteheads(svg) == 5


def test_score_svg_first_measures():
    assert _noteheads(notation.score_svg(_tiny(), measures=1)) == 4


def test_score_svg_of_files(tmp_path):
    path = tmp_path / "tiny.musicxml"
    _tiny().write("musicxml", fp=path)
    assert _noteheads(notation.score_svg(path)) == 5
    abc = tmp_path / "tune.abc"
    abc.write_text("X:1\nT:tune\nM:6/8\nL:1/8\nK:D\nABc def|gfe dcB|\n")
    assert _noteheads(notation.score_svg(str(abc))) == 12


def test_score_svg_of_abc_text():
    assert _noteheads(notation.score_svg("X:1\nT:t\nM:4/4\nL:1/4\nK:C\nCDEF|G4|\n")) == 5


def test_score_svg_of_a_corpus_chorale():
    chorale = music21.corpus.getWork("bach/bwv66.6")
    svg = notation.score_svg(chorale, measures=2)
    assert svg.count("<svg") >= 1 and _noteheads(svg) > 8


@pytest.mark.parametrize("bad", ["no/such/score.musicxml", "folder", "noise.wav"])
def test_bad_path_names_the_file(tmp_path, bad):
    (tmp_path / "folder").mkdir()
    (tmp_path / "noise.wav").write_bytes(b"RIFF....WAVE")
    path = tmp_path / bad
    with pytest.raises(ValueError, match=r"cannot render file .*" + bad.split("/")[-1]):
        notation.score_svg(path)


def test_bad_sources():
    with pytest.raises(ValueError, match="int"):
        notation.score_svg(42)
    with pytest.raises(ValueError, match="no notes"):
        notation.score_svg(music21.stream.Stream())
    with pytest.raises(ValueError, match="measures"):
        notation.score_svg(_tiny(), measures=0)


def test_show_score_returns_svg_display():
    from IPython.display import SVG

    shown = notation.show_score(_tiny(), measures=1)
    assert isinstance(shown, SVG) and "<svg" in shown.data
