"""The generation studio: everything the course taught, behind a few controls.

:class:`Studio` holds the state and does the work (pick a model, set its controls, a
decoding strategy and a primer, generate, measure); :class:`StudioView` is a thin
ipywidgets view over it. Code (and the tests) drive a ``Studio`` directly::

    studio = Studio()
    studio.select_model("prnn-cpu-cond")
    studio.set_control("period", "Baroque")
    studio.set_control("density", 2.0)
    studio.strategy = "stochastic-beam"
    studio.use_request("a jig in D major")
    result = studio.generate()
    print(result.table())

Two things beyond the chapters' defaults: notes are held at most ``max_note_seconds`` (8 s, the
corpus's 99.9th-percentile note; constrained decoding, chapter 5), and chapter 4's period judge
says what period the result sounds like, beside its held-out accuracy.

Notebook: notebooks/00_studio.ipynb
"""

from __future__ import annotations

import base64
import html
import io
import time
from dataclasses import dataclass

import numpy as np

from .controls import CONTROLS, ControlOption, ControlSpec
from .encoding import PerformanceEncoding
from .midi import midi_bytes, read_midi_bytes
from .performance import Performance
from .search import STRATEGIES as _STRATEGY_TABLE
from .search import DEFAULT_MAX_NOTE_SECONDS, generate, get_strategy, neutral_primer
from .style import load_period_judge, scale_profile
from .tempo_form import load_form_judge

__all__ = ["STRATEGIES", "PRIMERS", "BEAM_EVENTS_PER_SECOND", "DEFAULT_MODELS", "JUDGES", "JUDGED", "scale_profile",
           "ControlOption", "StudioResult", "Studio", "StudioView"]

STRATEGIES = tuple(_STRATEGY_TABLE)   # the decoding strategies of course_lib.search
PRIMERS = ("none", "work", "request", "midi")
# Beams run for a number of events, not seconds: this many per second asked for (the corpus's
# median is about 9 events/s, its 90th percentile 15), and the result is cut at the length asked for.
BEAM_EVENTS_PER_SECOND = 15
# The model the studio starts with: the best conditioned LSTM shipped. The longer CPU run plays
# here only: chapter 4 compares conditioned and plain models trained for the same steps.
DEFAULT_MODELS = ("prnn-full-cond", "prnn-cpu-cond-long", "prnn-cpu-cond")
# The strategies' options the studio lets a learner set (the others keep their defaults).
STRATEGY_SETTINGS = ("temperature", "top_p", "beam_size")
_FOLK_COLLECTIONS = ["ryansMammoth", "oneills1850"]
# The controls no note statistic measures, and the judge of chapter 4 that listens for each
# (composer and group have none of their own: the period judge's verdict stands beside them).
JUDGES = {"period": load_period_judge, "form": load_form_judge}
JUDGED = {"period": "period", "composer": "period", "group": "period", "form": "form"}


def _opening(performance: Performance, seconds: float) -> Performance:
    """The first ``seconds`` of a learner's file, its notes cut there: a primer then costs what
    its opening costs, however long the file or its notes (a note of 10⁷ s included)."""
    opening = performance.slice(0.0, seconds)
    return Performance(opening.pitch, opening.velocity, opening.start, np.minimum(opening.end, seconds),
                       opening.program)


@dataclass
class StudioResult:
    """One generation: the events, the music, and the requested controls beside the measured ones."""

    events: np.ndarray
    primer: np.ndarray                 # what the model continued (the neutral primer when none was chosen)
    performance: Performance
    rows: list[tuple[str, str, str]]   # (control, requested, measured)
    description: str
    seconds_taken: float

    def midi(self) -> bytes:
        """The generated music as a MIDI file's bytes."""
        return midi_bytes(self.performance)

    def wav(self, sample_rate: int = 22050) -> bytes:
        """The generated music as a WAV file's bytes (soundfont piano, sine tones as a fallback)."""
        from .audio import wav_bytes

        return wav_bytes(self.performance, sample_rate)

    def piano_roll_png(self, dpi: int = 90) -> bytes:
        """A piano roll as PNG bytes, drawn without pyplot (so a widget callback on any
        thread draws the same picture)."""
        from matplotlib.figure import Figure

        from .plots import piano_roll

        fig = Figure(figsize=(9, 3.2))
        ax = fig.add_subplot()
        if len(self.performance):
            piano_roll(self.performance, ax=ax, title=self.description)
        else:
            ax.set_title(f"{self.description}: no notes")
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi)
        return buffer.getvalue()

    def table(self) -> str:
        """The controls, requested vs measured, as aligned text."""
        rows = [("control", "requested", "measured")] + self.rows
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)

    def html_table(self) -> str:
        cells = "".join(f"<tr><td>{html.escape(a)}</td><td>{html.escape(b)}</td><td>{html.escape(c)}</td></tr>"
                        for a, b, c in self.rows)
        return ("<table class='studio-measured'><tr><th>control</th><th>requested</th><th>measured</th></tr>"
                f"{cells}</table>")


class Studio:
    """The studio's state and logic, with no widgets: a model from the checkpoint registry,
    its controls (each given or not), a decoding strategy, a primer and a length.

    Args:
        models: registry names to offer (default: every shipped checkpoint).
        model: the one to start with (default: the best conditioned LSTM shipped).

    Notebook: notebooks/00_studio.ipynb
    """

    def __init__(self, models: list[str] | None = None, model: str | None = None) -> None:
        from .pretrained import registry

        self.models = list(models) if models is not None else list(registry())
        if not self.models:
            raise ValueError("no checkpoint is registered: train one and ship it (see docs/instructor.md)")
        self.encoding = PerformanceEncoding()
        self.strategy = "sample"
        self.temperature = 1.0
        self.top_p: float | None = None
        self.beam_size = 4
        self.seconds = 10.0
        self.seed: int | None = 0
        # constrained decoding (chapter 5): no note longer than this; 0 or None: no limit
        self.max_note_seconds: float | None = DEFAULT_MAX_NOTE_SECONDS
        self.primer_seconds = 6.0
        self.primer_kind = "none"
        self.primer_works: list = []
        self.primer_performance: Performance | None = None
        self.primer_name = ""
        self._loaded: dict = {}
        self._works = None
        self._retriever = None
        self.controls: dict[str, object] = {}
        if model is not None:
            self.select_model(model)
        else:   # the best conditioned model shipped that loads, else the first one that does
            self._select_first([m for m in DEFAULT_MODELS if m in self.models]
                               + [m for m in self.models if m not in DEFAULT_MODELS])

    # -- the model and its controls -----------------------------------------------------------
    def _select_first(self, candidates: list[str]) -> None:
        """Load the first candidate that passes its hash check; say which were skipped and why."""
        import warnings

        from .checkpoints import CheckpointError

        problems = []
        for name in candidates:
            try:
                self.select_model(name)
            except CheckpointError as err:
                problems.append(str(err))
                continue
            if problems:
                warnings.warn(f"the studio plays {name!r}: " + "; ".join(problems), stacklevel=3)
            return
        raise CheckpointError("no shipped model could be loaded: " + "; ".join(problems))

    def select_model(self, name: str) -> None:
        """Load a shipped model (once); keep the controls it also reads, drop the others."""
        from .pretrained import load_pretrained

        if name not in self.models:
            raise ValueError(f"no model {name!r} in the studio; choose from {self.models}")
        if name not in self._loaded:
            self._loaded[name] = load_pretrained(name).eval()
        self.model_name, self.model = name, self._loaded[name]
        self.spec: ControlSpec | None = self.model.train_config.control_spec()
        self.controls = {k: v for k, v in self.controls.items() if k in self.control_names}

    @property
    def control_names(self) -> tuple[str, ...]:
        """The controls the current model was trained with (none for an unconditioned one)."""
        return self.spec.names if self.spec is not None else ()

    def control_option(self, name: str) -> ControlOption:
        """How ``name`` can be set (choices or a number range), for a view to build its input."""
        self._check_control(name)
        return self.spec.option(name)

    def _check_control(self, name: str) -> None:
        if name not in self.control_names:
            raise ValueError(f"{self.model_name} has no control {name!r}; it reads "
                             f"{list(self.control_names) or 'no controls (an unconditioned model)'}")

    def set_control(self, name: str, value) -> None:
        """Give a control a value, or ``None`` for "not given" (its missing bit set).

        Raises:
            ValueError: a control the model does not read, or a value it does not allow (the
                message says what is allowed).
        """
        self._check_control(name)
        if value is None:
            self.controls.pop(name, None)
            return
        self.spec.request(**{name: value})   # validates, with the library's message
        self.controls[name] = value

    def control_vector(self) -> np.ndarray | None:
        """The vector the model gets at every step (None for an unconditioned model)."""
        return None if self.spec is None else self.spec.request(**self.controls)

    # -- the primer ----------------------------------------------------------------------------
    @property
    def works(self):
        """The corpus (loaded on first use, about a second)."""
        if self._works is None:
            from .corpus import load_works

            self._works = load_works(progress=False)
        return self._works

    def search_works(self, text: str, limit: int = 20) -> list[str]:
        """Search-as-you-type: ids of the works whose id, title or composer contain every word of ``text``."""
        words = text.lower().split()
        if not words:
            return []
        found = []
        for w in self.works:
            haystack = f"{w.id} {w.title} {w.composer}".lower()
            if all(word in haystack for word in words):
                found.append(w.id)
                if len(found) == limit:
                    break
        return found

    def use_none(self) -> None:
        """No primer: the model starts from one VELOCITY event, as every training window does."""
        self.primer_kind, self.primer_works, self.primer_performance, self.primer_name = "none", [], None, ""

    def use_work(self, work_id: str) -> None:
        """Continue the opening of a corpus work.

        Raises:
            ValueError: an unknown id (the message suggests close ones).
        """
        by_id = {w.id: w for w in self.works}
        if work_id not in by_id:
            close = self.search_works(work_id.split("/")[-1], limit=5)
            raise ValueError(f"no work {work_id!r} in the corpus" + (f"; did you mean {close}?" if close else ""))
        self.primer_kind, self.primer_works = "work", [by_id[work_id]]
        self.primer_performance, self.primer_name = None, work_id

    def use_request(self, request: str, k: int = 3) -> list[tuple[str, float]]:
        """Chapter 6's retrieval: the ``k`` folk tunes whose tags best match a request such as
        ``"a jig in D major"`` become the primer. Returns ``(work id, Jaccard similarity)``.

        Raises:
            ValueError: nothing recognised in the request (with examples of what is).
        """
        from .rag import TagRetriever, parse_request

        tags = parse_request(request)
        if self._retriever is None:
            folk = [w for w in self.works if w.collection in _FOLK_COLLECTIONS]
            self._retriever = TagRetriever(folk)
        hits = self._retriever.retrieve(tags, k=k)
        self.primer_kind, self.primer_works = "request", [w for w, _ in hits]
        self.primer_performance, self.primer_name = None, request
        return [(w.id, s) for w, s in hits]

    def use_midi(self, data: bytes, name: str = "upload.mid") -> Performance:
        """Continue the learner's own MIDI file (its bytes, e.g. from an upload widget).

        Raises:
            MidiError: the file cannot be read (the message says which file and why).
            ValueError: it has no notes.
        """
        performance = read_midi_bytes(data, name)
        if len(performance) == 0:
            raise ValueError(f"{name}: the file has no notes to continue; upload one with at least a few notes")
        self.primer_kind, self.primer_works = "midi", []
        self.primer_performance, self.primer_name = performance, name
        return performance

    def primer_events(self) -> np.ndarray | None:
        """The primer's events (the first ``primer_seconds`` of each source), None for no primer."""
        from .rag import primer_from

        if self.primer_kind == "none":
            return None
        sources = self.primer_works if self.primer_kind != "midi" else [_opening(self.primer_performance,
                                                                              self.primer_seconds)]
        return primer_from(sources, seconds=self.primer_seconds, encoding=self.encoding)

    # -- generation ----------------------------------------------------------------------------
    def _check_settings(self) -> None:
        get_strategy(self.strategy)
        if not 0.5 <= float(self.seconds) <= 120:
            raise ValueError(f"length must be 0.5–120 seconds, got {self.seconds}")
        if self.max_note_seconds and not 0.01 <= float(self.max_note_seconds) <= 120:
            raise ValueError(f"the longest note must be 0.01–120 seconds, or 0 for no limit, "
                             f"got {self.max_note_seconds}")

    def strategy_options(self) -> dict:
        """The current strategy's options the studio sets (see :data:`STRATEGY_SETTINGS`)."""
        return {name: getattr(self, name) for name in get_strategy(self.strategy).options
                if name in STRATEGY_SETTINGS}

    def describe(self) -> str:
        """One line: model, strategy and primer."""
        how = get_strategy(self.strategy).describe(**self.strategy_options())
        primer = {"none": "no primer", "work": f"after {self.primer_name}",
                  "request": f"after the tunes for {self.primer_name!r}",
                  "midi": f"after {self.primer_name}"}[self.primer_kind]
        limit = f"notes ≤ {self.max_note_seconds:g} s" if self.max_note_seconds else "no note limit"
        return f"{self.model_name}, {how}, {primer}, {limit}"

    def generate(self, progress: bool = False) -> StudioResult:
        """Generate ``seconds`` of music with the current settings and measure it (the
        beams, which run for a number of events, get ``BEAM_EVENTS_PER_SECOND`` per second
        and are cut at ``seconds``).

        Args:
            progress: show a progress bar (tqdm; inside a widget's output area in the studio).
        """
        import torch

        self._check_settings()
        started = time.perf_counter()
        controls = self.control_vector()
        primer = self.primer_events()
        primer = neutral_primer(self.encoding) if primer is None else primer
        length = ({"seconds": self.seconds} if get_strategy(self.strategy).stepwise
                  else {"steps": round(self.seconds * BEAM_EVENTS_PER_SECOND)})
        events = generate(self.model, primer, strategy=self.strategy, **length, **self.strategy_options(),
                          controls=None if controls is None else torch.as_tensor(controls),
                          generator=torch.Generator().manual_seed(self.seed) if self.seed is not None else None,
                          encoding=self.encoding, progress=progress, max_note_seconds=self.max_note_seconds or None)
        performance = self.encoding.decode(events).slice(0.0, self.seconds)
        return StudioResult(np.asarray(events), np.asarray(primer), performance, self.measure(performance),
                            self.describe(), time.perf_counter() - started)

    def measure(self, performance: Performance) -> list[tuple[str, str, str]]:
        """Rows (control, requested, measured) for a generated performance: each control as
        its row of :data:`course_lib.controls.CONTROLS` measures it on the notes (density,
        velocity and key for every model); period, composer, group and form (:data:`JUDGED`) by what
        chapter 4's judges hear (the period row for every model)."""
        seconds = max(float(self.seconds), 1e-9)
        names = list(self.control_names) + [name for name, control in CONTROLS.items()
                                            if (control.measured_always or name == "period")
                                            and name not in self.control_names]
        heard = {kind: self.judge(kind, performance) for kind in dict.fromkeys(JUDGED[n] for n in names
                                                                                if n in JUDGED)}
        rows = []
        for name in names:
            given = name in self.control_names
            requested = self.control_option(name).label(self.controls.get(name)) if given \
                else "not a control of this model"
            measure = CONTROLS[name].measure
            if name in JUDGED:
                verdict, text = heard[JUDGED[name]]
                measured = text if name in JUDGES else self._judged_beside(name, verdict)
            else:
                measured = measure(performance, seconds, self.controls.get(name)) if measure \
                    else "not measurable from the notes"
            rows.append((name, requested, measured))
        return rows

    def judge(self, kind: str, performance: Performance) -> tuple[str | None, str]:
        """What one of chapter 4's classifiers (:data:`JUDGES`: period, form) hears in
        ``performance``, and how far to trust it: its balanced accuracy on held-out excerpts as
        long as the piece (the nearest length measured; the shipped judge, loaded once).

        Returns:
            (the label heard, or None for too few notes; the text the studio shows).
        """
        classifier, held_out = JUDGES[kind]()
        try:
            probabilities = classifier.predict_proba([performance])[0]
        except ValueError:   # fewer than two onsets
            return None, f"too few notes for the {kind} judge"
        best = int(np.argmax(probabilities))
        length = min(held_out, key=lambda s: abs(s - float(self.seconds)))
        return classifier.labels[best], (f"{classifier.labels[best]} ({probabilities[best]:.0%}), says the {kind} "
                                         f"judge: right on {held_out[length]['balanced_accuracy']:.0%} of held-out "
                                         f"{length:g}-s excerpts (balanced)")

    def judge_period(self, performance: Performance) -> tuple[str | None, str]:
        """:meth:`judge` for the period (the studio's judge of period, composer and group)."""
        return self.judge("period", performance)

    def _judged_beside(self, name: str, period: str | None) -> str:
        """Composer and group have no judge of their own: the period judge's verdict, and for a
        requested composer the period they wrote in."""
        if period is None:
            return f"no {name} judge; too few notes for the period judge"
        composer = self.controls.get("composer") if name == "composer" else None
        if composer is not None:
            from .corpus import composer_table

            wrote = {info.name: info.period for info in composer_table().values()}.get(composer)
            if wrote:
                return f"no {name} judge; the period judge hears {period}, {composer} wrote in the {wrote} period"
        return f"no {name} judge; the period judge hears {period}"


class StudioView:
    """The ipywidgets face of a :class:`Studio`: every widget only sets the studio's state;
    Generate calls :meth:`Studio.generate` and shows its result.

    Notebook: notebooks/00_studio.ipynb
    """

    def __init__(self, studio: Studio | None = None) -> None:
        import ipywidgets as w

        self.studio = studio or Studio()
        s = self.studio
        self.model = w.Dropdown(options=s.models, value=s.model_name, description="model")
        self.controls_box = w.VBox()
        self.strategy = w.ToggleButtons(options=list(STRATEGIES), value=s.strategy, description="strategy")
        self.temperature = w.FloatSlider(value=s.temperature, min=0.1, max=2.0, step=0.05, description="temperature")
        self.top_p = w.FloatSlider(value=1.0, min=0.05, max=1.0, step=0.05, description="top-p")
        self.beam_size = w.IntSlider(value=s.beam_size, min=1, max=16, description="beam size")
        self.seconds = w.FloatSlider(value=s.seconds, min=2, max=60, step=1, description="seconds")
        self.max_note = w.FloatSlider(value=s.max_note_seconds or 0.0, min=0.0, max=30.0, step=0.5,
                                      description="longest note", readout_format=".1f")
        self.max_note.add_class("studio-max-note")
        self.max_note_hint = w.HTML(f"<small>s (0: no limit). {DEFAULT_MAX_NOTE_SECONDS:g} s is the corpus's "
                                    "99.9th-percentile note; a longer one is a stuck note (chapter 5)</small>")
        self.primer = w.ToggleButtons(options=list(PRIMERS), value="none", description="primer")
        self.work = w.Combobox(placeholder="type a composer, title or id (e.g. bach bwv66)", description="work",
                               ensure_option=False, continuous_update=True)
        self.request = w.Text(placeholder="e.g. a jig in D major, 6/8", description="request", continuous_update=False)
        self.upload = w.FileUpload(accept=".mid,.midi", multiple=False, description="MIDI file")
        self.primer_status = w.HTML()
        self.primer_box = w.VBox()
        self.generate_button = w.Button(description="Generate", button_style="primary", icon="music")
        self.generate_button.add_class("studio-generate")
        self.progress = w.Output()
        self.message = w.HTML()
        self.message.add_class("studio-message")
        self.roll = w.Image(format="png")
        self.roll.add_class("studio-piano-roll")
        self.player = w.Audio(format="wav", autoplay=False, loop=False)
        self.player.add_class("studio-audio")
        self.measured = w.HTML()
        self.download = w.HTML()
        self.results = w.VBox([])

        self.model.observe(self._on_model, "value")
        for widget, attr in ((self.strategy, "strategy"), (self.temperature, "temperature"),
                             (self.beam_size, "beam_size"), (self.seconds, "seconds")):
            widget.observe(lambda change, attr=attr: setattr(self.studio, attr, change["new"]), "value")
        self.strategy.observe(lambda _: self._show_strategy_options(), "value")
        self.top_p.observe(lambda c: setattr(self.studio, "top_p", None if c["new"] >= 1.0 else c["new"]), "value")
        self.max_note.observe(lambda c: setattr(self.studio, "max_note_seconds", c["new"] or None), "value")
        self.primer.observe(self._on_primer_kind, "value")
        self.work.observe(self._on_work_typed, "value")
        self.request.observe(self._on_request, "value")
        self.upload.observe(self._on_upload, "value")
        self.generate_button.on_click(lambda _: self.generate())

        self.strategy_options = w.HBox()
        self._build_controls()
        self._show_strategy_options()
        self.widget = w.VBox([
            w.HTML("<h3>Generation studio</h3>"), self.model, w.HTML("<b>controls</b> (untick: not given)"),
            self.controls_box, self.strategy, self.strategy_options, self.primer, self.primer_box,
            self.primer_status, self.seconds, w.HBox([self.max_note, self.max_note_hint]), self.generate_button,
            self.progress, self.message, self.results,
        ])

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    # -- controls ---------------------------------------------------------------------------------
    def _build_controls(self) -> None:
        import ipywidgets as w

        rows = []
        if not self.studio.control_names:
            rows.append(w.HTML(f"<i>{self.studio.model_name} was trained without controls.</i>"))
        for name in self.studio.control_names:
            option = self.studio.control_option(name)
            given = w.Checkbox(value=name in self.studio.controls, description="given", indent=False,
                               layout=w.Layout(width="70px"))
            given.add_class(f"studio-given-{name}")
            current = self.studio.controls.get(name, option.default)
            if option.kind == "choice":
                labels = list(option.choices)
                label = option.label(current)
                value = w.Dropdown(options=labels, value=label if label in labels else labels[0], description=name)
            else:
                value = w.FloatSlider(value=float(current), min=option.low, max=option.high, step=option.step,
                                      description=name)
            value.add_class(f"studio-control-{name}")

            def update(_=None, name=name, option=option, given=given, value=value):
                chosen = option.choices[value.value] if option.kind == "choice" else value.value
                self._try(lambda: self.studio.set_control(name, chosen if given.value else None))

            given.observe(update, "value")
            value.observe(update, "value")
            rows.append(w.HBox([given, value, w.HTML(f"<small>{option.unit}</small>")]))
        self.controls_box.children = rows

    def _on_model(self, change) -> None:
        self._try(lambda: self.studio.select_model(change["new"]))
        self._build_controls()

    def _show_strategy_options(self) -> None:
        """The sliders of the options the chosen strategy reads."""
        sliders = {"temperature": self.temperature, "top_p": self.top_p, "beam_size": self.beam_size}
        self.strategy_options.children = [sliders[name] for name in get_strategy(self.studio.strategy).options
                                          if name in sliders]

    # -- primer -------------------------------------------------------------------------------------
    def _on_primer_kind(self, change) -> None:
        kind = change["new"]
        self.primer_box.children = {"none": [], "work": [self.work], "request": [self.request],
                                    "midi": [self.upload]}[kind]
        self.primer_status.value = ""
        if kind == "none":
            self.studio.use_none()

    def _on_work_typed(self, change) -> None:
        text = change["new"]
        if any(w.id == text for w in self.studio.works):
            if self._try(lambda: self.studio.use_work(text)):
                self.primer_status.value = f"primer: the first {self.studio.primer_seconds:g} s of <b>{text}</b>"
            return
        self.work.options = self.studio.search_works(text)

    def _on_request(self, change) -> None:
        def retrieve():
            hits = self.studio.use_request(change["new"])
            listed = "".join(f"<li>{html.escape(i)} (Jaccard {s:.2f})</li>" for i, s in hits)
            self.primer_status.value = f"primer: the openings of<ul>{listed}</ul>"

        self._try(retrieve)

    def _on_upload(self, change) -> None:
        files = change["new"]
        if not files:
            return
        upload = files[0]

        def use():
            performance = self.studio.use_midi(bytes(upload["content"]), upload["name"])
            self.primer_status.value = (f"primer: the first {self.studio.primer_seconds:g} s of "
                                        f"<b>{html.escape(upload['name'])}</b> ({len(performance)} notes)")

        self._try(use)

    # -- generation ---------------------------------------------------------------------------------
    def _try(self, action) -> bool:
        """Run ``action``; a bad input shows the library's message in the interface, not a traceback."""
        try:
            action()
        except ValueError as err:   # MidiError is a ValueError
            self.message.value = f"<span style='color:#b00'>⚠ {html.escape(str(err))}</span>"
            return False
        self.message.value = ""
        return True

    def generate(self) -> StudioResult | None:
        """What the Generate button does: progress, then the piano roll, the audio, the measured
        controls and a download link."""
        import ipywidgets as w

        self.generate_button.disabled = True
        self.progress.clear_output()
        result = None
        try:
            with self.progress:
                holder = {}
                if self._try(lambda: holder.setdefault("result", self.studio.generate(progress=True))):
                    result = holder["result"]
            if result is not None:
                self.roll.value = result.piano_roll_png()
                self.player.value = result.wav()
                self.measured.value = result.html_table()
                data = base64.b64encode(result.midi()).decode("ascii")
                self.download.value = (f"<a download='studio.mid' href='data:audio/midi;base64,{data}' "
                                       f"class='studio-download'>⬇ download the MIDI file</a> "
                                       f"<small>({len(result.events)} events, {len(result.performance)} notes, "
                                       f"generated in {result.seconds_taken:.1f} s)</small>")
                self.results.children = [w.HTML(f"<b>{html.escape(result.description)}</b>"), self.roll,
                                         self.player, self.measured, self.download]
        finally:
            self.generate_button.disabled = False
        return result
