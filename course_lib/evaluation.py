"""One held-out evaluation set for the whole course, so that one model has one number.

``heldout-v1`` is a fixed list of 384 windows of 128 events (the length every shipped model
was trained on), cut from works of the corpus's **test** split (:func:`course_lib.corpus.split_of`,
never used in training or validation), stored in ``course_lib/data/eval/heldout-v1.json``:

* windows are cut as :class:`~course_lib.windows.EventWindows` cuts held-out music
  (``stride = length``: each starts on a note onset, windows of a work do not overlap);
* each period with test works gets an equal share (64 windows for each of six periods), so
  chapter 4 can read per-period rows off the same set; within a period the windows are spread
  over as many works as possible (one window per work before any work gets a second), works
  and windows taken in the order of a sha256 hash of their ids, so the choice is
  machine-independent and no piece is favoured;
* each window carries a digest of its events: if the corpus cache or the encoding changes,
  :func:`heldout_nll` refuses to report a number for a set that is no longer ``heldout-v1``.

The file also lists the test works per period and per tune type (``test_works``), for
chapters that generate from held-out requests rather than score windows.

The chapters, the registry and the benchmarks call :func:`heldout_nll`, which returns one NLL
per window (or per work) so that two models compare *paired*, window by window
(:func:`compare_nll`, with :mod:`course_lib.stats`). ``python tools/build_eval_set.py`` rebuilds
the file; ``tests/test_evaluation.py`` checks that the rebuild equals the shipped file.

Notebook: notebooks/02_teacher_forcing.ipynb (one number per model), and every chapter that
compares NLLs (03, 04, 07)
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

__all__ = ["EVAL_SET", "EVAL_DIR", "Scores", "eval_set", "eval_windows", "eval_works", "build_eval_set",
           "write_eval_set", "heldout_nll", "compare_nll", "EvalSetError"]

EVAL_SET = "heldout-v1"
EVAL_DIR = Path(__file__).parent / "data" / "eval"
# How heldout-v1 is drawn (build_eval_set's defaults): change them only under a new name.
_LENGTH, _SIZE, _SPLIT = 128, 384, "test"


class EvalSetError(RuntimeError):
    """The evaluation set is missing, unknown, or no longer matches the corpus."""


def _rank(text: str) -> bytes:
    """A machine-independent pseudo-random order: the sha256 of a string."""
    return hashlib.sha256(text.encode("utf-8")).digest()


def _digest(events) -> str:
    """A short fingerprint of a window's events (int16 bytes → sha256, 16 hex digits)."""
    return hashlib.sha256(np.asarray(events, dtype=np.int16).tobytes()).hexdigest()[:16]


@lru_cache(maxsize=4)
def eval_set(name: str = EVAL_SET) -> dict:
    """The shipped evaluation set as stored: ``name``, ``length``, ``rule``, ``windows``
    (dicts with ``work``, ``start``, ``period``, ``digest``) and ``test_works``.

    Args:
        name: the set's name (``"heldout-v1"``).

    Returns:
        The parsed JSON (cached; do not modify it).

    Raises:
        EvalSetError: no such set ships with this version of the package.

    Notebook: notebooks/02_teacher_forcing.ipynb
    """
    path = EVAL_DIR / f"{name}.json"
    if not path.exists():
        shipped = sorted(p.stem for p in EVAL_DIR.glob("*.json"))
        raise EvalSetError(f"no evaluation set {name!r} in {EVAL_DIR}; shipped: {shipped or 'none'} "
                           "(rebuild with: python tools/build_eval_set.py)")
    return json.loads(path.read_text(encoding="utf-8"))


def eval_windows(name: str = EVAL_SET) -> list[tuple[str, int]]:
    """The windows of the set as ``(work id, start event)``, in the set's order.

    ``start`` is the index, in the work's full encoding, of the window's first event; the
    window holds ``length + 1`` events (the model reads ``length`` and predicts ``length``).

    Args:
        name: the set's name.

    Returns:
        A list of ``(work id, start event)`` pairs, 384 for ``heldout-v1``.

    Notebook: notebooks/02_teacher_forcing.ipynb, notebooks/04_time_period_conditioning.ipynb
    """
    return [(w["work"], int(w["start"])) for w in eval_set(name)["windows"]]


def eval_works(by: str = "period", name: str = EVAL_SET) -> dict[str, list[str]]:
    """Every work of the test split grouped by ``"period"`` or ``"tune_type"`` (the types of
    :data:`course_lib.rag.TUNE_TYPES`), including works too short for a window.

    Args:
        by: ``"period"`` or ``"tune_type"``.
        name: the set's name.

    Returns:
        ``{label: [work id, ...]}``, labels in the corpus's order, ids sorted.

    Notebook: notebooks/04_time_period_conditioning.ipynb (periods), notebooks/06_rag_jaccard.ipynb
    (held-out requests by tune type)
    """
    groups = eval_set(name)["test_works"]
    if by not in groups:
        raise ValueError(f"eval_works: by must be one of {sorted(groups)}, not {by!r}")
    return {label: list(ids) for label, ids in groups[by].items()}


# -- building the set ------------------------------------------------------------------------
def _period_quotas(available: dict[str, int], size: int) -> dict[str, int]:
    """Equal shares of ``size`` over the periods; a period with fewer windows gives its
    unused share to the others (filled smallest first)."""
    quotas, left = {}, size
    for i, period in enumerate(sorted(available, key=available.get)):
        quotas[period] = min(available[period], left // (len(available) - i))
        left -= quotas[period]
    return quotas


def _spread(windows_of: dict[str, list[int]], quota: int) -> list[tuple[str, int]]:
    """``quota`` windows from the works of one period: round by round, one window per work
    (works and their windows in hash order), so as many works as possible are represented."""
    works = sorted(windows_of, key=_rank)
    queues = {w: sorted(windows_of[w], key=lambda s, w=w: _rank(f"{w}@{s}")) for w in works}
    chosen, depth = [], 0
    while len(chosen) < quota:
        for w in works:
            if depth < len(queues[w]) and len(chosen) < quota:
                chosen.append((w, queues[w][depth]))
        depth += 1
    return chosen


def build_eval_set(works=None, *, name: str = EVAL_SET, length: int = _LENGTH, size: int = _SIZE) -> dict:
    """Draw the evaluation set from the corpus (what ``tools/build_eval_set.py`` writes).

    Args:
        works: the corpus (default :func:`course_lib.corpus.load_works`).
        name: the name stored in the set.
        length: events a model reads per window.
        size: windows in the set.

    Returns:
        The set as :func:`eval_set` returns it.

    Notebook: none (the rule is explained in this module's docstring and chapter 2)
    """
    from .corpus import PERIODS, UNKNOWN, load_works
    from .rag import TUNE_TYPES
    from .windows import EventWindows

    works = load_works(progress=False) if works is None else works
    test = [w for w in works if w.split == _SPLIT]
    cut = EventWindows(test, length, stride=length)
    order = {p: i for i, p in enumerate(PERIODS + (UNKNOWN,))}
    by_period: dict[str, dict[str, list[int]]] = {}
    position = {}
    for i, (w, start, _) in enumerate(cut._index.tolist()):
        by_period.setdefault(test[w].period, {}).setdefault(test[w].id, []).append(start)
        position[(test[w].id, start)] = i
    quotas = _period_quotas({p: sum(map(len, ws.values())) for p, ws in by_period.items()}, size)
    chosen = [(p, *pair) for p in by_period for pair in _spread(by_period[p], quotas[p])]
    chosen.sort(key=lambda t: (order.get(t[0], len(order)), t[1], t[2]))
    windows = [{"work": work, "start": start, "period": period,
                "digest": _digest(cut[position[(work, start)]]["events"].numpy())}
               for period, work, start in chosen]
    periods = sorted({w.period for w in test}, key=lambda p: order.get(p, len(order)))
    test_works = {
        "period": {p: sorted(w.id for w in test if w.period == p) for p in periods},
        "tune_type": {t: ids for t in TUNE_TYPES if (ids := sorted(w.id for w in test if w.type == t))},
    }
    rule = (f"{size} windows of {length} events (+1 target) from the {_SPLIT} split, cut like EventWindows "
            f"with stride {length}; equal shares per period, spread one window per work per round, works "
            "and windows in sha256 order of their ids")
    return {"name": name, "length": length, "split": _SPLIT, "size": len(windows), "rule": rule,
            "windows": windows, "test_works": test_works}


def write_eval_set(data: dict, folder: str | Path = EVAL_DIR) -> Path:
    """Write a set built by :func:`build_eval_set` as ``folder/<name>.json`` (one window a line).

    Args:
        data: the set, as :func:`build_eval_set` returns it.
        folder: where to write (default the package's ``data/eval``).

    Returns:
        The file written.

    Notebook: none (``tools/build_eval_set.py`` calls it)
    """
    head = {k: v for k, v in data.items() if k not in ("windows", "test_works")}
    lines = ["{"] + [f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}," for k, v in head.items()]
    lines += ['  "windows": [', ",\n".join(f"    {json.dumps(w)}" for w in data["windows"]), "  ],"]
    works = json.dumps(data["test_works"], indent=2, ensure_ascii=False).replace("\n", "\n  ")
    lines += [f'  "test_works": {works}', "}"]
    path = Path(folder) / f"{data['name']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# -- scoring a model ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Scores:
    """A model's NLL on the evaluation set, one value per window (or per work).

    Attributes:
        name: the evaluation set (``"heldout-v1"``).
        per: ``"window"`` or ``"work"``.
        keys: ``(work id, start)`` per window, or the work id per work.
        values: mean NLL per event (nats) of each window (of each work's windows).
        works: the work id of each value (the groups for a bootstrap over pieces).
        periods: the period of each value.

    ``mean`` is the model's number on the set: with ``per="window"`` it equals the mean NLL
    per event over all the set's events (every window has the same length).
    """

    name: str
    per: str
    keys: tuple
    values: np.ndarray
    works: np.ndarray
    periods: np.ndarray

    @property
    def mean(self) -> float:
        return float(self.values.mean())

    @property
    def n(self) -> int:
        return int(self.values.size)

    def __float__(self) -> float:
        return self.mean

    def by_period(self) -> dict[str, "Scores"]:
        """The scores of each period, e.g. for chapter 4's per-period rows.

        Returns:
            ``{period: Scores}`` in the set's order (64 windows each in ``heldout-v1``).

        Notebook: notebooks/04_time_period_conditioning.ipynb
        """
        out = {}
        for period in dict.fromkeys(self.periods.tolist()):
            hit = self.periods == period
            out[period] = Scores(self.name, self.per, tuple(k for k, h in zip(self.keys, hit) if h),
                                 self.values[hit], self.works[hit], self.periods[hit])
        return out

    def per_work(self) -> "Scores":
        """One value per work, for comparisons paired by piece.

        Returns:
            :class:`Scores` with ``per="work"``: the mean of each work's windows, works in
            order of first appearance (its ``mean`` weighs every work equally).

        Notebook: notebooks/04_time_period_conditioning.ipynb
        """
        if self.per == "work":
            return self
        ids = list(dict.fromkeys(self.works.tolist()))
        index = {w: i for i, w in enumerate(ids)}
        which = np.array([index[w] for w in self.works.tolist()])
        values = np.bincount(which, weights=self.values) / np.bincount(which)
        periods = np.array([self.periods[which == i][0] for i in range(len(ids))])
        return Scores(self.name, "work", tuple(ids), values, np.array(ids), periods)

    def __str__(self) -> str:
        unit = "windows" if self.per == "window" else "works"
        return f"{self.mean:.3f} nats/event on {self.name} ({self.n} {unit})"


class _Items:
    """The set's windows as :func:`course_lib.training.window_losses` reads them: items by
    index, and ``controls`` (the spec) for telling a conditioned model only some controls."""

    def __init__(self, items: list[dict], controls) -> None:
        self.items, self.controls = items, controls

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict:
        return self.items[i]


_ITEMS: dict[tuple, tuple] = {}  # (set, controls, id(works)) → (works, _Items): at most a few


def _items(name: str, spec, works) -> _Items:
    """The set's windows (with the spec's controls), cut from ``works``; built once per
    (set, controls, corpus) and checked against the stored digests."""
    key = (name, spec.names if spec is not None else None, None if works is None else id(works))
    if key in _ITEMS:
        return _ITEMS[key][1]
    from .corpus import load_works
    from .windows import EventWindows

    data = eval_set(name)
    corpus = load_works(progress=False) if works is None else works
    wanted = {w["work"] for w in data["windows"]}
    chosen = [w for w in corpus if w.id in wanted]
    missing = wanted - {w.id for w in chosen}
    if missing:
        raise EvalSetError(f"{name}: {len(missing)} of its works are not in the corpus given (e.g. "
                           f"{sorted(missing)[:3]}); pass the whole corpus (load_works()) or works=None")
    cut = EventWindows(chosen, data["length"], stride=data["length"], controls=spec)
    position = {(chosen[w].id, s): i for i, (w, s, _) in enumerate(cut._index.tolist())}
    items, stale = [], []
    for w in data["windows"]:
        i = position.get((w["work"], w["start"]))
        item = cut[i] if i is not None else None
        if item is None or _digest(item["events"].numpy()) != w["digest"]:
            stale.append(f"{w['work']}@{w['start']}")
        items.append(item)
    if stale:
        raise EvalSetError(f"{name}: {len(stale)} window(s) differ from the shipped set (e.g. {stale[:3]}): the "
                           "corpus cache or the encoding changed. Restore them, or build a new set under a new "
                           "name (python tools/build_eval_set.py --name heldout-v2) and say so in the chapters")
    if len(_ITEMS) >= 4:
        _ITEMS.pop(next(iter(_ITEMS)))
    _ITEMS[key] = (works, _Items(items, spec))  # holds the caller's corpus so its id stays its own
    return _ITEMS[key][1]


def _control_spec(model):
    config = getattr(model, "train_config", None)
    spec = config.control_spec() if config is not None else None
    needs = getattr(getattr(model, "config", None), "control_dim", 0)
    if spec is None and needs:
        raise ValueError("heldout_nll: this model reads controls but has no train_config to say which; "
                         "load it with course_lib.training.load_model or load_pretrained")
    return spec


def heldout_nll(model, *, per: str = "window", given=None, works=None, name: str = EVAL_SET,
                batch_size: int = 64) -> Scores:
    """The model's NLL on the course's evaluation set: the one number the chapters, the
    registry and the benchmarks report for a model, kept per window so comparisons pair up.

    Args:
        model: a trained model (a :func:`~course_lib.pretrained.load_pretrained` or
            :func:`~course_lib.training.load_model` result, on any device).
        per: ``"window"`` (one value per window) or ``"work"`` (the mean of each work's windows).
        given: for a conditioned model, the controls it is told (the others are presented
            as missing, c0 = 1); None tells it every control it reads. Event-based controls
            (density, pitch classes) are computed from the very notes being predicted, so
            compare such NLLs with an unconditioned model's only through the metadata controls.
        works: the loaded corpus, to save loading it again (default: load it).
        name: the evaluation set.
        batch_size: windows per forward pass.

    Returns:
        :class:`Scores`; ``.mean`` is the model's number, ``.values`` the per-window NLLs.

    Raises:
        EvalSetError: the set is missing or no longer matches the corpus.

    Notebook: notebooks/02_teacher_forcing.ipynb, notebooks/03_control_signals.ipynb,
    notebooks/04_time_period_conditioning.ipynb, notebooks/07_music_transformer.ipynb
    """
    from .training import window_losses

    if per not in ("window", "work"):
        raise ValueError(f"heldout_nll: per must be 'window' or 'work', not {per!r}")
    spec = _control_spec(model)
    if spec is None and given:
        raise ValueError("heldout_nll: `given` names controls, but this model reads none")
    data = eval_set(name)
    items = _items(name, spec, works)
    values = window_losses(model, items, given=given, batch_size=batch_size).astype(np.float64)
    ids = np.array([w["work"] for w in data["windows"]])
    scores = Scores(name, "window", tuple((w["work"], w["start"]) for w in data["windows"]), values, ids,
                    np.array([w["period"] for w in data["windows"]]))
    return scores.per_work() if per == "work" else scores


def compare_nll(a: Scores, b: Scores, *, n_boot: int = 10_000, seed: int = 0):
    """How much lower model B's NLL is than model A's, paired window by window, with a 95 %
    interval from a bootstrap over *works* (windows of one piece are not independent).

    Args:
        a, b: :func:`heldout_nll` results of two models on the same set, same ``per``.
        n_boot, seed: as in :func:`course_lib.stats.paired_bootstrap`.

    Returns:
        A :class:`course_lib.stats.Estimate` of ``mean(a) - mean(b)`` in nats (positive: B is
        better); print it with :func:`course_lib.stats.format_estimate` (``group_name="works"``).

    Notebook: notebooks/02_teacher_forcing.ipynb, notebooks/04_time_period_conditioning.ipynb,
    notebooks/07_music_transformer.ipynb
    """
    from .stats import paired_bootstrap

    if (a.name, a.per, a.keys) != (b.name, b.per, b.keys):
        raise ValueError(f"compare_nll: the two scores are on different windows ({a.name}/{a.per}, "
                         f"{b.name}/{b.per}); score both models with heldout_nll the same way")
    return paired_bootstrap(a.values, b.values, groups=a.works, n_boot=n_boot, seed=seed, unit="nats")
