"""Generating events from a model, one step at a time: chapter 5's decoding strategies.

Model-agnostic: only ``model.step(events, controls, state)`` (and, for beams,
``model.reorder_state``) is used, so every sampler works with every model.

Where a strategy is chosen: :data:`STRATEGIES`, one table of the strategies (name → the
function that runs it, its options and their defaults), and :func:`generate`, the one
entry point that the studio, the command line and chapter 6's RAG call.

Constrained decoding: every strategy takes ``max_note_seconds`` (a common option), and
:class:`course_lib.constraints.NoteLimit` — one place, used by the event loop of sampling and
greedy search and by the loop of both beam searches — keeps every note within it.

Notebook: notebooks/05_beam_vs_stochastic_search.ipynb (sampling also in notebooks/02_teacher_forcing.ipynb)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch

from .constraints import DEFAULT_MAX_NOTE_SECONDS, NoteLimit
from .encoding import PerformanceEncoding

__all__ = ["greedy", "sample", "generate_seconds", "filter_logits", "Hypothesis", "beam_search",
           "stochastic_beam_search", "beam_step", "gumbel_top_k", "truncated_gumbel", "neutral_primer",
           "Strategy", "STRATEGIES", "COMMON_OPTIONS", "get_strategy", "generate", "NoteLimit",
           "DEFAULT_MAX_NOTE_SECONDS"]

NEUTRAL_VELOCITY = 70   # the MIDI velocity of the primer used when none is given
MAX_EVENTS = 20_000     # a generation that runs for seconds stops here even if the clock hardly moves


def _check_primer(primer, vocab_size: int = 388) -> torch.Tensor:
    ids = torch.as_tensor(np.asarray(primer, dtype=np.int64).reshape(-1))
    if ids.numel() == 0:
        raise ValueError("the primer is empty: give at least one event id (e.g. a VELOCITY event)")
    if int(ids.min()) < 0 or int(ids.max()) >= vocab_size:
        raise ValueError(f"primer ids must lie in 0–{vocab_size - 1}, got {int(ids.min())}…{int(ids.max())}")
    return ids


def _device(model) -> torch.device:
    """Where the model lives (CPU for a model without parameters, e.g. a toy in a test)."""
    try:
        return next(model.parameters()).device
    except (AttributeError, StopIteration):
        return torch.device("cpu")


def _controls_at(controls, t: int, batch: int, device) -> torch.Tensor | None:
    """Controls for step t: ``(C,)`` one vector for the whole generation, or ``(T, C)``
    one per step (the last row is kept after T steps)."""
    if controls is None:
        return None
    c = torch.as_tensor(controls, dtype=torch.float32, device=device)
    if c.dim() == 2:
        c = c[min(t, c.shape[0] - 1)]
    elif c.dim() != 1:
        raise ValueError(f"controls must be one vector (C,) or one per step (T, C), got shape {tuple(c.shape)}")
    return c.expand(batch, -1)


def _note_limit(max_note_seconds: float | None, primer, batch: int, encoding) -> NoteLimit | None:
    return None if max_note_seconds is None else NoteLimit(max_note_seconds, primer, batch, encoding)


@torch.no_grad()
def _prime(model, primer: torch.Tensor, batch: int, controls, device):
    """Feed the primer; returns (logits after its last event, state)."""
    state = logits = None
    for t, event in enumerate(primer.to(device)):
        logits, state = model.step(event.expand(batch), _controls_at(controls, t, batch, device), state)
    return logits, state


@torch.no_grad()
def _event_stream(model, primer: torch.Tensor, choose, controls, batch: int, limit: NoteLimit | None = None):
    """Yield one (B,) tensor of events per step, forever: ``choose(logits)`` picks each one
    (from the logits ``limit`` allows, if given), the model's state stays inside."""
    device = _device(model)
    logits, state = _prime(model, primer, batch, controls, device)
    t = len(primer)
    while True:
        event = choose(logits if limit is None else limit.apply(logits))
        if limit is not None:
            limit.feed(event.numpy())
        yield event
        logits, state = model.step(event.to(device), _controls_at(controls, t, batch, device), state)
        t += 1


def _sampling(temperature: float, top_k: int | None, top_p: float | None, generator):
    """The choice of ancestral sampling: one draw from the filtered, tempered distribution
    (the arguments are checked here, before any work)."""
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    filter_logits(torch.zeros(1, 2), top_k, top_p)

    def choose(logits: torch.Tensor) -> torch.Tensor:
        probs = filter_logits(logits.float() / temperature, top_k, top_p).softmax(-1)
        return torch.multinomial(probs.cpu(), 1, generator=generator)[:, 0]

    return choose


def _most_likely(logits: torch.Tensor) -> torch.Tensor:
    """The choice of greedy search: the most likely event."""
    return logits.argmax(-1).cpu()


def _take(stream, steps: int, batch: int) -> np.ndarray:
    """(batch, steps) events from a stream."""
    steps = _check_steps(steps)
    if not steps:
        return np.zeros((batch, 0), dtype=np.int64)
    return np.stack([next(stream).numpy() for _ in range(steps)], axis=1)


def _check_batch(num_samples: int | None) -> int:
    batch = 1 if num_samples is None else int(num_samples)
    if batch < 1:
        raise ValueError(f"num_samples must be >= 1, got {num_samples}")
    return batch


def filter_logits(logits: torch.Tensor, top_k: int | None = None, top_p: float | None = None) -> torch.Tensor:
    """Keep the ``top_k`` most likely events and/or the smallest set whose probability
    reaches ``top_p`` (nucleus, Holtzman et al. 2019); the rest get ``-inf``."""
    if top_k is not None:
        if top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {top_k}")
        kth = torch.topk(logits, min(top_k, logits.shape[-1]), dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None:
        if not 0 < top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {top_p}")
        sorted_logits, order = torch.sort(logits, descending=True, dim=-1)
        cum = sorted_logits.softmax(-1).cumsum(-1)
        drop_sorted = (cum - sorted_logits.softmax(-1)) >= top_p  # mass before this event already reaches p
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    return logits


def _check_steps(steps: int) -> int:
    if int(steps) < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    return int(steps)


def neutral_primer(encoding: PerformanceEncoding | None = None) -> np.ndarray:
    """The primer when none is given: one VELOCITY event (MIDI velocity 70), the way every
    training window begins.

    Notebook: notebooks/02_teacher_forcing.ipynb
    """
    enc = encoding or PerformanceEncoding()
    return np.array([enc.velocity(int(enc.velocity_to_bin(NEUTRAL_VELOCITY)))], dtype=np.int64)


def greedy(model, primer: Sequence[int], steps: int, controls=None, *, max_note_seconds: float | None = None,
           encoding: PerformanceEncoding | None = None) -> np.ndarray:
    """The most likely event at every step.

    Args:
        max_note_seconds: no note longer than this (constrained decoding, :class:`NoteLimit`);
            None: no limit.
        encoding: the event vocabulary the limit reads (default: the course's).

    Returns:
        ``steps`` generated event ids (primer excluded).

    Notebook: notebooks/05_beam_vs_stochastic_search.ipynb
    """
    primer = _check_primer(primer)
    limit = _note_limit(max_note_seconds, primer, 1, encoding)
    return _take(_event_stream(model, primer, _most_likely, controls, 1, limit), steps, 1)[0]


def sample(model, primer: Sequence[int], steps: int, temperature: float = 1.0, top_k: int | None = None,
           top_p: float | None = None, controls=None, generator: torch.Generator | None = None,
           num_samples: int | None = None, *, max_note_seconds: float | None = None,
           encoding: PerformanceEncoding | None = None) -> np.ndarray:
    """Ancestral sampling with temperature, top-k and top-p.

    Args:
        model: anything with ``step(events, controls, state)``.
        primer: non-empty sequence of event ids the generation continues.
        steps: events to generate.
        temperature: > 0; below 1 sharpens the distribution, above 1 flattens it.
        top_k, top_p: see :func:`filter_logits`.
        controls: one vector (C,) for the whole generation or one per step (T, C).
        generator: a ``torch.Generator`` for reproducible draws.
        num_samples: draw this many sequences in one batch (returns (N, steps)).
        max_note_seconds: no note longer than this (constrained decoding, :class:`NoteLimit`:
            the limit masks the logits before temperature, top-k and top-p); None: no limit.
        encoding: the event vocabulary the limit reads (default: the course's).

    Returns:
        ``steps`` generated ids (primer excluded), or an (N, steps) array.

    Notebook: notebooks/02_teacher_forcing.ipynb
    """
    choose = _sampling(temperature, top_k, top_p, generator)
    batch = _check_batch(num_samples)
    primer = _check_primer(primer)
    limit = _note_limit(max_note_seconds, primer, batch, encoding)
    out = _take(_event_stream(model, primer, choose, controls, batch, limit), steps, batch)
    return out if num_samples is not None else out[0]


def generate_seconds(model, seconds: float, primer: Sequence[int] | None = None, *, temperature: float = 1.0,
                     top_k: int | None = None, top_p: float | None = None, controls=None,
                     generator: torch.Generator | None = None, encoding: PerformanceEncoding | None = None,
                     max_events: int = MAX_EVENTS, num_samples: int | None = None, progress: bool = False,
                     max_note_seconds: float | None = None):
    """Sample until the music lasts ``seconds`` (counting time-shift events).

    Args:
        seconds: length of music to generate (the primer's own time not included).
        primer: events to continue; default: :func:`neutral_primer`.
        max_events: stop here even if the model hardly moves the clock.
        num_samples: draw this many pieces at once (one batched step per event).
        progress: show a progress bar (in seconds of music).
        max_note_seconds: no note longer than this (:class:`NoteLimit`); None: no limit.

    Returns:
        The generated events (primer excluded), ending where ``seconds`` is reached;
        a list of such arrays when ``num_samples`` is given.

    Notebook: notebooks/02_teacher_forcing.ipynb
    """
    choose = _sampling(temperature, top_k, top_p, generator)
    pieces = _for_seconds(model, primer, choose, seconds, controls=controls, encoding=encoding,
                          max_events=max_events, batch=_check_batch(num_samples), progress=progress,
                          max_note_seconds=max_note_seconds)
    return pieces[0] if num_samples is None else pieces


def _for_seconds(model, primer, choose, seconds: float, *, controls, encoding, max_events: int, batch: int,
                 progress: bool, max_note_seconds: float | None = None) -> list[np.ndarray]:
    """Events chosen one step at a time until each of ``batch`` pieces lasts ``seconds``."""
    enc = encoding or PerformanceEncoding()
    primer = _check_primer(neutral_primer(enc) if primer is None else primer)
    stream = _event_stream(model, primer, choose, controls, batch, _note_limit(max_note_seconds, primer, batch, enc))
    target = round(seconds * enc.steps_per_second)
    elapsed = np.zeros(batch, dtype=np.int64)
    ends = np.full(batch, -1)  # where each piece reached `seconds` (-1: not yet)
    out = []
    bar = None
    if progress:
        from tqdm.auto import tqdm
        # counted in clock steps (integers, so the bar ends exactly full), shown in seconds
        bar = tqdm(total=target, desc="generating", unit="s of music", unit_scale=1 / enc.steps_per_second,
                   bar_format="{l_bar}{bar}| {n:.1f}/{total:.1f} {unit} [{elapsed}<{remaining}]")
    while (ends < 0).any() and len(out) < max_events:
        e = next(stream).numpy()
        out.append(e)
        before = min(elapsed.min(), target)
        is_shift = (enc.time_shift_offset <= e) & (e < enc.velocity_offset)
        elapsed += np.where(is_shift & (ends < 0), e - enc.time_shift_offset + 1, 0)
        ends[(ends < 0) & (elapsed >= target)] = len(out)
        if bar is not None:
            bar.update(int(min(elapsed.min(), target) - before))
    if bar is not None:
        bar.close()
    events = np.array(out, dtype=np.int64).reshape(-1, batch).T
    return [row[:end] if end >= 0 else row for row, end in zip(events, ends)]


# -- beams -----------------------------------------------------------------------------------
@dataclass
class Hypothesis:
    """One finished beam: ``events`` (primer excluded), ``logprob`` (the model's total
    log-probability of those events given the primer) and ``score`` (what the search
    ranked by: the length-penalised log-probability, or the Gumbel-perturbed one)."""

    events: np.ndarray
    logprob: float
    score: float


def beam_step(scores: torch.Tensor, logprobs: torch.Tensor, beam_size: int) -> tuple[torch.Tensor, ...]:
    """One step of beam search: the ``beam_size`` best extensions of all beams at once.

    Args:
        scores: (B,) total log-probability of each live beam.
        logprobs: (B, V) log-probability of each next event for each beam.

    Returns:
        ``(new_scores, parents, events)``, each (K,) with K = beam_size or, if fewer
        extensions are possible (probability > 0), as many as there are; best first: the
        extension's total score, the beam it extends (a back-pointer) and the event.
    """
    total = (scores[:, None] + logprobs).reshape(-1)
    best, flat = total.topk(_width(total, beam_size))
    vocab = logprobs.shape[1]
    return best, flat // vocab, flat % vocab


def _width(candidates: torch.Tensor, beam_size: int) -> int:
    """How many beams to keep: never an impossible (−inf) extension while a possible one is left."""
    return max(1, min(beam_size, int(torch.isfinite(candidates).sum())))


def _check_beam(beam_size: int, temperature: float = 1.0) -> None:
    if int(beam_size) < 1:
        raise ValueError(f"beam_size must be >= 1, got {beam_size}")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")


def _run_beams(model, primer, steps: int, beam_size: int, controls, choose, progress: bool = False,
               max_note_seconds: float | None = None, encoding: PerformanceEncoding | None = None):
    """The shared loop: ``choose(logprobs (B, V)) → (parents, events)`` picks the next beams from
    the log-probabilities the note limit allows (renormalised, :class:`NoteLimit`); the history,
    the model's state, the limit's clocks, the model's own log-probabilities and the constrained
    ones follow the back-pointers. Returns (histories, log p, log q)."""
    device = _device(model)
    primer = _check_primer(primer)
    steps = _check_steps(steps)
    limit = _note_limit(max_note_seconds, primer, 1, encoding)
    logits, state = _prime(model, primer, 1, controls, device)
    history = torch.zeros(1, 0, dtype=torch.long)
    logprob = torch.zeros(1, dtype=torch.float64)
    constrained = torch.zeros(1, dtype=torch.float64)
    times = range(steps)
    if progress:
        from tqdm.auto import tqdm
        times = tqdm(times, desc=f"beam of {beam_size}", unit="event")
    for t in times:
        logits = logits.double().cpu()
        model_logprobs = torch.log_softmax(logits, -1)
        logprobs = model_logprobs if limit is None else torch.log_softmax(limit.apply(logits), -1)
        parents, events = choose(logprobs)
        history = torch.cat([history[parents], events[:, None]], 1)
        logprob = logprob[parents] + model_logprobs[parents, events]
        constrained = constrained[parents] + logprobs[parents, events]
        if limit is not None:
            limit.reorder(parents.numpy())
            limit.feed(events.numpy())
        if t + 1 < steps:  # the last events need no prediction after them
            state = model.reorder_state(state, parents.to(device))
            logits, state = model.step(events.to(device),
                                       _controls_at(controls, len(primer) + t, len(events), device), state)
    return history.numpy(), logprob.numpy(), constrained.numpy()


@torch.no_grad()
def beam_search(model, primer: Sequence[int], steps: int, beam_size: int, controls=None,
                length_penalty: float = 0.0, progress: bool = False, *, max_note_seconds: float | None = None,
                encoding: PerformanceEncoding | None = None) -> list[Hypothesis]:
    """Keep the ``beam_size`` most likely sequences at every step.

    All beams advance in one batched ``model.step`` call per time step, and the state
    follows them through ``model.reorder_state``. ``beam_size=1`` is greedy search; a beam
    as wide as the vocabulary is exact for two steps.

    Args:
        length_penalty: α of the GNMT length penalty ((5 + steps) / 6)^α (Wu et al. 2016)
            dividing the final scores. Hypotheses here all have ``steps`` events (there is
            no end event), so it rescales the scores without reordering them.
        progress: show a progress bar over the steps.
        max_note_seconds: no note longer than this (constrained decoding, :class:`NoteLimit`):
            the beams are ranked by the renormalised constrained log-probability (``.score``),
            ``.logprob`` stays the model's; None: no limit.
        encoding: the event vocabulary the limit reads (default: the course's).

    Returns:
        ``beam_size`` distinct hypotheses (fewer if fewer sequences are possible), best first.

    Notebook: notebooks/05_beam_vs_stochastic_search.ipynb
    """
    _check_beam(beam_size)
    scores = torch.zeros(1, dtype=torch.float64)

    def choose(logprobs):
        nonlocal scores
        scores, parents, events = beam_step(scores, logprobs, beam_size)
        return parents, events

    history, logprob, ranked = _run_beams(model, primer, steps, beam_size, controls, choose, progress,
                                          max_note_seconds, encoding)
    penalty = ((5 + steps) / 6) ** length_penalty
    return [Hypothesis(h, float(lp), float(r) / penalty) for h, lp, r in zip(history, logprob, ranked)]


def _log1mexp(x: torch.Tensor) -> torch.Tensor:
    """log(1 − exp(x)) for x ≤ 0, accurate near 0 and far below it (Mächler 2012)."""
    return torch.where(x > -math.log(2), torch.log(-torch.expm1(x)), torch.log1p(-torch.exp(x)))


def truncated_gumbel(parent: torch.Tensor, perturbed: torch.Tensor) -> torch.Tensor:
    """Gumbels conditioned on a maximum: given each child's Gumbel-perturbed log-probability
    ``perturbed`` (B, V), shift the children of every parent so that their maximum equals the
    parent's own perturbed value ``parent`` (B,) — in the numerically stable form of Kool,
    van Hoof & Welling (2019), appendix B."""
    z = perturbed.max(-1, keepdim=True).values
    v = parent[:, None] - perturbed + _log1mexp(perturbed - z)
    return parent[:, None] - torch.relu(v) - torch.log1p(torch.exp(-v.abs()))


def gumbel_top_k(logprobs: torch.Tensor, k: int, generator: torch.Generator | None = None,
                 uniform: torch.Tensor | None = None) -> tuple[torch.Tensor, ...]:
    """k distinct draws without replacement from one categorical distribution: perturb each
    log-probability with independent Gumbel(0, 1) noise, −log(−log U) for U uniform on
    (0, 1), and keep the k largest.

    Args:
        uniform: the U values to use (default: drawn with ``generator``), e.g. to check
            an implementation against this one.

    Returns:
        ``(indices, perturbed)``: the k chosen indices in order of their perturbed values
        (the first is an exact sample), and all perturbed values.
    """
    u = uniform if uniform is not None else torch.rand(logprobs.shape, generator=generator, dtype=torch.float64)
    perturbed = logprobs - torch.log(-torch.log(u.clamp(1e-300, 1.0)))
    return perturbed.topk(min(k, perturbed.shape[-1]), dim=-1).indices, perturbed


@torch.no_grad()
def stochastic_beam_search(model, primer: Sequence[int], steps: int, beam_size: int, temperature: float = 1.0,
                           controls=None, generator: torch.Generator | None = None,
                           progress: bool = False, *, max_note_seconds: float | None = None,
                           encoding: PerformanceEncoding | None = None) -> list[Hypothesis]:
    """``beam_size`` distinct sequences sampled without replacement from the model
    (Gumbel-top-k; Kool, van Hoof & Welling 2019, arXiv 1903.06059).

    Every extension's log-probability (at ``temperature``) is perturbed with Gumbel noise
    conditioned on its parent's perturbed value (:func:`truncated_gumbel`), and the
    ``beam_size`` largest are kept — a beam search over perturbed scores.

    Args:
        progress: show a progress bar over the steps.
        max_note_seconds: no note longer than this (constrained decoding, :class:`NoteLimit`):
            the hypotheses are then drawn without replacement from the constrained model, p
            renormalised over the allowed events at every step; None: no limit.
        encoding: the event vocabulary the limit reads (default: the course's).

    Returns:
        The hypotheses in order of their perturbed scores (``.score``): the first is an
        exact sample from the model (the constrained one, with a limit); ``.logprob`` is the
        model's log-probability, without noise, temperature or constraint.

    Notebook: notebooks/05_beam_vs_stochastic_search.ipynb
    """
    _check_beam(beam_size, temperature)
    phi = torch.zeros(1, dtype=torch.float64)   # log-probability at the temperature
    g = torch.zeros(1, dtype=torch.float64)     # its conditioned Gumbel perturbation

    def choose(logprobs):
        nonlocal phi, g
        tempered = torch.log_softmax(logprobs / temperature, -1) if temperature != 1.0 else logprobs
        child_phi = phi[:, None] + tempered
        u = torch.rand(child_phi.shape, generator=generator, dtype=torch.float64).clamp_(1e-300, 1.0)
        child_g = truncated_gumbel(g, child_phi - torch.log(-torch.log(u)))
        best, flat = child_g.reshape(-1).topk(_width(child_g, beam_size))
        parents, events = flat // logprobs.shape[1], flat % logprobs.shape[1]
        phi, g = child_phi[parents, events], best
        return parents, events

    history, logprob, _ = _run_beams(model, primer, steps, beam_size, controls, choose, progress,
                                     max_note_seconds, encoding)
    if steps == 0:
        return [Hypothesis(history[0], 0.0, 0.0)]
    return [Hypothesis(h, float(lp), float(s)) for h, lp, s in zip(history, logprob, g.numpy())]


# -- the strategies in one table, and the one entry point -----------------------------------
# Options that are not a strategy's own: each strategy reads those it needs. An option that
# holds for every strategy (a constraint on the events, say) is added here and read by the runners.
COMMON_OPTIONS = {"controls": None, "generator": None, "encoding": None, "progress": False,
                  "max_note_seconds": None}


@dataclass(frozen=True)
class Strategy:
    """A decoding strategy: the function that runs it, its own options with their defaults,
    and a few words that describe it with its settings.

    ``run(model, primer, steps, seconds, common, **options)`` returns the candidates, best (or
    first drawn) first; ``common`` holds :data:`COMMON_OPTIONS`. A ``stepwise`` strategy picks
    one event at a time, so it can also stop when the music lasts ``seconds``.

    Notebook: notebooks/05_beam_vs_stochastic_search.ipynb
    """

    name: str
    run: Callable[..., list]
    options: dict = field(default_factory=dict)
    stepwise: bool = False
    text: Callable[[dict], str] = repr

    def settings(self, options: dict) -> dict:
        """``options`` completed with the defaults.

        Raises:
            ValueError: an option this strategy does not read (the message lists those it does).
        """
        unknown = set(options) - set(self.options)
        if unknown:
            raise ValueError(f"the {self.name} strategy reads no option {sorted(unknown)}; "
                             f"its options: {list(self.options) or 'none'}")
        return {**self.options, **options}

    def describe(self, **options) -> str:
        """The strategy and its settings in a few words, e.g. ``"beam of 4"``."""
        return self.text(self.settings(options))


def _run_stepwise(choose, model, primer, steps, seconds, common, num_samples=None) -> list[np.ndarray]:
    batch = _check_batch(num_samples)
    if seconds is not None:
        return _for_seconds(model, primer, choose, seconds, controls=common["controls"], encoding=common["encoding"],
                            max_events=MAX_EVENTS if steps is None else steps, batch=batch,
                            progress=common["progress"], max_note_seconds=common["max_note_seconds"])
    primer = _check_primer(primer)
    limit = _note_limit(common["max_note_seconds"], primer, batch, common["encoding"])
    return list(_take(_event_stream(model, primer, choose, common["controls"], batch, limit), steps, batch))


def _run_sample(model, primer, steps, seconds, common, *, temperature, top_k, top_p, num_samples):
    choose = _sampling(temperature, top_k, top_p, common["generator"])
    return _run_stepwise(choose, model, primer, steps, seconds, common, num_samples)


def _run_greedy(model, primer, steps, seconds, common):
    return _run_stepwise(_most_likely, model, primer, steps, seconds, common)


def _run_beam(model, primer, steps, seconds, common, *, beam_size, length_penalty):
    found = beam_search(model, primer, steps, beam_size, controls=common["controls"], length_penalty=length_penalty,
                        progress=common["progress"], max_note_seconds=common["max_note_seconds"],
                        encoding=common["encoding"])
    return [h.events for h in found]


def _run_stochastic_beam(model, primer, steps, seconds, common, *, beam_size, temperature):
    found = stochastic_beam_search(model, primer, steps, beam_size, temperature, controls=common["controls"],
                                   generator=common["generator"], progress=common["progress"],
                                   max_note_seconds=common["max_note_seconds"], encoding=common["encoding"])
    return [h.events for h in found]


def _sampled_text(o: dict) -> str:
    return (f"sampled at T={o['temperature']:g}" + (f", top-k {o['top_k']}" if o["top_k"] else "")
            + (f", top-p {o['top_p']:g}" if o["top_p"] else ""))


STRATEGIES: dict[str, Strategy] = {s.name: s for s in (
    Strategy("sample", _run_sample, {"temperature": 1.0, "top_k": None, "top_p": None, "num_samples": None},
             stepwise=True, text=_sampled_text),
    Strategy("greedy", _run_greedy, {}, stepwise=True, text=lambda o: "greedy"),
    Strategy("beam", _run_beam, {"beam_size": 4, "length_penalty": 0.0}, text=lambda o: f"beam of {o['beam_size']}"),
    Strategy("stochastic-beam", _run_stochastic_beam, {"beam_size": 4, "temperature": 1.0},
             text=lambda o: f"stochastic beam of {o['beam_size']}, T={o['temperature']:g}"),
)}


def get_strategy(name: str) -> Strategy:
    """The strategy called ``name`` in :data:`STRATEGIES`.

    Raises:
        ValueError: an unknown name (the message lists the strategies).
    """
    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; choose from {list(STRATEGIES)}")
    return STRATEGIES[name]


def generate(model, primer: Sequence[int] | None = None, steps: int | None = None, strategy: str = "sample", *,
             seconds: float | None = None, every: bool = False, **options):
    """Continue ``primer`` with a decoding strategy of :data:`STRATEGIES`: the one place where
    a strategy is chosen (the studio, the command line and chapter 6's RAG all come here).

    Args:
        model: anything with ``step`` (and ``reorder_state`` for the beams).
        primer: event ids to continue (default: :func:`neutral_primer`).
        steps: events to generate; with ``seconds``, the most events (default 20,000).
        strategy: ``"sample"``, ``"greedy"``, ``"beam"`` or ``"stochastic-beam"``.
        seconds: generate until the music lasts this long (stepwise strategies only:
            sample and greedy); each piece stops at its own length.
        every: return every candidate (each beam, each sample), not only the first.
        **options: the strategy's own (``STRATEGIES[strategy].options``: temperature, top_k,
            top_p, num_samples, beam_size, length_penalty) and the common ones
            (:data:`COMMON_OPTIONS`: controls, generator, encoding, progress, and ``max_note_seconds``,
            the longest note, by constrained decoding — :class:`NoteLimit`; None, the default: no limit).

    Returns:
        The generated event ids (primer excluded) of the first candidate: the sample, the
        greedy path, the best beam, the first stochastic beam. With ``every`` or ``num_samples``,
        all of them: an (N, steps) array, or a list of arrays when ``seconds`` is given.

    Raises:
        ValueError: an unknown strategy, an option it does not read, or no length.

    Notebook: notebooks/05_beam_vs_stochastic_search.ipynb
    """
    chosen = get_strategy(strategy)
    common = {name: options.pop(name, default) for name, default in COMMON_OPTIONS.items()}
    settings = chosen.settings(options)
    if seconds is None and steps is None:
        raise ValueError("say how much to generate: steps (events) or seconds (music; sample and greedy only)")
    if seconds is not None and not chosen.stepwise:
        raise ValueError(f"the {strategy} strategy runs for a number of events, not seconds: give steps")
    primer = neutral_primer(common["encoding"]) if primer is None else primer
    found = chosen.run(model, primer, steps, seconds, common, **settings)
    if not every and settings.get("num_samples") is None:
        return found[0]
    return found if seconds is not None else np.stack(found)
