"""Datasets, the DataLoader and the built-in toy datasets."""
import sys

import numpy as np
import pytest

import tinygrad_dropbn as tg
import tinygrad_dropbn.nn as nn
from tinygrad_dropbn import data, optim
from tinygrad_dropbn.data import DataLoader, Dataset, TensorDataset

CLASSIFICATION = ["spiral", "moons", "circles", "xor", "blobs"]


def numbered(n=10):
    """A dataset whose row i holds (2i, 2i+1) and label i, so batches show which rows they hold."""
    return TensorDataset(np.arange(2 * n, dtype=np.float32).reshape(n, 2), np.arange(n))


class Squares(Dataset):
    """A generic dataset: sample i is (a float32 array, a Python int, a Python float)."""

    def __getitem__(self, index):
        return np.full(3, index, np.float32), index, index * 0.5

    def __len__(self):
        return 5


def test_tensor_dataset_indexes_rows_of_every_tensor():
    ds = numbered(4)
    x, y = ds[2]
    assert isinstance(x, tg.Tensor) and x.tolist() == [4.0, 5.0] and y.item() == 2
    assert len(ds) == 4 and all(isinstance(t, tg.Tensor) for t in ds.tensors)
    assert ds.tensors[1].dtype == np.int64


def test_tensor_dataset_accepts_tensors_and_keeps_them():
    X = tg.randn(6, 3)
    ds = TensorDataset(X, np.zeros(6, np.int64))
    assert ds.tensors[0] is X


@pytest.mark.parametrize("args, error, match", [
    ((np.zeros((3, 2)), np.zeros(4)), ValueError, r"same first dimension.*\(3, 2\).*\(4,\)"),
    ((), ValueError, "at least one"),
    ((np.float32(1.0),), TypeError, "float32"),
    ((np.array(1.0),), ValueError, "0-dimensional"),
    (([1, 2, 3],), TypeError, "list"),
])
def test_tensor_dataset_errors(args, error, match):
    with pytest.raises(error, match=match):
        TensorDataset(*args)


def test_dataset_is_abstract():
    with pytest.raises(TypeError):
        Dataset()


def test_loader_batches_in_order():
    batches = list(DataLoader(numbered(10), batch_size=4))
    assert [y.tolist() for _, y in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    x, y = batches[0]
    assert x.shape == (4, 2) and x.dtype == np.float32 and y.dtype == np.int64
    assert x.grad_fn is None and not x.requires_grad


@pytest.mark.parametrize("n, batch_size, drop_last, expected", [
    (10, 4, False, 3), (10, 4, True, 2), (8, 4, True, 2), (8, 4, False, 2), (3, 5, True, 0),
    (3, 5, False, 1), (10, 1, False, 10),
])
def test_loader_len_matches_the_batches_it_yields(n, batch_size, drop_last, expected):
    loader = DataLoader(numbered(n), batch_size=batch_size, drop_last=drop_last)
    batches = list(loader)
    assert len(loader) == len(batches) == expected
    if drop_last:
        assert all(len(y) == batch_size for _, y in batches)


def test_shuffle_is_a_fresh_permutation_each_epoch_and_reproducible():
    loader = DataLoader(numbered(20), batch_size=6, shuffle=True)

    def epoch():
        return np.concatenate([y.numpy() for _, y in loader])

    tg.manual_seed(7)
    first, second = epoch(), epoch()
    tg.manual_seed(7)
    assert np.array_equal(epoch(), first) and np.array_equal(epoch(), second)
    assert sorted(first) == list(range(20)) and not np.array_equal(first, second)
    assert not np.array_equal(first, np.arange(20))


def test_shuffled_batches_keep_rows_together():
    for x, y in DataLoader(numbered(9), batch_size=4, shuffle=True):
        np.testing.assert_array_equal(x.numpy(), np.stack([2 * y.numpy(), 2 * y.numpy() + 1], 1))


def test_shuffle_draws_from_the_library_generator():
    loader = DataLoader(numbered(30), batch_size=30, shuffle=True)
    tg.manual_seed(1)
    a = next(iter(loader))[1].numpy()
    tg.manual_seed(2)
    b = next(iter(loader))[1].numpy()
    assert not np.array_equal(a, b)


def test_generic_datasets_are_stacked_with_the_library_dtypes():
    x, i, half = next(iter(DataLoader(Squares(), batch_size=3)))
    assert x.shape == (3, 3) and x.dtype == np.float32
    assert i.dtype == np.int64 and i.tolist() == [0, 1, 2]
    assert half.dtype == np.float32 and half.tolist() == [0.0, 0.5, 1.0]


def test_generic_dataset_shuffle_matches_tensor_dataset_order():
    tg.manual_seed(3)
    generic = [i.tolist() for _, i, _ in DataLoader(Squares(), batch_size=2, shuffle=True)]
    tg.manual_seed(3)
    tensors = [y.tolist() for _, y in DataLoader(numbered(5), batch_size=2, shuffle=True)]
    assert generic == tensors


@pytest.mark.parametrize("batch_size", [0, -1, 1.5, True, "4"])
def test_loader_rejects_bad_batch_sizes(batch_size):
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        DataLoader(numbered(), batch_size=batch_size)


def test_loader_rejects_non_datasets_and_non_bool_flags():
    with pytest.raises(TypeError, match="__getitem__"):
        DataLoader(42)
    with pytest.raises(TypeError, match="shuffle"):
        DataLoader(numbered(), shuffle=1)


@pytest.mark.parametrize("name", CLASSIFICATION)
def test_classification_datasets_shapes_dtypes_and_labels(name):
    train, test = data.load_dataset(name, seed=0)
    for split in (train, test):
        X, y = split.tensors
        assert X.dtype == np.float32 and X.ndim == 2 and X.shape[1] == 2
        assert y.dtype == np.int64 and y.shape == (X.shape[0],)
        assert np.isfinite(X.numpy()).all()
    n = len(train) + len(test)
    assert len(test) == round(0.25 * n)
    labels = np.concatenate([train.tensors[1].numpy(), test.tensors[1].numpy()])
    counts = np.bincount(labels)
    assert len(counts) >= 2 and counts.min() == counts.max(), "classes are balanced"
    assert data.dataset_task(name) == "classification"


def test_regression_curve_shapes_and_dtypes():
    train, test = data.regression_curve(n_samples=100, seed=0)
    X, y = train.tensors
    assert X.shape == (75, 1) and y.shape == (75, 1)
    assert X.dtype == np.float32 and y.dtype == np.float32
    assert data.dataset_task("regression_curve") == "regression"
    noiseless, _ = data.regression_curve(n_samples=100, noise=0.0, seed=0)
    X, y = noiseless.tensors
    np.testing.assert_allclose(y.numpy(), np.sin(2 * X.numpy()) + X.numpy() / 2, atol=1e-6)


@pytest.mark.parametrize("name, size", [
    ("spiral", dict(n_classes=4, points_per_class=10)), ("moons", dict(n_samples=21)),
    ("circles", dict(n_samples=40)), ("xor", dict(n_samples=40)),
    ("blobs", dict(n_classes=5, n_samples=50, n_features=3)),
    ("regression_curve", dict(n_samples=40))])
def test_options_and_seeds(name, size):
    train, test = data.load_dataset(name, seed=3, **size, test_fraction=0.5)
    again, _ = data.load_dataset(name, seed=3, **size, test_fraction=0.5)
    other, _ = data.load_dataset(name, seed=4, **size, test_fraction=0.5)
    assert np.array_equal(train.tensors[0].numpy(), again.tensors[0].numpy())
    assert not np.array_equal(train.tensors[0].numpy(), other.tensors[0].numpy())
    expected = size.get("n_samples", size.get("points_per_class", 0) * size.get("n_classes", 1))
    assert len(train) + len(test) == expected and len(test) == round(expected / 2)


def test_xor_labels_are_the_xor_of_the_signs_with_a_gap_at_the_axes():
    train, _ = data.xor(noise=0.0, margin=0.2, seed=0)
    X, y = (t.numpy() for t in train.tensors)
    np.testing.assert_array_equal((X[:, 0] > 0) != (X[:, 1] > 0), y.astype(bool))
    assert np.abs(X).min() >= 0.2


def test_spiral_and_blobs_class_and_feature_counts():
    train, _ = data.spiral(n_classes=5, points_per_class=20, seed=0)
    assert set(train.tensors[1].tolist()) == set(range(5))
    train, _ = data.blobs(n_classes=4, n_samples=40, n_features=6, seed=0)
    assert train.tensors[0].shape[1] == 6


def test_seed_none_draws_from_the_library_generator():
    tg.manual_seed(5)
    a, _ = data.moons()
    tg.manual_seed(5)
    b, _ = data.moons()
    c, _ = data.moons()
    assert np.array_equal(a.tensors[0].numpy(), b.tensors[0].numpy())
    assert not np.array_equal(a.tensors[0].numpy(), c.tensors[0].numpy())


def test_an_integer_seed_leaves_the_library_generator_alone():
    state = tg.random.get_rng_state()
    data.spiral(seed=11)
    assert tg.random.get_rng_state() == state


@pytest.mark.parametrize("make, match", [
    (lambda: data.moons(noise=-0.1), "noise"),
    (lambda: data.moons(noise=float("nan")), "noise"),
    (lambda: data.circles(test_fraction=1.0), "test_fraction"),
    (lambda: data.xor(test_fraction=0), "test_fraction"),
    (lambda: data.xor(n_samples=1), "n_samples"),
    (lambda: data.spiral(n_classes=1), "n_classes"),
    (lambda: data.spiral(points_per_class=2.5), "points_per_class"),
    (lambda: data.circles(factor=1.5), "factor"),
    (lambda: data.xor(margin=1.0), "margin"),
    (lambda: data.blobs(n_features=1), "n_features"),
    (lambda: data.blobs(seed=-1), "seed"),
])
def test_invalid_dataset_options_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_registry_lists_names_tasks_and_descriptions():
    names = data.available_datasets()
    assert set(names) == set(CLASSIFICATION) | {"regression_curve", "digits"}
    assert all(isinstance(d, str) and d and "\n" not in d for d in names.values())
    with pytest.raises(ValueError, match="unknown dataset 'mnist'.*spiral.*regression_curve"):
        data.load_dataset("mnist")
    with pytest.raises(ValueError, match="unknown dataset"):
        data.dataset_task("mnist")


def test_digits_from_scikit_learn():
    pytest.importorskip("sklearn")
    train, test = data.load_dataset("digits", seed=0)
    X, y = train.tensors
    assert X.shape[1] == 64 and X.dtype == np.float32 and y.dtype == np.int64
    assert len(train) + len(test) == 1797
    assert 0.0 <= X.numpy().min() and X.numpy().max() <= 1.0
    assert set(y.tolist()) == set(range(10))


def test_digits_without_scikit_learn_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r'pip install "tinygrad-dropbn\[digits\]"'):
        data.digits()


def train_mlp(train, test, epochs, hidden=32, lr=0.01):
    """Train an MLP with batch norm and dropout with Adam; return the test accuracy."""
    X, y = train.tensors
    n_classes = int(y.numpy().max()) + 1
    model = nn.Sequential(
        nn.Linear(X.shape[1], hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Dropout(0.1),
        nn.Linear(hidden, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Dropout(0.1),
        nn.Linear(hidden, n_classes))
    opt = optim.Adam(model.parameters(), lr=lr)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    loss_fn = nn.CrossEntropyLoss()
    loader = DataLoader(train, batch_size=32, shuffle=True, drop_last=True)
    for _ in range(epochs):
        model.train()
        for xb, yb in loader:
            opt.zero_grad()
            loss_fn(model(xb), yb).backward()
            opt.step()
        sched.step()
    model.eval()
    with tg.no_grad():
        Xt, yt = test.tensors
        predicted = model(Xt).numpy().argmax(axis=1)
    return float((predicted == yt.numpy()).mean())


@pytest.mark.parametrize("name, epochs", [(name, 40) for name in CLASSIFICATION]
                         + [("digits", 15)])
def test_mlp_with_batchnorm_and_dropout_learns_each_dataset(name, epochs):
    if name == "digits":
        pytest.importorskip("sklearn")
    train, test = data.load_dataset(name, seed=0)
    accuracy = train_mlp(train, test, epochs=epochs)
    assert accuracy > 0.95, f"{name}: test accuracy {accuracy:.3f}"


@pytest.mark.parametrize("n, lengths", [
    (10, [0.8, 0.2]), (11, [0.8, 0.2]), (7, [1 / 3, 1 / 3, 1 / 3]), (5, [0.5, 0.5]),
    (103, [0.7, 0.2, 0.1]), (4, [0.1, 0.1, 0.8]), (10, [3, 7]), (6, [0, 6]),
])
@pytest.mark.filterwarnings("ignore:Length of split")  # torch warns about an empty split
def test_random_split_sizes_match_torch(torch, n, lengths):
    ours = data.random_split(numbered(n), lengths)
    theirs = torch.utils.data.random_split(range(n), lengths)
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    assert sorted(i for s in ours for i in s.indices) == list(range(n))


def test_random_split_is_reproducible_with_a_generator_and_leaves_the_library_one_alone():
    state = tg.random.get_rng_state()
    a = data.random_split(numbered(20), [15, 5], generator=tg.random.Generator().manual_seed(7))
    b = data.random_split(numbered(20), [15, 5], generator=tg.random.Generator().manual_seed(7))
    c = data.random_split(numbered(20), [15, 5], generator=tg.random.Generator().manual_seed(8))
    assert [s.indices for s in a] == [s.indices for s in b] != [s.indices for s in c]
    assert tg.random.get_rng_state() == state


def test_random_split_without_a_generator_uses_tg_manual_seed():
    tg.manual_seed(5)
    a = data.random_split(numbered(20), [0.5, 0.5])
    tg.manual_seed(5)
    b = data.random_split(numbered(20), [0.5, 0.5])
    assert [s.indices for s in a] == [s.indices for s in b]


@pytest.mark.parametrize("lengths, match", [
    ([3, 3], "add up to 6, but the dataset has 10"),
    ([0.5, 0.6], "length at index 0 is 0.5: pass non-negative ints"),
    ([1.5, -0.5], "fraction at index 0 is 1.5"),
    ([-2, 12], "length at index 0 is -2"),
    ([2.5, 7.5], "length at index 0 is 2.5"),
])
def test_random_split_errors(lengths, match):
    with pytest.raises(ValueError, match=match):
        data.random_split(numbered(10), lengths)


def test_subset_indexes_through_its_indices():
    part = data.Subset(numbered(10), [7, 2, 5])
    x, y = part[1]
    assert len(part) == 3 and y.item() == 2 and x.tolist() == [4.0, 5.0]
    inner = data.Subset(part, [2, 0])
    assert [inner[i][1].item() for i in range(2)] == [5, 7]


class Wrapped(Dataset):
    """A generic view of another dataset, so the loader cannot take the TensorDataset path."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __getitem__(self, index):
        return self.dataset[index]

    def __len__(self):
        return len(self.dataset)


@pytest.mark.parametrize("shuffle", [False, True])
def test_a_subset_of_a_tensor_dataset_batches_like_the_sample_by_sample_path(shuffle):
    nested = data.Subset(data.Subset(numbered(12), list(range(11, -1, -1))), [0, 3, 4, 8, 10])
    tg.manual_seed(4)
    fast = [[t.tolist() for t in b] for b in DataLoader(nested, batch_size=2, shuffle=shuffle)]
    tg.manual_seed(4)
    slow = [[t.tolist() for t in b]
            for b in DataLoader(Wrapped(nested), batch_size=2, shuffle=shuffle)]
    assert fast == slow
    assert sorted(y for _, ys in fast for y in ys) == [1, 3, 7, 8, 11]


def test_a_loader_generator_fixes_the_order_and_leaves_the_library_generator_alone():
    def epochs(seed):
        loader = DataLoader(numbered(20), batch_size=5, shuffle=True,
                            generator=tg.random.Generator().manual_seed(seed))
        return [[y.tolist() for _, y in loader] for _ in range(2)]

    state = tg.random.get_rng_state()
    first, again, other = epochs(3), epochs(3), epochs(4)
    assert first == again and first != other and first[0] != first[1]
    assert tg.random.get_rng_state() == state


def test_generator_api_like_torch():
    g = tg.random.Generator()
    assert g.initial_seed() == 67280421310721
    assert g.manual_seed(3) is g and g.initial_seed() == 3
    state = g.get_state()
    a = g.numpy_generator().random(3)
    g.set_state(state)
    np.testing.assert_array_equal(g.numpy_generator().random(3), a)
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        g.manual_seed(-1)
    with pytest.raises(ValueError, match="only device is 'cpu'"):
        tg.random.Generator("cuda")
    with pytest.raises(TypeError, match="generator must be"):
        DataLoader(numbered(), generator=np.random.default_rng(0))


def test_collate_fn_receives_the_list_of_samples():
    seen = []

    def collate(samples):
        seen.append(len(samples))
        return sum(y.item() for _, y in samples)

    assert list(DataLoader(numbered(5), batch_size=2, collate_fn=collate)) == [1, 5, 4]
    assert seen == [2, 2, 1]


def test_loader_matches_torch_batches_and_accepts_its_keywords(torch):
    X = np.arange(26, dtype=np.float32).reshape(13, 2)
    y = np.arange(13)
    ours = DataLoader(TensorDataset(X, y), batch_size=4, shuffle=None, num_workers=2,
                      pin_memory=True, drop_last=True)
    theirs = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.from_numpy(X), torch.from_numpy(y)),
        batch_size=4, drop_last=True)
    assert len(ours) == len(theirs) == 3
    for (xa, ya), (xb, yb) in zip(ours, theirs):
        np.testing.assert_array_equal(xa.numpy(), xb.numpy())
        assert ya.tolist() == yb.tolist() and ya.dtype == np.int64


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(num_workers=-1), ValueError, "num_workers must be an integer >= 0"),
    (dict(collate_fn=3), TypeError, "collate_fn must be a function"),
])
def test_loader_rejects_bad_keywords(kwargs, error, match):
    with pytest.raises(error, match=match):
        DataLoader(numbered(), **kwargs)


def test_the_torch_utils_data_path_works():
    from tinygrad_dropbn.utils.data import DataLoader as Loader
    from tinygrad_dropbn.utils.data import TensorDataset as Rows
    from tinygrad_dropbn.utils.data import random_split as split
    assert (Loader, Rows, split) == (DataLoader, TensorDataset, data.random_split)
