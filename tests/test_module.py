"""Module semantics: registration, names and order, modes, state_dict, repr."""
import copy

import numpy as np
import pytest

import tinygrad_dropbn as tg
import tinygrad_dropbn.nn as nn
from tinygrad_dropbn.visualization import op_record


class Stats(nn.Module):
    """A layer with a parameter, a persistent and a non-persistent buffer."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.scale = nn.Parameter(np.ones(n, dtype=np.float32))
        self.register_buffer("running_mean", tg.zeros(n))
        self.register_buffer("num_batches_tracked", tg.Tensor(np.array(0, dtype=np.int64)))
        self.register_buffer("scratch", tg.zeros(n), persistent=False)

    def forward(self, x):
        return x * self.scale


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(3, 4), Stats(4), nn.ReLU())
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        return self.head(self.body(x))


def test_parameters_buffers_and_children_in_assignment_order():
    net = Net()
    assert [name for name, _ in net.named_parameters()] == [
        "body.0.weight", "body.0.bias", "body.1.scale", "head.weight", "head.bias"]
    assert [name for name, _ in net.named_buffers()] == [
        "body.1.running_mean", "body.1.num_batches_tracked", "body.1.scratch"]
    assert [name for name, _ in net.named_children()] == ["body", "head"]
    assert [name for name, _ in net.named_modules()] == [
        "", "body", "body.0", "body.1", "body.2", "head"]
    assert list(net.modules())[3] is net.body[1]
    assert all(p is q for p, (_, q) in zip(net.parameters(), net.named_parameters()))
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in net.parameters())


def test_non_recursive_and_prefixed_iteration():
    net = Net()
    assert list(net.named_parameters(recurse=False)) == []
    assert [n for n, _ in net.head.named_parameters(prefix="head")] == ["head.weight", "head.bias"]


def test_state_dict_keys_order_and_copies():
    net = Net()
    state = net.state_dict()
    assert list(state) == ["body.0.weight", "body.0.bias", "body.1.scale", "body.1.running_mean",
                           "body.1.num_batches_tracked", "head.weight", "head.bias"]
    assert state["body.1.num_batches_tracked"].dtype == np.int64
    assert state["body.1.num_batches_tracked"].shape == ()
    state["head.bias"][:] = 123
    assert not np.any(net.head.bias.data == 123), "state_dict values must be copies"


def test_shared_module_is_listed_once_but_saved_under_each_key():
    shared = nn.Linear(2, 2)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(list(model.parameters())) == 2
    assert [n for n, _ in model.named_modules()] == ["", "0", "1"]
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_train_and_eval_reach_every_descendant_and_return_self():
    net = Net()
    assert net.eval() is net
    assert all(not m.training for m in net.modules())
    assert net.train() is net
    assert all(m.training for m in net.modules())
    net.train(False)
    assert [m.training for m in net.modules()] == [False] * 6


@pytest.mark.parametrize("mode", ["yes", 1, None, 0.0])
def test_train_rejects_non_bool(mode):
    net = Net()
    with pytest.raises(ValueError, match="must be a bool"):
        net.train(mode)
    assert all(m.training for m in net.modules())


def test_reassignment_and_none():
    layer = nn.Linear(2, 3)
    layer.bias = None
    assert layer.bias is None
    assert [n for n, _ in layer.named_parameters()] == ["weight"]
    assert list(layer.state_dict()) == ["weight"]
    with pytest.raises(TypeError, match="nn.Parameter or None expected"):
        layer.weight = tg.zeros(3, 2)
    layer.weight = nn.Parameter(np.zeros((3, 2), dtype=np.float32))
    assert np.all(layer.weight.data == 0)
    stats = Stats(2)
    stats.running_mean = tg.ones(2)
    assert np.all(stats.running_mean.data == 1)
    with pytest.raises(TypeError, match="Tensor or None expected"):
        stats.running_mean = np.ones(2)


def test_replacing_an_attribute_kind_moves_it_between_registries():
    net = Net()
    net.head = nn.Parameter(np.zeros(2, dtype=np.float32))
    assert "head" not in dict(net.named_children())
    assert "head" in dict(net.named_parameters())
    del net.head
    assert "head" not in dict(net.named_parameters())
    with pytest.raises(AttributeError):
        net.head


def test_unknown_attribute_names_the_class():
    with pytest.raises(AttributeError, match="'Net' object has no attribute 'tail'"):
        Net().tail


def test_registration_errors():
    stats = Stats(2)
    with pytest.raises(KeyError, match="already exists"):
        stats.register_buffer("forward", tg.zeros(1))
    with pytest.raises(KeyError, match="no '.'"):
        stats.register_buffer("a.b", tg.zeros(1))
    with pytest.raises(TypeError, match="Tensor or None"):
        stats.register_buffer("x", np.zeros(1))
    with pytest.raises(TypeError, match="nn.Parameter"):
        stats.register_parameter("w", tg.zeros(1))

    class Forgetful(nn.Module):
        def __init__(self):
            self.layer = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match="super\\(\\).__init__\\(\\)"):
        Forgetful()


def test_non_persistent_buffer_is_not_saved():
    stats = Stats(3)
    assert "scratch" not in stats.state_dict()
    assert "scratch" in dict(stats.named_buffers())


def test_zero_grad_drops_or_zeroes_gradients():
    layer = nn.Linear(3, 2)
    layer(tg.randn(4, 3)).sum().backward()
    buffer = layer.weight.grad
    layer.zero_grad(set_to_none=False)
    assert layer.weight.grad is buffer and np.all(buffer.data == 0)
    layer.zero_grad()
    assert layer.weight.grad is None and layer.bias.grad is None


def test_call_tags_ops_with_the_modules_being_called():
    class Double(nn.Module):
        def forward(self, x):
            return x * 2

    outer = nn.Sequential(Double())
    with tg.record_graph():
        out = outer(tg.ones(2, requires_grad=True))
        after = out + 1
    assert op_record(out.grad_fn).scope == (outer, outer[0])
    assert op_record(after.grad_fn).scope == ()


def test_forward_missing_is_a_clear_error():
    with pytest.raises(NotImplementedError, match="ModuleList has no forward"):
        nn.ModuleList()(tg.ones(1))


def test_repr_tree_and_num_parameters():
    net = Net()
    assert repr(net) == (
        "Net(\n"
        "  (body): Sequential(\n"
        "    (0): Linear(in_features=3, out_features=4, bias=True)\n"
        "    (1): Stats()\n"
        "    (2): ReLU()\n"
        "  )\n"
        "  (head): Linear(in_features=4, out_features=2, bias=True)\n"
        ")")
    assert net.num_parameters() == 3 * 4 + 4 + 4 + 4 * 2 + 2
    net.head.requires_grad_(False)
    assert net.num_parameters(only_trainable=True) == 3 * 4 + 4 + 4


def test_load_state_dict_round_trip_casts_and_keeps_objects():
    source, target = Net(), Net()
    weight = target.head.weight
    state = source.state_dict()
    state["body.1.num_batches_tracked"] = np.array(7.0)  # float into an int64 buffer
    state["head.bias"] = tg.Tensor(state["head.bias"].astype(np.float64))
    result = target.load_state_dict(state)
    assert result == ([], []) and repr(result) == "<All keys matched successfully>"
    assert target.head.weight is weight, "parameters are loaded in place"
    for (key, mine), theirs in zip(target.state_dict().items(), source.state_dict().values()):
        np.testing.assert_array_equal(mine, theirs if "tracked" not in key else 7)
    assert target.head.bias.dtype == np.float32
    assert target.body[1].num_batches_tracked.dtype == np.int64


def _snapshot(model):
    return {key: value.copy() for key, value in model.state_dict().items()}


@pytest.mark.parametrize("corrupt", ["bad key first", "bad key last", "missing key",
                                     "wrong shape", "not numeric"])
def test_load_state_dict_is_all_or_nothing(corrupt):
    model, other = Net(), Net()
    before = _snapshot(model)
    state = other.state_dict()
    if corrupt == "bad key first":
        state = {"bogus": np.zeros(1), **state}
    elif corrupt == "bad key last":
        state["bogus"] = np.zeros(1)
    elif corrupt == "missing key":
        del state["head.bias"]
    elif corrupt == "wrong shape":
        state["head.weight"] = np.zeros((5, 5), dtype=np.float32)
    else:
        state["head.bias"] = np.array(["a", "b"])
    with pytest.raises(RuntimeError, match="nothing was changed"):
        model.load_state_dict(state)
    for key, value in _snapshot(model).items():
        np.testing.assert_array_equal(value, before[key])


def test_load_state_dict_reports_every_problem_at_once():
    model = Net()
    state = model.state_dict()
    del state["body.0.bias"]
    state["extra.weight"] = np.zeros(1)
    state["head.weight"] = np.zeros((2, 5))
    state["head.bias"] = np.zeros(3)
    with pytest.raises(RuntimeError) as info:
        model.load_state_dict(state)
    message = str(info.value)
    for fragment in ("missing key(s): 'body.0.bias'", "unexpected key(s): 'extra.weight'",
                     "'head.weight'", "(2, 5)", "'head.bias'", "(3,)"):
        assert fragment in message


def test_load_state_dict_non_strict_reports_keys_and_loads_the_rest():
    model, other = Net(), Net()
    state = other.state_dict()
    del state["head.bias"]
    state["extra"] = np.zeros(1)
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["head.bias"] and result.unexpected_keys == ["extra"]
    np.testing.assert_array_equal(model.head.weight.data, other.head.weight.data)
    with pytest.raises(RuntimeError, match="size mismatch"):
        model.load_state_dict({"head.weight": np.zeros((1, 1))}, strict=False)


def test_to_double_converts_floats_and_keeps_integer_buffers():
    net = Net().double()
    assert all(p.dtype == np.float64 for p in net.parameters())
    assert net.body[1].running_mean.dtype == np.float64
    assert net.body[1].num_batches_tracked.dtype == np.int64
    assert net(tg.Tensor(np.ones((2, 3)))).dtype == np.float64


def test_apply_visits_every_module_children_first():
    visited = []
    Net().apply(lambda m: visited.append(type(m).__name__))
    assert visited == ["Linear", "Stats", "ReLU", "Sequential", "Linear", "Net"]


def test_deepcopy_gives_an_independent_model():
    net = Net()
    clone = copy.deepcopy(net)
    clone.head.weight.data += 1
    assert not np.allclose(clone.head.weight.data, net.head.weight.data)
    assert [n for n, _ in clone.named_parameters()] == [n for n, _ in net.named_parameters()]


def test_parameter_is_a_trainable_tensor_copy():
    source = np.arange(3, dtype=np.float64)
    p = nn.Parameter(source)
    assert isinstance(p, tg.Tensor) and p.requires_grad and p.is_leaf
    assert p.dtype == np.float64 and p.data is not source
    assert nn.Parameter([1.0, 2.0]).dtype == np.float32
    assert not nn.Parameter([1.0], requires_grad=False).requires_grad
    assert type(p * 2) is tg.Tensor
    assert repr(p).startswith("Parameter containing:\nTensor([0., 1., 2.]")
    with pytest.raises(tg.GradDtypeError):
        nn.Parameter(np.arange(3))


class TwoLayer(nn.Module):
    """x @ w1 -> relu -> @ w2: the second matmul saves w2 for its input's gradient (in
    PyTorch as here), so a backward pass needs the weights as they were."""

    def __init__(self) -> None:
        super().__init__()
        self.w1 = nn.Parameter(tg.randn(3, 4).numpy())
        self.w2 = nn.Parameter(tg.randn(4, 2).numpy())
        self.register_buffer("running_mean", tg.zeros(2))

    def forward(self, x):
        return (x @ self.w1).relu() @ self.w2


INPLACE = "modified by an inplace operation"


def test_load_state_dict_between_forward_and_backward_makes_backward_raise():
    model, other = TwoLayer(), TwoLayer()
    loss = model(tg.randn(5, 3)).sum()
    model.load_state_dict(other.state_dict())
    with pytest.raises(RuntimeError, match=INPLACE):
        loss.backward()


def test_load_state_dict_after_backward_is_fine():
    model, other = TwoLayer(), TwoLayer()
    x = tg.randn(5, 3)
    model(x).sum().backward()
    model.load_state_dict(other.state_dict())
    model.zero_grad()
    model(x).sum().backward()
    other(x).sum().backward()
    for mine, theirs in zip(model.parameters(), other.parameters()):
        np.testing.assert_array_equal(mine.grad.data, theirs.grad.data)


def test_a_failed_load_state_dict_leaves_a_pending_backward_alone():
    model = TwoLayer()
    loss = model(tg.randn(5, 3)).sum()
    state = model.state_dict()
    state["w2"] = np.zeros((5, 5), np.float32)
    with pytest.raises(RuntimeError, match="nothing was changed"):
        model.load_state_dict(state)
    loss.backward()
    assert model.w2.grad is not None


def test_load_state_dict_counts_each_loaded_tensor_as_changed():
    model = TwoLayer()
    versions = [t._version for t in (model.w1, model.w2, model.running_mean)]
    model.load_state_dict({"w2": np.zeros((4, 2))}, strict=False)
    assert [t._version for t in (model.w1, model.w2, model.running_mean)] == [
        versions[0], versions[1] + 1, versions[2]]


def test_load_state_dict_between_forward_and_backward_raises_like_torch(torch):
    class TorchTwoLayer(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.w1 = torch.nn.Parameter(torch.from_numpy(model.w1.numpy().copy()))
            self.w2 = torch.nn.Parameter(torch.from_numpy(model.w2.numpy().copy()))

        def forward(self, x):
            return (x @ self.w1).relu() @ self.w2

    model, x = TwoLayer(), tg.randn(5, 3)
    theirs = TorchTwoLayer(model)
    loss, their_loss = model(x).sum(), theirs(torch.from_numpy(x.numpy())).sum()
    new = {"w1": np.ones((3, 4), np.float32), "w2": np.ones((4, 2), np.float32)}
    model.load_state_dict(new, strict=False)
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in new.items()})
    with pytest.raises(RuntimeError, match=INPLACE):
        loss.backward()
    with pytest.raises(RuntimeError, match=INPLACE):
        their_loss.backward()


def test_zero_grad_in_place_invalidates_a_graph_that_saved_the_gradient():
    model = TwoLayer()
    model(tg.randn(5, 3)).sum().backward(create_graph=True)
    penalty = (model.w2.grad * model.w2.grad).sum()
    model.zero_grad(set_to_none=False)
    with pytest.raises(RuntimeError, match=INPLACE):
        penalty.backward()
