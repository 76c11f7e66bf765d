import pytest
import torch

from course_lib.models import PerformanceRNN, RNNConfig, build_model


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return PerformanceRNN(RNNConfig(embed_dim=16, hidden_size=32, num_layers=2, dropout=0.0)).eval()


@pytest.fixture(scope="module")
def controlled():
    torch.manual_seed(0)
    return PerformanceRNN(RNNConfig(embed_dim=16, hidden_size=32, num_layers=2, control_dim=5)).eval()


def test_forward_shape(model):
    events = torch.randint(0, 388, (3, 17))
    assert model(events).shape == (3, 17, 388)


def test_step_equals_forward_at_every_position(model):
    events = torch.randint(0, 388, (3, 25))
    full = model(events)
    state = None
    for t in range(events.shape[1]):
        logits, state = model.step(events[:, t], None, state)
        torch.testing.assert_close(logits, full[:, t], atol=1e-5, rtol=1e-4)


def test_step_equals_forward_with_per_step_controls(controlled):
    events = torch.randint(0, 388, (2, 12))
    controls = torch.rand(2, 12, 5)
    full = controlled(events, controls)
    state = None
    for t in range(12):
        logits, state = controlled.step(events[:, t], controls[:, t], state)
        torch.testing.assert_close(logits, full[:, t], atol=1e-5, rtol=1e-4)


def test_one_control_vector_for_the_whole_sequence(controlled):
    events = torch.randint(0, 388, (2, 9))
    c = torch.rand(2, 5)
    torch.testing.assert_close(controlled(events, c), controlled(events, c[:, None].expand(-1, 9, -1)))


def test_future_events_never_change_earlier_logits(model):
    events = torch.randint(0, 388, (1, 20))
    changed = events.clone()
    changed[0, 10:] = (changed[0, 10:] + 7) % 388
    torch.testing.assert_close(model(events)[:, :10], model(changed)[:, :10])


def test_reorder_state_picks_and_duplicates_rows(model):
    events = torch.randint(0, 388, (3, 6))
    state = None
    for t in range(6):
        _, state = model.step(events[:, t], None, state)
    index = torch.tensor([2, 2, 0])
    reordered = model.reorder_state(state, index)
    nxt = torch.tensor([5, 6, 7])
    got, _ = model.step(nxt, None, reordered)
    want = model(torch.cat([events[index], nxt[:, None]], dim=1))[:, -1]
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)


def test_bad_inputs_get_clear_errors(model, controlled):
    with pytest.raises(ValueError, match="0–387"):
        model(torch.tensor([[0, 388]]))
    with pytest.raises(ValueError, match="without controls"):
        model(torch.zeros(1, 3, dtype=torch.long), torch.zeros(1, 3, 5))
    with pytest.raises(ValueError, match=r"\(B, T, 5\)"):
        controlled(torch.zeros(1, 3, dtype=torch.long), torch.zeros(1, 3, 4))
    with pytest.raises(ValueError, match="needs a control vector"):
        controlled(torch.zeros(1, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="unknown profile"):
        PerformanceRNN.from_profile("huge")


def test_profiles():
    full = PerformanceRNN.from_profile("full")
    assert full.lstm.num_layers == 3 and full.lstm.hidden_size == 512
    quick = PerformanceRNN.from_profile("quick", control_dim=3)
    assert quick.config.control_dim == 3
    assert build_model("performance_rnn", {"hidden_size": 8, "embed_dim": 4}).lstm.hidden_size == 8


def test_configs_share_the_interface_and_keep_their_field_order():
    from course_lib.models import ModelConfig, TransformerConfig, model_profile

    assert issubclass(RNNConfig, ModelConfig) and issubclass(TransformerConfig, ModelConfig)
    assert list(model_profile("performance_rnn", "quick")) == [
        "vocab_size", "embed_dim", "hidden_size", "num_layers", "dropout", "control_dim"]
    assert list(model_profile("music_transformer", "quick")) == [
        "vocab_size", "d_model", "heads", "layers", "ff", "dropout", "max_distance", "relative", "control_dim"]
    config = TransformerConfig(d_model=64, control_dim=3)
    assert TransformerConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="unknown RNNConfig fields"):
        RNNConfig.from_dict({"d_model": 64})
