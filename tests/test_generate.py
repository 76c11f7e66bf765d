"""One entry point, one table of strategies: ``search.generate`` gives what each search gives."""

import inspect

import numpy as np
import pytest
import torch

from course_lib import rag, search
from course_lib.encoding import PerformanceEncoding
from course_lib.search import STRATEGIES, generate, generate_seconds, get_strategy, neutral_primer
from course_lib.toy import RandomModel

ENC = PerformanceEncoding()
PRIMER = [370, 60, 62, 300]


@pytest.fixture(scope="module")
def model():
    return RandomModel(seed=3)


def _seeded():
    return torch.Generator().manual_seed(7)


def test_each_strategy_gives_what_its_search_gives(model):
    assert np.array_equal(generate(model, PRIMER, 30, "sample", generator=_seeded(), top_p=0.9),
                          search.sample(model, PRIMER, 30, top_p=0.9, generator=_seeded()))
    assert np.array_equal(generate(model, PRIMER, 30, "greedy"), search.greedy(model, PRIMER, 30))
    beams = search.beam_search(model, PRIMER, 12, 3)
    assert np.array_equal(generate(model, PRIMER, 12, "beam", beam_size=3), beams[0].events)
    assert np.array_equal(generate(model, PRIMER, 12, "beam", beam_size=3, every=True), [h.events for h in beams])
    drawn = search.stochastic_beam_search(model, PRIMER, 12, 2, 0.8, generator=_seeded())
    assert np.array_equal(generate(model, PRIMER, 12, "stochastic-beam", beam_size=2, temperature=0.8,
                                   generator=_seeded()), drawn[0].events)
    batch = generate(model, PRIMER, 10, "sample", num_samples=3, generator=_seeded())
    assert batch.shape == (3, 10)
    assert np.array_equal(batch, search.sample(model, PRIMER, 10, num_samples=3, generator=_seeded()))


def test_rag_generate_is_the_same_entry_point(model):
    for strategy, options in [("sample", {"top_k": 20}), ("greedy", {}), ("stochastic-beam", {"beam_size": 2})]:
        assert np.array_equal(rag.generate(model, PRIMER, 15, strategy, _seeded(), **options),
                              generate(model, PRIMER, 15, strategy, generator=_seeded(), **options))


def test_stepwise_strategies_run_for_seconds(model):
    sampled = generate(model, None, strategy="sample", seconds=2.0, generator=_seeded(), temperature=0.9)
    assert np.array_equal(sampled, generate_seconds(model, 2.0, temperature=0.9, generator=_seeded()))
    assert ENC.clock(sampled)[1] >= 200
    path = generate(model, PRIMER, strategy="greedy", seconds=2.0)
    # greedy for seconds is greedy search cut where the music reaches two seconds
    assert np.array_equal(path, search.greedy(model, PRIMER, len(path)))
    # ... and what the command line and the studio used to run: sampling with top_k=1
    assert np.array_equal(path, generate_seconds(model, 2.0, PRIMER, top_k=1, generator=_seeded()))
    pieces = generate(model, PRIMER, strategy="sample", seconds=1.0, num_samples=3, generator=_seeded())
    assert isinstance(pieces, list) and len(pieces) == 3
    assert len(generate(model, PRIMER, 7, "greedy", seconds=60.0)) == 7   # steps caps the events


def test_the_neutral_primer_is_the_default(model):
    assert neutral_primer().tolist() == [ENC.velocity(int(ENC.velocity_to_bin(70)))]
    assert np.array_equal(generate(model, None, 10, "greedy"), search.greedy(model, neutral_primer(), 10))
    assert np.array_equal(rag.primer_from([]), neutral_primer())


def test_the_table_names_each_functions_own_options():
    searches = {"sample": search.sample, "greedy": search.greedy, "beam": search.beam_search,
                "stochastic-beam": search.stochastic_beam_search}
    assert list(STRATEGIES) == list(searches)
    for name, strategy in STRATEGIES.items():
        parameters = inspect.signature(searches[name]).parameters
        for option, default in strategy.options.items():
            assert option in parameters, (name, option)
            if parameters[option].default is not inspect.Parameter.empty:
                assert parameters[option].default == default, (name, option)
    assert [s.stepwise for s in STRATEGIES.values()] == [True, True, False, False]


def test_descriptions():
    assert get_strategy("sample").describe(temperature=0.8, top_p=0.9) == "sampled at T=0.8, top-p 0.9"
    assert get_strategy("greedy").describe() == "greedy"
    assert get_strategy("beam").describe(beam_size=8) == "beam of 8"
    assert get_strategy("stochastic-beam").describe() == "stochastic beam of 4, T=1"


@pytest.mark.parametrize("call, message", [
    (lambda m: generate(m, PRIMER, 5, "nucleus"), "unknown strategy 'nucleus'; choose from"),
    (lambda m: generate(m, PRIMER, 5, "greedy", temperature=0.5), "greedy strategy reads no option"),
    (lambda m: generate(m, PRIMER, 5, "beam", top_p=0.9), "its options: \\['beam_size'"),
    (lambda m: generate(m, PRIMER, strategy="beam", seconds=3.0), "number of events"),
    (lambda m: generate(m, PRIMER), "steps .* or seconds"),
    (lambda m: generate(m, PRIMER, 5, "sample", temperature=0), "temperature must be > 0"),
])
def test_bad_requests_are_clear_errors(model, call, message):
    with pytest.raises(ValueError, match=message):
        call(model)
