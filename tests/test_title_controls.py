"""Tempo and form as controls of a shipped model (issue 20): prnn-cpu-cond-title, trained with
them, is asked through the command line (--control tempo=120, --control form=jig) and the studio,
and both say what a model without them lacks."""

import numpy as np
import pytest

from course_lib import cli, pretrained
from course_lib.controls import TEMPO_EDGES
from course_lib.widgets import Studio

NAME = "prnn-cpu-cond-title"


@pytest.fixture(scope="module")
def model():
    return pretrained.load_pretrained(NAME)


def test_the_title_model_is_registered_with_its_controls(model):
    entry = pretrained.registry()[NAME]
    assert entry["eval_set"] == "heldout-v1" and entry["heldout_nll"] > 0 and "tempo form" in entry["command"]
    spec = model.train_config.control_spec()
    assert spec.names[-2:] == ("tempo", "form") and {"jig", "reel", "chorale"} <= set(spec.forms)


def test_generate_help_shows_tempo_and_form(capsys):
    with pytest.raises(SystemExit):
        cli.main(["generate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "tempo=120" in text and "form=jig" in text


def test_the_command_line_asks_for_a_tempo_and_a_form(model):
    spec = model.train_config.control_spec()
    vector = cli._requested_controls(model, ["tempo=120", "form=jig"]).numpy()
    assert np.array_equal(vector, spec.request(tempo=120, form="jig"))
    where = spec.slices()
    tempo, form = vector[where["tempo"]], vector[where["form"]]
    assert tempo[0] == 0 and tempo[1:].argmax() == np.searchsorted(TEMPO_EDGES, 120, side="right")
    assert form[0] == 0 and form[1:].argmax() == spec.forms.index("jig")
    assert all(vector[where[name]][0] == 1 for name in spec.names if name not in ("tempo", "form"))  # missing
    with pytest.raises(ValueError, match="unknown form 'polka'"):
        cli._requested_controls(model, ["form=polka"])
    with pytest.raises(ValueError, match="tempo"):
        cli._requested_controls(model, ["tempo=fast"])


def test_a_model_without_them_names_what_it_reads():
    with pytest.raises(ValueError, match=r"no control \['tempo'\]; it reads"):
        cli._requested_controls(pretrained.load_pretrained("prnn-cpu-cond"), ["tempo=120"])


def test_generate_writes_a_jig_at_180_bpm(tmp_path):
    out = tmp_path / "jig.mid"
    assert cli.main(["generate", "--checkpoint", NAME, "--control", "tempo=180", "--control", "form=jig",
                     "--seconds", "2", "--out", str(out), "--quiet"]) == 0
    assert out.stat().st_size > 0


def test_the_studio_offers_tempo_and_form():
    studio = Studio(models=["prnn-cpu-cond", NAME], model=NAME)
    assert {"tempo", "form"} <= set(studio.control_names)
    tempo, form = studio.control_option("tempo"), studio.control_option("form")
    assert tempo.kind == "number" and tempo.low <= tempo.default <= tempo.high and tempo.unit == "BPM"
    assert form.kind == "choice" and {"jig", "reel", "chorale"} <= set(form.choices.values())
    studio.set_control("tempo", 180)
    studio.set_control("form", "jig")
    with pytest.raises(ValueError, match="unknown form"):
        studio.set_control("form", "polka")
    where = studio.spec.slices()
    vector = studio.control_vector()
    assert vector[where["tempo"]][0] == 0 and vector[where["form"]][0] == 0 and vector[where["period"]][0] == 1
    studio.seconds = 3.0
    rows = {name: (asked, measured) for name, asked, measured in studio.generate().rows}
    assert rows["tempo"][0] == "180 BPM" and ("BPM (estimated)" in rows["tempo"][1] or rows["tempo"][1] == "too few notes")
    assert rows["form"][0] == "jig" and rows["form"][1]   # a judge's verdict, or the studio says it has none
    studio.select_model("prnn-cpu-cond")   # no tempo or form: dropped, and tempo still measured
    assert "tempo" not in studio.controls and "form" not in studio.controls
    rows = {name: (asked, measured) for name, asked, measured in studio.generate().rows}
    assert rows["tempo"][0] == "not a control of this model" and "form" not in rows


def test_the_studio_view_has_a_tempo_slider_and_a_form_menu():
    from course_lib.widgets import StudioView

    studio = Studio(models=[NAME], model=NAME)
    view = StudioView(studio)
    rows = {row.children[0]._dom_classes[0].removeprefix("studio-given-"): row for row in view.controls_box.children}
    tempo_given, tempo_value = rows["tempo"].children[:2]
    form_given, form_value = rows["form"].children[:2]
    assert (tempo_value.min, tempo_value.max) == (40, 240) and "jig" in form_value.options
    tempo_value.value, tempo_given.value = 100.0, True
    form_value.value, form_given.value = "reel", True
    assert studio.controls == {"tempo": 100.0, "form": "reel"}
