"""A state_dict moves between torch.nn and the matching model here, both ways, with the same
keys, values and outputs."""
import numpy as np
import pytest

import tinygrad_dropbn as tg
import tinygrad_dropbn.nn as nn


def pair(torch):
    ours = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.2),
                         nn.Linear(8, 6), nn.LayerNorm(6), nn.Tanh(), nn.Linear(6, 3))
    theirs = torch.nn.Sequential(
        torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(), torch.nn.Dropout(0.2),
        torch.nn.Linear(8, 6), torch.nn.LayerNorm(6), torch.nn.Tanh(), torch.nn.Linear(6, 3))
    return ours, theirs


def exercise_torch(torch, model, rng):
    """Non-default weights and running statistics."""
    model.train()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.from_numpy(rng.standard_normal(tuple(p.shape)).astype(np.float32)))
        for _ in range(3):
            model(torch.from_numpy(rng.standard_normal((16, 4)).astype(np.float32)))
    return model.eval()


def test_a_torch_state_dict_loads_here_with_torch_tensors_as_values(torch, rng):
    ours, theirs = pair(torch)
    exercise_torch(torch, theirs, rng)
    state = theirs.state_dict()
    ours.load_state_dict(state)
    assert list(ours.state_dict()) == list(state)
    for key, value in ours.state_dict().items():
        np.testing.assert_array_equal(value, state[key].numpy())
        assert value.dtype == state[key].numpy().dtype, key
    ours.eval()
    x = rng.standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(ours(tg.Tensor(x)).numpy(),
                               theirs(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)


def test_our_state_dict_loads_into_torch(torch, rng):
    ours, theirs = pair(torch)
    ours.train()
    for _ in range(3):
        ours(tg.Tensor(rng.standard_normal((16, 4)).astype(np.float32)))
    theirs.load_state_dict({key: torch.from_numpy(value)
                            for key, value in ours.state_dict().items()})
    ours.eval(), theirs.eval()
    x = rng.standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(ours(tg.Tensor(x)).numpy(),
                               theirs(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    assert int(theirs[1].num_batches_tracked) == 3


def test_a_mismatched_torch_state_dict_names_the_key_and_changes_nothing(torch):
    ours = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    before = ours.state_dict()
    with pytest.raises(RuntimeError,
                       match=r"nothing was changed[\s\S]*size mismatch for '2.weight'"):
        ours.load_state_dict(theirs.state_dict())
    for key, value in ours.state_dict().items():
        np.testing.assert_array_equal(value, before[key])
