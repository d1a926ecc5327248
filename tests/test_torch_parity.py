"""Step-by-step parity with PyTorch: same MLP, same weights, same data, same optimizer."""
import numpy as np
import pytest

import tinygrad_dropbn as tg
import tinygrad_dropbn.nn as nn
import tinygrad_dropbn.nn.functional as F
from tinygrad_dropbn import optim

STEPS = 25
BATCH = 16


# NOTE: the linear layer feeding batch norm has no bias. Batch norm subtracts the batch mean, so
# such a bias has an exactly-zero gradient; in float32 both frameworks compute rounding noise of
# about 1e-9 instead, and Adam divides by sqrt(v), turning that noise into steps of size lr in
# directions that differ between the two. Without the bias every parameter is well determined.
def our_mlp():
    return nn.Sequential(nn.Linear(4, 16, bias=False), nn.BatchNorm1d(16), nn.ReLU(),
                         nn.Linear(16, 8), nn.Tanh(), nn.Linear(8, 3))


def torch_mlp(torch):
    return torch.nn.Sequential(torch.nn.Linear(4, 16, bias=False), torch.nn.BatchNorm1d(16),
                               torch.nn.ReLU(), torch.nn.Linear(16, 8), torch.nn.Tanh(),
                               torch.nn.Linear(8, 3))


def to_torch(torch, state):
    return {key: torch.from_numpy(value.copy()) for key, value in state.items()}


@pytest.fixture
def problem(rng):
    x = (rng.standard_normal((4 * BATCH, 4)) * 2).astype(np.float32)
    y = rng.integers(0, 3, 4 * BATCH)
    return x, y


def assert_states_close(ours, theirs, rtol, atol):
    theirs = theirs.state_dict()
    assert list(ours.state_dict()) == list(theirs)
    for key, value in ours.state_dict().items():
        np.testing.assert_allclose(value, theirs[key].numpy(), rtol=rtol, atol=atol, err_msg=key)


@pytest.mark.parametrize("make_optimizers", [
    lambda torch, a, b: (optim.SGD(a, lr=0.1, momentum=0.9, weight_decay=1e-3),
                         torch.optim.SGD(b, lr=0.1, momentum=0.9, weight_decay=1e-3)),
    lambda torch, a, b: (optim.Adam(a, lr=0.01), torch.optim.Adam(b, lr=0.01)),
], ids=["sgd-momentum-weight-decay", "adam"])
def test_training_matches_torch_step_by_step(torch, problem, make_optimizers):
    x, y = problem
    ours, theirs = our_mlp(), torch_mlp(torch)
    theirs.load_state_dict(to_torch(torch, ours.state_dict()), strict=True)
    our_opt, their_opt = make_optimizers(torch, list(ours.parameters()),
                                         list(theirs.parameters()))
    for step in range(STEPS):
        rows = slice((step % 4) * BATCH, (step % 4 + 1) * BATCH)
        our_opt.zero_grad()
        our_loss = F.cross_entropy(ours(tg.Tensor(x[rows])), y[rows])
        our_loss.backward()
        our_opt.step()
        their_opt.zero_grad()
        their_loss = torch.nn.functional.cross_entropy(theirs(torch.from_numpy(x[rows])),
                                                       torch.from_numpy(y[rows]))
        their_loss.backward()
        their_opt.step()
        assert our_loss.dtype == np.float32
        assert our_loss.item() == pytest.approx(their_loss.item(), rel=1e-4, abs=1e-5), step

    assert_states_close(ours, theirs, rtol=1e-4, atol=1e-5)
    assert ours.state_dict()["1.num_batches_tracked"] == STEPS
    ours.eval(), theirs.eval()
    with torch.no_grad():
        expected = theirs(torch.from_numpy(x)).numpy()
    with tg.no_grad():
        np.testing.assert_allclose(ours(tg.Tensor(x)).numpy(), expected, rtol=1e-4, atol=1e-5)


def test_torch_state_dict_loads_and_reproduces_outputs(torch, problem):
    x, _ = problem
    torch.manual_seed(0)
    theirs = torch_mlp(torch)
    with torch.no_grad():  # make the running statistics non-trivial
        theirs(torch.from_numpy(x) * 3 + 1)
    ours = our_mlp()
    result = ours.load_state_dict(theirs.state_dict(), strict=True)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert ours.state_dict()["1.num_batches_tracked"].dtype == np.int64
    assert_states_close(ours, theirs, rtol=0, atol=0)
    for mode in (True, False):
        ours.train(mode), theirs.train(mode)
        with torch.no_grad():
            expected = theirs(torch.from_numpy(x)).numpy()
        np.testing.assert_allclose(ours(tg.Tensor(x)).numpy(), expected, rtol=1e-5, atol=1e-6)


def test_torch_state_dict_as_arrays_through_a_checkpoint(torch, problem, tmp_path):
    x, _ = problem
    theirs = torch_mlp(torch).eval()
    tg.save({key: value.numpy() for key, value in theirs.state_dict().items()},
            tmp_path / "torch.npz")
    ours = our_mlp().eval()
    ours.load_state_dict(tg.load(tmp_path / "torch.npz"))
    with torch.no_grad():
        expected = theirs(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours(tg.Tensor(x)).numpy(), expected, rtol=1e-5, atol=1e-6)


def test_mismatched_architectures_fail_strictly_in_both_directions(torch):
    ours = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
    theirs = torch_mlp(torch)
    with pytest.raises(RuntimeError) as info:
        ours.load_state_dict(theirs.state_dict())
    message = str(info.value)
    assert "missing key(s): '0.bias', '2.weight', '2.bias'" in message
    assert "unexpected key(s): '1.weight', '1.bias', '1.running_mean'" in message
    with pytest.raises(RuntimeError):
        theirs.load_state_dict(to_torch(torch, ours.state_dict()), strict=True)
