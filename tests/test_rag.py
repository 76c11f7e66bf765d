"""Retrieval-augmented generation: request parsing, the retrievers, primers, end to end."""

import numpy as np
import pytest
import torch

from course_lib.corpus import load_works
from course_lib.encoding import PerformanceEncoding
from course_lib.models import PerformanceRNN
from course_lib.rag import (ContentRetriever, TagRetriever, generate, missing_tags, parse_request, primer_from,
                            retrieval_tags)

ENC = PerformanceEncoding()


@pytest.fixture(scope="module")
def folk():
    return list(load_works(collections=["ryansMammoth", "oneills1850"], progress=False))


def test_requests_become_tags():
    assert parse_request("a jig in D major, 6/8") == {"type:jig", "key:D major", "mode:major", "meter:6/8"}
    assert parse_request("a minor reel") == {"type:reel", "mode:minor"}      # "a" is an article, not a key
    assert parse_request("Slip jigs in E dorian") == {"type:slip jig", "key:E dorian", "mode:dorian"}
    assert parse_request("hornpipe in Bb") == {"type:hornpipe", "key:Bb major", "mode:major"}
    assert parse_request("something in F sharp minor, 9/8") == {"key:F# minor", "mode:minor", "meter:9/8"}
    with pytest.raises(ValueError, match="nothing recognised in 'play me something'.*a jig in D major"):
        parse_request("play me something")


def test_every_ryans_tune_parses_back_to_its_own_tags_or_is_reported(folk):
    ryans = [w for w in folk if w.collection == "ryansMammoth"]
    report = dict(missing_tags(ryans))
    assert len(ryans) > 1000 and len(report) < 20
    assert all(fields == ["type"] for fields in report.values())  # 14 tunes have no R: field
    for w in ryans:
        if w.id not in report:
            assert parse_request(f"a {w.type} in {w.key}, {w.meter}") == retrieval_tags(w), w.id


def test_tag_retrieval_ranks_by_jaccard_and_excludes(folk):
    retriever = TagRetriever([w for w in folk if w.split == "train"])
    hits = retriever.retrieve("a jig in D major, 6/8", k=3)
    assert len(hits) == 3 and all(s == 1.0 for _, s in hits)
    assert all(w.type == "jig" and w.key == "D major" and w.meter == "6/8" for w, _ in hits)
    again = retriever.retrieve("a jig in D major, 6/8", k=3, exclude={hits[0][0].id})
    assert hits[0][0].id not in {w.id for w, _ in again} and len(again) == 3


def test_content_retrieval_finds_a_tune_from_its_transposed_opening(folk):
    works = [w for w in folk if w.split == "train"][:400]
    retriever = ContentRetriever(works)
    target = works[123]
    (best, sim), *_ = retriever.retrieve(target.performance.slice(0, 8).transpose(2), k=3)
    assert best.id == target.id and sim > 0.1
    with pytest.raises(ValueError, match="too few"):
        retriever.retrieve(target.performance.slice(0, 0.01), k=1)


def test_primer_joins_openings_with_silence(folk):
    two = folk[:2]
    primer = primer_from(two, seconds=4, silence=1.5)
    first = ENC.encode(two[0].performance.slice(0, 4))
    assert np.array_equal(primer[: len(first)], first)
    gap = primer[len(first): len(first) + 2]
    assert ENC.event_names(gap) == ["TIME_SHIFT(1000 ms)", "TIME_SHIFT(500 ms)"]
    assert len(primer_from([])) == 1  # nothing retrieved: a lone velocity event


def test_rag_end_to_end_on_a_small_model(folk):
    torch.manual_seed(0)
    model = PerformanceRNN.from_profile("quick", embed_dim=16, hidden_size=32, num_layers=1).eval()
    retriever = TagRetriever([w for w in folk if w.split == "train"])
    primer = primer_from([w for w, _ in retriever.retrieve("a reel in G major", k=3)])
    g = torch.Generator().manual_seed(0)
    for strategy, options in [("sample", {"top_p": 0.9}), ("greedy", {}), ("beam", {"beam_size": 3}),
                              ("stochastic-beam", {"beam_size": 2})]:
        events = generate(model, primer, 20, strategy, generator=g, **options)
        assert events.shape == (20,) and events.min() >= 0 and events.max() < 388
    with pytest.raises(ValueError, match="unknown strategy"):
        generate(model, primer, 5, "nucleus")
