"""The claims ledger: every paper claim the course tests, with the measurement and verdict
its chapter printed, gathered from the executed notebooks into docs/claims.md.

    python tools/claims_ledger.py            # write docs/claims.md
    python tools/claims_ledger.py --check    # exit 1 if docs/claims.md differs from the notebooks

The convention (for whoever writes a chapter's measurement):

1. The claim is listed in ``docs/claims.toml`` (``[[claim]]``: ``id``, ``paper``, ``chapter``,
   ``statement``, ``measure``) with the chapter that measures it.
2. A code cell of that chapter's notebook (``notebooks/NN_name.ipynb``) computes the
   measurement as a :class:`course_lib.stats.Estimate` and calls
   ``course_lib.stats.claim(id, estimate, expect, than=..., margin=..., model=...)``, which
   prints, among its output, one line of the form

       CLAIM <id>: effect=<float> lo=<float> hi=<float> n=<int> verdict=<v> [kind=<k>] [unit=<u>]
                   [groups=<int>] [model=<name>]          (all on one line)

   where ``<v>`` is ``holds``, ``does-not-hold`` or ``cannot-tell`` and the values hold no
   spaces. A line may be printed by hand in the same form; ``kind`` is ``difference``
   (default), ``mean``, ``proportion`` or ``correlation``.
3. The notebook is executed and saved with its outputs (the stored outputs are what the
   book shows and what this tool reads; only ``stdout`` stream outputs of code cells count).
4. ``python tools/claims_ledger.py`` rewrites ``docs/claims.md``; commit it with the notebook.
   ``tests/test_claims_ledger.py`` fails while the two disagree.

Each claim is measured once: a second tag with the same id, a tag whose id is not in
``docs/claims.toml``, a tag in another chapter than the claim's, or a malformed ``CLAIM`` line
is an error that names the notebook and the cell (counted from 0). Claims no notebook
measures yet appear as "not yet measured".
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from course_lib.stats import VERDICTS, Estimate, format_estimate  # noqa: E402

CLAIMS = ROOT / "docs" / "claims.toml"
LEDGER = ROOT / "docs" / "claims.md"
NOTEBOOKS = ROOT / "notebooks"
_TAG = re.compile(r"^CLAIM (?P<id>[^\s:]+): (?P<fields>\S.*)$")
_REQUIRED = ("effect", "lo", "hi", "n", "verdict")
_OPTIONAL = ("kind", "unit", "groups", "model")
_KINDS = ("difference", "mean", "proportion", "correlation")


class LedgerError(ValueError):
    """A tag the ledger cannot accept (the message names the notebook and cell)."""


@dataclass(frozen=True)
class Measurement:
    """One ``CLAIM`` line of a notebook's stored output."""

    claim: str
    estimate: Estimate
    verdict: str
    model: str | None
    notebook: str
    cell: int


def load_claims(path: Path = CLAIMS) -> tuple[dict, list[dict]]:
    """The papers and the claims of ``docs/claims.toml`` (ids unique, papers known)."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    papers, claims = data.get("papers", {}), data.get("claim", [])
    seen = set()
    for c in claims:
        missing = [k for k in ("id", "paper", "chapter", "statement", "measure") if k not in c]
        if missing or c["paper"] not in papers or c["id"] in seen:
            raise LedgerError(f"{path.name}: claim {c.get('id')!r}: missing {missing}, unknown paper or a repeated id")
        seen.add(c["id"])
    return papers, claims


def parse_tag(line: str, where: str) -> tuple[str, dict]:
    """``(id, fields)`` of a ``CLAIM`` line; raises :class:`LedgerError` naming ``where``."""
    match = _TAG.match(line.strip())
    if not match:
        raise LedgerError(f"{where}: malformed claim line {line.strip()!r}; expected 'CLAIM <id>: effect=… lo=… "
                          "hi=… n=… verdict=…' (print it with course_lib.stats.claim)")
    fields = {}
    for token in match["fields"].split():
        key, eq, value = token.partition("=")
        if not eq or key not in _REQUIRED + _OPTIONAL or key in fields:
            raise LedgerError(f"{where}: claim {match['id']}: bad or repeated field {token!r}; fields are "
                              f"{', '.join(_REQUIRED + _OPTIONAL)}")
        fields[key] = value
    missing = [k for k in _REQUIRED if k not in fields]
    if missing or fields["verdict"] not in VERDICTS or fields.get("kind", "difference") not in _KINDS:
        raise LedgerError(f"{where}: claim {match['id']}: missing {missing} or a verdict/kind not in "
                          f"{sorted(VERDICTS)}/{list(_KINDS)}")
    return match["id"], fields


def _measurement(claim_id: str, fields: dict, notebook: str, cell: int) -> Measurement:
    where = f"{notebook} cell {cell}"
    try:
        est = Estimate(float(fields["effect"]), float(fields["lo"]), float(fields["hi"]), int(fields["n"]),
                       kind=fields.get("kind", "difference"), unit=fields.get("unit", "").replace("_", " "),
                       groups=int(fields["groups"]) if "groups" in fields else None)
    except ValueError as err:
        raise LedgerError(f"{where}: claim {claim_id}: a value is not a number ({err})") from None
    if not est.lo <= est.hi:
        raise LedgerError(f"{where}: claim {claim_id}: lo={est.lo} is above hi={est.hi}")
    return Measurement(claim_id, est, fields["verdict"], fields.get("model"), notebook, cell)


def read_tags(notebooks) -> list[Measurement]:
    """Every ``CLAIM`` line in the stored ``stdout`` of the notebooks' code cells."""
    found = []
    for path in notebooks:
        path = Path(path)
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        name = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name
        for i, cell in enumerate(cells):
            for out in cell.get("outputs", []) if cell["cell_type"] == "code" else []:
                if out.get("output_type") != "stream" or out.get("name") != "stdout":
                    continue
                text = out["text"] if isinstance(out["text"], str) else "".join(out["text"])
                for line in text.splitlines():
                    if line.startswith("CLAIM "):
                        found.append(_measurement(*parse_tag(line, f"{name} cell {i}"), name, i))
    return found


def _checked(claims: list[dict], measured: list[Measurement]) -> dict[str, Measurement]:
    """Measurements by claim id, refusing unknown ids, repeats and the wrong chapter."""
    chapter_of = {c["id"]: c["chapter"] for c in claims}
    by_id: dict[str, Measurement] = {}
    for m in measured:
        where = f"{m.notebook} cell {m.cell}"
        if m.claim not in chapter_of:
            raise LedgerError(f"{where}: claim {m.claim!r} is not in docs/claims.toml; add it there first")
        if m.claim in by_id:
            first = by_id[m.claim]
            raise LedgerError(f"{where}: claim {m.claim!r} is measured again (first in {first.notebook} cell "
                              f"{first.cell}); a claim has one measurement")
        if Path(m.notebook).stem != chapter_of[m.claim]:
            raise LedgerError(f"{where}: claim {m.claim!r} belongs to chapter {chapter_of[m.claim]}; move the "
                              "measurement or change the claim's chapter in docs/claims.toml")
        by_id[m.claim] = m
    return by_id


def _row(claim: dict, m: Measurement | None) -> str:
    cell = lambda text: str(text).replace("|", "\\|")  # noqa: E731
    if m is None:
        measured, verdict, where = "—", "not yet measured", f"{claim['chapter']} (planned)"
    else:
        measured = format_estimate(m.estimate) + (f"; model {m.model}" if m.model else "")
        verdict, where = f"**{VERDICTS[m.verdict]}**", f"{m.notebook}, cell {m.cell}"
    return (f"| `{claim['id']}` | {cell(claim['statement'])} | {cell(claim['measure'])} | {cell(measured)} "
            f"| {verdict} | {cell(where)} |")


def build_ledger(papers: dict, claims: list[dict], measured: list[Measurement]) -> str:
    """The text of ``docs/claims.md``."""
    by_id = _checked(claims, measured)
    counts = {label: 0 for label in list(VERDICTS.values()) + ["not yet measured"]}
    for c in claims:
        counts[VERDICTS[by_id[c["id"]].verdict] if c["id"] in by_id else "not yet measured"] += 1
    lines = ["# Claims ledger", "",
             "<!-- Generated by tools/claims_ledger.py from docs/claims.toml and the notebooks' stored "
             "outputs; do not edit by hand. -->", "",
             "Every claim of the papers that the course tests, with the measurement its chapter prints "
             "(effect, 95 % interval, n) and the verdict the interval allows: **holds**, **does not hold**, "
             "or **cannot tell at this size**. The statements paraphrase the papers. The models are small "
             "and trained on a CPU, so a verdict is about them, on this corpus.", "",
             f"{len(claims)} claims: " + ", ".join(f"{n} {label}" for label, n in counts.items()) + ".", ""]
    for key, paper in papers.items():
        rows = [c for c in claims if c["paper"] == key]
        if not rows:
            continue
        lines += [f"## {paper['cite']}", "", f"<{paper['url']}>", "",
                  "| claim | the paper (paraphrased) | how the course measures it | measured | verdict | where |",
                  "|---|---|---|---|---|---|"]
        lines += [_row(c, by_id.get(c["id"])) for c in rows] + [""]
    return "\n".join(lines)


def current_ledger(notebook_dir: Path = NOTEBOOKS, claims_path: Path = CLAIMS) -> str:
    """The ledger the notebooks' stored outputs give today."""
    papers, claims = load_claims(claims_path)
    return build_ledger(papers, claims, read_tags(sorted(notebook_dir.glob("[0-9]*.ipynb"))))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/claims.md is not up to date")
    args = parser.parse_args(argv)
    try:
        text = current_ledger()
    except LedgerError as err:
        print(f"claims ledger: {err}", file=sys.stderr)
        return 2
    if args.check:
        same = LEDGER.exists() and LEDGER.read_text(encoding="utf-8") == text
        state = "up to date" if same else "OUT OF DATE: run python tools/claims_ledger.py"
        print(f"{LEDGER.relative_to(ROOT)}: {state}")
        return 0 if same else 1
    LEDGER.write_text(text, encoding="utf-8")
    print(f"wrote {LEDGER.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
