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

Notebook: notebooks/00_studio.ipynb
"""

from __future__ import annotations

import base64
import html
import io
import time
from dataclasses import dataclass, field

import numpy as np

from .controls import BORN_RANGE, KEY_NAMES, ControlSpec
from .encoding import PerformanceEncoding
from .midi import midi_bytes, read_midi_bytes
from .performance import Performance

__all__ = ["STRATEGIES", "PRIMERS", "BEAM_EVENTS_PER_SECOND", "DEFAULT_MODELS", "scale_profile", "ControlOption",
           "StudioResult", "Studio", "StudioView"]

STRATEGIES = ("sample", "greedy", "beam", "stochastic-beam")
PRIMERS = ("none", "work", "request", "midi")
# Beams run for a number of events, not seconds: this many per second asked for (the corpus's
# median is about 9 events/s, its 90th percentile 15), and the result is cut at the length asked for.
BEAM_EVENTS_PER_SECOND = 15
# The model the studio starts with: the best conditioned LSTM shipped. The longer CPU run plays
# here only: chapter 4 compares conditioned and plain models trained for the same steps.
DEFAULT_MODELS = ("prnn-cond-full", "prnn-cpu-cond-long", "prnn-cpu-cond")
_MAJOR, _MINOR = (0, 2, 4, 5, 7, 9, 11), (0, 2, 3, 5, 7, 8, 11)  # the minor one harmonic
_FOLK_COLLECTIONS = ["ryansMammoth", "oneills1850"]


def scale_profile(key: str) -> np.ndarray:
    """12 pitch-class weights: 1 on the notes of ``key``'s scale (``"D minor"``: harmonic minor), 0 elsewhere."""
    if key not in KEY_NAMES:
        raise ValueError(f"unknown key {key!r}; allowed: {list(KEY_NAMES)}")
    index = KEY_NAMES.index(key)
    tonic, degrees = index % 12, (_MAJOR if index < 12 else _MINOR)
    weights = np.zeros(12, dtype=np.float32)
    weights[[(tonic + d) % 12 for d in degrees]] = 1.0
    return weights


@dataclass(frozen=True)
class ControlOption:
    """How a control can be set: ``kind`` is ``"choice"`` (``choices``: label → value) or
    ``"number"`` (``low``, ``high``, ``step``); ``default`` is a first value to offer."""

    name: str
    kind: str
    default: object
    choices: dict = field(default_factory=dict)
    low: float = 0.0
    high: float = 1.0
    step: float = 0.1
    unit: str = ""


def _control_option(spec: ControlSpec, name: str) -> ControlOption:
    if name == "density":
        return ControlOption(name, "number", 4.0, low=0.5, high=32.0, step=0.5, unit="notes/s")
    if name == "velocity":
        return ControlOption(name, "number", 64, low=1, high=127, step=1, unit="MIDI velocity")
    if name == "position":
        return ControlOption(name, "number", 0.5, low=0.0, high=1.0, step=0.05, unit="share of the piece")
    if name == "born":
        return ControlOption(name, "number", 1750, low=BORN_RANGE[0], high=BORN_RANGE[1], step=10, unit="year")
    if name == "pitch_classes":
        choices = {f"{k} scale": tuple(scale_profile(k).tolist()) for k in KEY_NAMES}
        choices["all twelve (chromatic)"] = (1.0,) * 12
        return ControlOption(name, "choice", choices["C major scale"], choices=choices)
    if name == "key":
        return ControlOption(name, "choice", "C major", choices={k: k for k in KEY_NAMES})
    if name == "group":
        members: dict[int, list[str]] = {}
        for composer, group in sorted(spec.groups.items()):
            members.setdefault(group, []).append(composer)
        choices = {f"{g}: {', '.join(members.get(g, [])[:3])}{', …' if len(members.get(g, [])) > 3 else ''}": g
                   for g in range(spec.sizes["group"])}
        return ControlOption(name, "choice", 0, choices=choices)
    labels = spec.periods if name == "period" else spec.composers
    return ControlOption(name, "choice", labels[0], choices={label: label for label in labels})


def _label(option: ControlOption, value) -> str:
    if value is None:
        return "not given"
    if option.name == "pitch_classes":
        weights = np.asarray(value, dtype=float)
        for label, v in option.choices.items():
            if np.allclose(np.asarray(v) / sum(v), weights / max(weights.sum(), 1e-9)):
                return label
        return "weights " + ", ".join(f"{x:g}" for x in weights)
    if option.kind == "choice":
        return next((label for label, v in option.choices.items() if v == value), str(value))
    return f"{value:g} {option.unit}".strip()


@dataclass
class StudioResult:
    """One generation: the events, the music, and the requested controls beside the measured ones."""

    events: np.ndarray
    primer: np.ndarray
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
        self.primer_seconds = 6.0
        self.primer_kind = "none"
        self.primer_works: list = []
        self.primer_performance: Performance | None = None
        self.primer_name = ""
        self._loaded: dict = {}
        self._works = None
        self._retriever = None
        self.controls: dict[str, object] = {}
        if model is None:   # the best conditioned model shipped, else the first one
            model = next((m for m in DEFAULT_MODELS if m in self.models), self.models[0])
        self.select_model(model)

    # -- the model and its controls -----------------------------------------------------------
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
        return _control_option(self.spec, name)

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
        sources = self.primer_works if self.primer_kind != "midi" else [self.primer_performance]
        return primer_from(sources, seconds=self.primer_seconds, encoding=self.encoding)

    # -- generation ----------------------------------------------------------------------------
    def _check_settings(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {self.strategy!r}; choose from {list(STRATEGIES)}")
        if not 0.5 <= float(self.seconds) <= 120:
            raise ValueError(f"length must be 0.5–120 seconds, got {self.seconds}")

    def describe(self) -> str:
        """One line: model, strategy and primer."""
        how = {"sample": f"sampled at T={self.temperature:g}" + (f", top-p {self.top_p:g}" if self.top_p else ""),
               "greedy": "greedy", "beam": f"beam of {self.beam_size}",
               "stochastic-beam": f"stochastic beam of {self.beam_size}, T={self.temperature:g}"}[self.strategy]
        primer = {"none": "no primer", "work": f"after {self.primer_name}",
                  "request": f"after the tunes for {self.primer_name!r}",
                  "midi": f"after {self.primer_name}"}[self.primer_kind]
        return f"{self.model_name}, {how}, {primer}"

    def generate(self, progress: bool = False) -> StudioResult:
        """Generate ``seconds`` of music with the current settings and measure it.

        Args:
            progress: show a progress bar (tqdm; inside a widget's output area in the studio).
        """
        import torch

        from .search import beam_search, generate_seconds, stochastic_beam_search

        self._check_settings()
        started = time.perf_counter()
        controls = self.control_vector()
        controls = None if controls is None else torch.as_tensor(controls)
        primer = self.primer_events()
        generator = torch.Generator().manual_seed(self.seed) if self.seed is not None else None
        if self.strategy in ("sample", "greedy"):
            top_k = 1 if self.strategy == "greedy" else None   # greedy = always the most likely event
            events = generate_seconds(self.model, self.seconds, primer, temperature=self.temperature, top_k=top_k,
                                      top_p=self.top_p if self.strategy == "sample" else None, controls=controls,
                                      generator=generator, encoding=self.encoding, progress=progress)
        else:
            if primer is None:
                primer = np.array([self.encoding.velocity(int(self.encoding.velocity_to_bin(70)))])
            steps = round(self.seconds * BEAM_EVENTS_PER_SECOND)
            if self.strategy == "beam":
                found = beam_search(self.model, primer, steps, self.beam_size, controls=controls, progress=progress)
            else:
                found = stochastic_beam_search(self.model, primer, steps, self.beam_size,
                                               temperature=self.temperature, controls=controls,
                                               generator=generator, progress=progress)
            events = found[0].events
        performance = self.encoding.decode(events).slice(0.0, self.seconds)
        return StudioResult(np.asarray(events), np.asarray(primer if primer is not None else []), performance,
                            self.measure(performance), self.describe(), time.perf_counter() - started)

    def measure(self, performance: Performance) -> list[tuple[str, str, str]]:
        """Rows (control, requested, measured) for a generated performance: density, velocity
        and key are measured on the notes; the metadata controls cannot be, and say so."""
        from .style import estimate_key

        n, seconds = len(performance), max(float(self.seconds), 1e-9)
        estimated = estimate_key(performance)[0] if n else "no notes"
        histogram = np.bincount(performance.pitch % 12, minlength=12).astype(float) if n else np.zeros(12)
        measured = {
            "density": f"{n / seconds:.2f} notes/s",
            "velocity": f"{performance.velocity.mean():.0f} MIDI velocity" if n else "no notes",
            "key": f"{estimated} (estimated)",
            "position": "—",
        }
        rows = []
        names = list(self.control_names) + [m for m in ("density", "velocity", "key") if m not in self.control_names]
        for name in names:
            requested = _label(self.control_option(name), self.controls.get(name)) if name in self.control_names \
                else "not a control of this model"
            if name == "pitch_classes":
                wanted = self.controls.get(name)
                share = (f"{histogram @ (np.asarray(wanted) > 0) / max(histogram.sum(), 1):.0%} of notes in the set"
                         if wanted is not None and n else f"{estimated} (estimated key)")
                rows.append((name, requested, share))
            else:
                rows.append((name, requested, measured.get(name, "not measurable from the notes")))
        return rows


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
            self.primer_status, self.seconds, self.generate_button, self.progress, self.message, self.results,
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
                label = _label(option, current)
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
        shown = {"sample": [self.temperature, self.top_p], "greedy": [],
                 "beam": [self.beam_size], "stochastic-beam": [self.beam_size, self.temperature]}
        self.strategy_options.children = shown[self.studio.strategy]

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
