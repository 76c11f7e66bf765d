"""A few hundred steps of real training on a fixed small set of real music."""

from course_lib.training import baselines, corpus_windows, evaluate, profile_config, train


def test_quick_training_on_bach_chorales_beats_the_unigram_baseline(tmp_path):
    config = profile_config("quick", collections=("bach",), window=64, batch_size=16, steps=300,
                            eval_every=300, eval_windows=128, checkpoint_every=300)
    train_w, valid_w = corpus_windows(config, progress=False)
    base = baselines([train_w[i]["events"].numpy() for i in range(len(train_w))],
                     [valid_w[i]["events"].numpy() for i in range(len(valid_w))])
    model = train(config, train_w, valid_w, tmp_path, progress=False, log=lambda s: None)
    nll = evaluate(model, valid_w, max_windows=128)
    print(f"held-out NLL {nll:.3f} vs unigram {base['unigram']:.3f} nats/event")
    assert nll < base["unigram"] - 0.3
