"""Checkpoints: round trip, order and dtypes, refusal of pickled payloads, corrupt files."""
import os
import zipfile

import numpy as np
import pytest

import tinygrad_dropbn as tg
import tinygrad_dropbn.nn as nn
from tinygrad_dropbn.serialization import CheckpointError


class WithCounter(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(3, 2)
        self.register_buffer("num_batches_tracked", tg.Tensor(np.array(5, dtype=np.int64)))

    def forward(self, x):
        return self.layer(x)


def test_round_trip_restores_values_order_and_dtypes(tmp_path):
    source = nn.Sequential(nn.Linear(3, 4), WithCounter())
    path = tmp_path / "model.npz"
    tg.save(source.state_dict(), path)
    loaded = tg.load(path)
    # a module's own parameters and buffers come before its children's, as in PyTorch
    assert list(loaded) == ["0.weight", "0.bias", "1.num_batches_tracked", "1.layer.weight",
                            "1.layer.bias"]
    counter = loaded["1.num_batches_tracked"]
    assert counter.dtype == np.int64 and counter.shape == () and counter == 5
    target = nn.Sequential(nn.Linear(3, 4), WithCounter())
    target.load_state_dict(loaded)
    for (key, a), b in zip(target.state_dict().items(), source.state_dict().values()):
        np.testing.assert_array_equal(a, b, err_msg=key)
        assert a.dtype == b.dtype
    assert np.load(path, allow_pickle=False)["0.weight"].shape == (4, 3), "plain .npz"


def test_save_writes_exactly_the_given_path_and_accepts_tensors(tmp_path):
    path = tmp_path / "weights.ckpt"
    tg.save({"w": tg.ones(2), "num_batches_tracked": 3, "b": [1.0, 2.0]}, str(path))
    assert os.listdir(tmp_path) == ["weights.ckpt"]
    loaded = tg.load(path)
    assert loaded["num_batches_tracked"].dtype == np.int64
    np.testing.assert_array_equal(loaded["b"], [1.0, 2.0])


def test_save_rejects_objects_and_models(tmp_path):
    with pytest.raises(TypeError, match="Python objects"):
        tg.save({"x": np.array([{"a": 1}], dtype=object)}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="pass model.state_dict\\(\\)"):
        tg.save(nn.Linear(1, 1), tmp_path / "x.npz")
    assert not os.listdir(tmp_path), "a failed save leaves no file behind"


class _Payload:
    """Unpickling this object creates a marker file: proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickled_payload_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.npz"
    payload = np.empty(1, dtype=object)
    payload[0] = _Payload(marker)
    np.savez(path, weight=np.zeros(2), evil=payload)
    with pytest.raises(CheckpointError, match="refusing to load 'evil'.*pickled Python objects"):
        tg.load(path)
    assert not marker.exists()
    # The test would notice: the same file, loaded with pickling allowed, does run the payload.
    with np.load(path, allow_pickle=True) as archive:
        archive["evil"]
    assert marker.exists()


@pytest.mark.parametrize("content, match", [
    (b"", "empty"),
    (b"hello, not a checkpoint", "not a zip archive"),
    (None, "a single .npy array"),
])
def test_non_npz_files_are_refused_by_name(tmp_path, content, match):
    path = tmp_path / "model.npz"
    if content is None:
        np.save(path.with_suffix(".npy"), np.zeros(3))
        path = path.with_suffix(".npy")
    else:
        path.write_bytes(content)
    with pytest.raises(CheckpointError, match=match) as info:
        tg.load(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("keep", [0.2, 0.5, 0.9])
def test_truncated_file_raises_a_clear_error(tmp_path, keep):
    path = tmp_path / "model.npz"
    tg.save(nn.Linear(30, 20).state_dict(), path)
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])
    with pytest.raises(CheckpointError, match="truncated or corrupt") as info:
        tg.load(path)
    assert str(path) in str(info.value)


def test_corrupted_member_raises_a_clear_error(tmp_path):
    path = tmp_path / "model.npz"
    tg.save({"weight": np.arange(100, dtype=np.float32)}, path)
    data = bytearray(path.read_bytes())
    start = data.index(b"\x93NUMPY")
    data[start + 200] ^= 0xFF  # flip bits inside the array's bytes: the zip CRC catches it
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="corrupt.*'weight'"):
        tg.load(path)


def test_non_array_member_is_refused(tmp_path):
    path = tmp_path / "model.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "hello")
    with pytest.raises(CheckpointError, match="'notes.txt' is not a .npy array"):
        tg.load(path)


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        tg.load(tmp_path / "nope.npz")


def test_torch_state_dict_saves_and_loads(torch, tmp_path):
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    path = tmp_path / "torch.npz"
    tg.save(theirs.state_dict(), path)
    loaded = tg.load(path)
    assert list(loaded) == list(theirs.state_dict())
    assert loaded["1.num_batches_tracked"].dtype == np.int64
    for key, value in theirs.state_dict().items():
        np.testing.assert_array_equal(loaded[key], value.numpy())


def test_damaged_header_of_a_large_member_raises_checkpoint_error(tmp_path):
    path = tmp_path / "big.npz"
    tg.save(nn.Linear(200, 100).state_dict(), path)
    data = bytearray(path.read_bytes())
    data[data.index(b"'descr'")] = ord("(")
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="corrupt"):
        tg.load(path)


def test_header_claiming_more_data_than_the_member_holds_is_refused(tmp_path):
    path = tmp_path / "huge.npz"
    tg.save({"w": np.zeros(100000, np.float32)}, path)
    data = bytearray(path.read_bytes())
    at = data.index(b"(100000,)")
    data[at:at + 9] = b"(999999,)"  # same length, so the zip offsets stay valid
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="declares shape \\(999999,\\)"):
        tg.load(path)


def test_saved_checkpoint_has_the_usual_file_mode(tmp_path):
    path = tmp_path / "mode.npz"
    tg.save({"w": np.zeros(2)}, path)
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_non_scalar_batch_count_is_refused_with_its_key(tmp_path):
    with pytest.raises(ValueError, match="bn.num_batches_tracked.*shape \\(2,\\)"):
        tg.save({"bn.num_batches_tracked": np.array([1, 2])}, tmp_path / "x.npz")
