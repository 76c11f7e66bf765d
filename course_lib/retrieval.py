"""Set similarity over music: tags and n-gram shingles, Jaccard similarity, and two
indexes that find the most similar sets: exact (sparse matrix products) and approximate
(MinHash LSH, for collections too large for exact search).

J(A, B) = |A ∩ B| / |A ∪ B|. Chapter 4 uses it to measure how close generated music
comes to the pieces its controls were taken from; Chapter 6 retrieves with it.

Notebooks: notebooks/04_time_period_conditioning.ipynb, notebooks/06_rag_jaccard.ipynb
"""

from __future__ import annotations

import hashlib
from typing import Hashable, Iterable, Sequence

import numpy as np
from scipy import sparse

from .encoding import PerformanceEncoding
from .performance import Performance

__all__ = ["jaccard", "containment", "shingles", "SHINGLE_KINDS", "tags", "JaccardIndex", "MinHashIndex",
           "minhash_signatures", "longest_common_run", "CopyDetector"]

SHINGLE_KINDS = ("pitch", "interval", "rhythm", "event")


def jaccard(a: Iterable[Hashable], b: Iterable[Hashable]) -> float:
    """|A ∩ B| / |A ∪ B| of two collections of hashable items (0 when both are empty)."""
    a, b = set(a), set(b)
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def containment(a: Iterable[Hashable], b: Iterable[Hashable]) -> float:
    """|A ∩ B| / |A|: the share of A's items that B also has (0 when A is empty)."""
    a = set(a)
    return len(a & set(b)) / len(a) if a else 0.0


def shingles(performance: Performance, kind: str = "pitch", n: int = 4,
             encoding: PerformanceEncoding | None = None) -> set[tuple]:
    """The set of n-grams ("shingles") of a performance.

    kinds: ``'pitch'`` (pitches in onset order), ``'interval'`` (differences of
    consecutive pitches: unchanged by transposition), ``'rhythm'`` (inter-onset
    intervals between distinct onsets, in the encoding's 10 ms steps), ``'event'``
    (Performance-RNN event ids).

    Raises:
        ValueError: ``n < 1`` or an unknown kind.
    """
    if n < 1:
        raise ValueError(f"n-grams need n >= 1, got {n}")
    if kind == "pitch":
        seq = performance.pitch
    elif kind == "interval":
        seq = np.diff(performance.pitch.astype(np.int64))
    elif kind == "rhythm":
        steps = np.unique((encoding or PerformanceEncoding()).quantize(performance.start))
        seq = np.diff(steps)
    elif kind == "event":
        seq = (encoding or PerformanceEncoding()).encode(performance)
    else:
        raise ValueError(f"unknown shingle kind {kind!r}; choose from {list(SHINGLE_KINDS)}")
    return _ngram_set(seq, n)


def _ngram_set(seq, n: int) -> set[tuple]:
    """The distinct n-grams of an integer sequence, as tuples of ints."""
    seq = np.asarray(seq, dtype=np.int64)
    if len(seq) < n:
        return set()
    return set(map(tuple, np.lib.stride_tricks.sliding_window_view(seq, n).tolist()))


def tags(work) -> set[str]:
    """The work's metadata as a set of ``"name:value"`` tags: tune ``type``, ``meter``,
    ``mode``, ``key``, ``period`` and ``composer`` (those it has)."""
    values = {"type": getattr(work, "type", None), "meter": getattr(work, "meter", None),
              "mode": getattr(work, "mode", None), "key": getattr(work, "key", None),
              "period": getattr(work, "period", None), "composer": getattr(work, "composer", None)}
    return {f"{name}:{value}" for name, value in values.items() if value}


def _check_query(query, k: int) -> set:
    if int(k) < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    query = set(query)
    if not query:
        raise ValueError("the query set is empty: nothing to compare (give at least one tag or shingle)")
    return query


def _ranked(index: np.ndarray, similarity: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The k best (index, similarity) pairs, ties broken by the lower index."""
    if len(similarity) > 4 * k:  # sort only what can make the top k (ties with the k-th included)
        kth = np.partition(similarity, len(similarity) - k)[len(similarity) - k]
        keep = similarity >= kth
        index, similarity = index[keep], similarity[keep]
    order = np.lexsort((index, -similarity))[:k]
    return [(int(index[i]), float(similarity[i])) for i in order]


class JaccardIndex:
    """Exact Jaccard search over a fixed collection of sets.

    The sets become a sparse binary matrix M (sets × distinct items). For a query set q,
    |A ∩ q| for every set at once is one sparse product q · Mᵀ, which touches only the
    sets that share an item with q; |A ∪ q| = |A| + |q| − |A ∩ q|.

    Notebook: notebooks/06_rag_jaccard.ipynb
    """

    def __init__(self, sets: Iterable[Iterable[Hashable]]) -> None:
        self.vocabulary: dict = {}
        indptr, indices = [0], []
        for s in sets:
            cols = {self.vocabulary.setdefault(item, len(self.vocabulary)) for item in s}
            indices.extend(sorted(cols))
            indptr.append(len(indices))
        n = len(indptr) - 1
        data = np.ones(len(indices), dtype=np.float32)
        matrix = sparse.csr_matrix((data, np.array(indices, dtype=np.int64), np.array(indptr, dtype=np.int64)),
                                   shape=(n, max(len(self.vocabulary), 1)))
        self._items_by_set = matrix.T.tocsr()   # item → the sets that have it
        self.sizes = np.diff(matrix.indptr).astype(np.float64)

    def __len__(self) -> int:
        return len(self.sizes)

    def _overlaps(self, query: set) -> tuple[np.ndarray, np.ndarray]:
        """(indices of the sets that share an item with ``query``, |A ∩ query| for each)."""
        cols = np.array(sorted(self.vocabulary[item] for item in query if item in self.vocabulary), dtype=np.int32)
        q = sparse.csr_matrix((np.ones(len(cols), np.float32), cols, np.array([0, len(cols)], dtype=np.int32)),
                              shape=(1, self._items_by_set.shape[0]))
        hits = (q @ self._items_by_set).tocoo()
        return hits.col.astype(np.int64), hits.data.astype(np.float64)

    def similarities(self, query: Iterable[Hashable]) -> np.ndarray:
        """J(A, query) for every set A of the index, as one array."""
        query = _check_query(query, 1)
        index, inter = self._overlaps(query)
        out = np.zeros(len(self))
        out[index] = inter / (self.sizes[index] + len(query) - inter)
        return out

    def query(self, query: Iterable[Hashable], k: int = 10) -> list[tuple[int, float]]:
        """The k most similar sets as ``(index, similarity)``, best first; ties go to the
        lower index.

        Raises:
            ValueError: ``k < 1`` or an empty query.
        """
        query = _check_query(query, k)
        index, inter = self._overlaps(query)
        similarity = inter / (self.sizes[index] + len(query) - inter)
        if len(index) < k:  # not enough overlapping sets: fill with similarity-0 sets, lowest index first
            rest = np.setdiff1d(np.arange(len(self)), index)[: k - len(index)]
            index, similarity = np.concatenate([index, rest]), np.concatenate([similarity, np.zeros(len(rest))])
        return _ranked(index, similarity, k)


# -- MinHash -------------------------------------------------------------------------------------
_MAX_HASH = np.uint64((1 << 32) - 1)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _stable_hash(item) -> int:
    """Python's ``hash`` where it is the same in every process (ints, tuples of ints),
    a digest of ``repr`` where it is not (strings are salted per process)."""
    if isinstance(item, (int, np.integer)) or (isinstance(item, tuple) and all(isinstance(x, int) for x in item)):
        return hash(item)
    return int.from_bytes(hashlib.blake2b(repr(item).encode(), digest_size=8).digest(), "little", signed=True)


def _item_hashes(items: Iterable[Hashable]) -> np.ndarray:
    """A 64-bit hash of each item, mixed (Fibonacci hashing) so nearby ints spread out."""
    raw = np.fromiter((_stable_hash(x) for x in items), dtype=np.int64).view(np.uint64)
    return raw * _GOLDEN


def minhash_signatures(sets: Sequence[Iterable[Hashable]], num_perm: int = 128, seed: int = 1,
                       chunk_items: int = 4096) -> np.ndarray:
    """(N, num_perm) MinHash signatures of many sets at once, vectorised with numpy.

    Permutation i maps an item's 64-bit hash x to the top 32 bits of (a_i·x + b_i) mod 2⁶⁴
    (multiply-shift hashing, a_i odd), and a set's signature keeps the minimum over its
    items; an empty set gets 2³² − 1 everywhere. Items are processed a few thousand at a
    time so the (items × num_perm) block stays in the CPU cache — about 8× faster here than
    one big block.
    """
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 1 << 63, num_perm, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    b = rng.integers(0, 1 << 63, num_perm, dtype=np.uint64)
    sets = [s if isinstance(s, (set, frozenset, list, tuple)) else list(s) for s in sets]
    sizes = np.fromiter((len(s) for s in sets), dtype=np.int64, count=len(sets))
    hashes = _item_hashes(x for s in sets for x in s)
    ends = np.cumsum(sizes)
    starts = ends - sizes
    out = np.full((len(sets), num_perm), _MAX_HASH, dtype=np.uint64)
    first = 0
    while first < len(sets):
        last = max(first + 1, int(np.searchsorted(ends, starts[first] + chunk_items, side="right")))
        lo, hi = starts[first], ends[last - 1]
        if hi > lo:
            y = hashes[lo:hi, None] * a[None]
            y += b[None]
            y >>= np.uint64(32)
            keep = sizes[first:last] > 0
            out[first:last][keep] = np.minimum.reduceat(y, (starts[first:last] - lo)[keep], axis=0)
        first = last
    return out


class _Signature:
    """What datasketch's LSH index reads of a MinHash: its hash values (computed here, by
    :func:`minhash_signatures`, for many sets at once) and their scheme's name."""

    scheme = "course_lib.affine32"

    def __init__(self, hashvalues: np.ndarray) -> None:
        self.hashvalues = hashvalues

    def __len__(self) -> int:
        return len(self.hashvalues)


class MinHashIndex:
    """Approximate Jaccard search for large collections: MinHash signatures in datasketch's
    LSH index find candidates whose similarity is likely above ``threshold``; the candidates
    are then re-ranked by their exact Jaccard similarity.

    Notebook: notebooks/06_rag_jaccard.ipynb
    """

    def __init__(self, sets: Sequence[Iterable[Hashable]], num_perm: int = 128, threshold: float = 0.5,
                 seed: int = 1) -> None:
        from datasketch import MinHashLSH

        self.num_perm, self.seed = num_perm, seed
        self.sets = sets
        # bytes keys and no pickling: the fastest way into datasketch's in-memory tables
        self.lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, prepickle=False)
        signatures = minhash_signatures(sets, num_perm, seed)
        with self.lsh.insertion_session() as session:
            for i, hv in enumerate(signatures):
                session.insert(i.to_bytes(8, "little"), _Signature(hv), check_duplication=False)

    def __len__(self) -> int:
        return len(self.sets)

    def query(self, query: Iterable[Hashable], k: int = 10) -> list[tuple[int, float]]:
        """Like :meth:`JaccardIndex.query`, over the LSH candidates only (so it may return
        fewer than k, and miss sets below the threshold)."""
        query = _check_query(query, k)
        hv = minhash_signatures([query], self.num_perm, self.seed)[0]
        keys = self.lsh.query(_Signature(hv))
        candidates = np.array(sorted(int.from_bytes(key, "little") for key in keys), dtype=np.int64)
        similarity = np.array([jaccard(query, self.sets[i]) for i in candidates], dtype=np.float64)
        return _ranked(candidates, similarity, k)


# -- copy detection -----------------------------------------------------------------------------
def longest_common_run(a, b) -> int:
    """Length of the longest run of consecutive items that ``a`` and ``b`` share (the
    longest common substring), by binary search over the length with sets of n-grams."""
    a, b = np.asarray(a).tolist(), np.asarray(b).tolist()

    def shared(n: int) -> bool:
        grams = {tuple(b[i:i + n]) for i in range(len(b) - n + 1)}
        return any(tuple(a[i:i + n]) in grams for i in range(len(a) - n + 1))

    lo, hi = 0, min(len(a), len(b))
    while lo < hi:  # invariant: a run of lo is shared; is one of mid?
        mid = (lo + hi + 1) // 2
        if shared(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


class CopyDetector:
    """How close a generated piece comes to any of a set of (training) works: the highest
    Jaccard similarity of event n-gram sets, the share of the piece's n-grams found in that
    work, and the longest run of events the two share.

    Notebook: notebooks/06_rag_jaccard.ipynb
    """

    def __init__(self, works: Sequence, n: int = 8, encoding: PerformanceEncoding | None = None) -> None:
        self.works, self.n = list(works), n
        self.encoding = encoding or PerformanceEncoding()
        self._events = [self.encoding.encode(w.performance) for w in self.works]
        self.index = JaccardIndex([_ngram_set(e, n) for e in self._events])

    def check(self, events, candidates: int = 5) -> dict:
        """For ``events``: ``work`` (the closest work by Jaccard), ``jaccard``, ``containment``
        and ``longest_run`` (events; the longest over the ``candidates`` closest works)."""
        grams = _ngram_set(events, self.n)
        if not grams:
            raise ValueError(f"{len(events)} events are too few for one {self.n}-gram")
        hits = self.index.query(grams, candidates)
        best, sim = hits[0]
        runs = [longest_common_run(events, self._events[i]) for i, _ in hits]
        return {"work": self.works[best], "jaccard": sim,
                "containment": containment(grams, _ngram_set(self._events[best], self.n)),
                "longest_run": max(runs)}

