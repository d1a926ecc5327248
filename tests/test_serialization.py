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


def _zip_bytes(members, compression=zipfile.ZIP_STORED):
    """An archive holding ``members`` (name, bytes) in order, duplicates included."""
    import io
    import warnings
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names
        with zipfile.ZipFile(buffer, "w", compression) as archive:
            for name, data in members:
                archive.writestr(name, data)
    return buffer.getvalue()


def _npy_bytes(array):
    import io
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=False)
    return buffer.getvalue()


@pytest.fixture
def no_decompression(monkeypatch):
    """Make reading any member fail: a refusal that still comes is decided from the directory."""
    open_member = zipfile.ZipFile.open

    def refuse_reading(archive, name, mode="r", *args, **kwargs):
        assert mode != "r", f"member {name} was opened for reading"
        return open_member(archive, name, mode, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", refuse_reading)


def test_fifo_is_refused_without_blocking(tmp_path):
    import threading
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes on this platform")
    path = tmp_path / "pipe.npz"
    os.mkfifo(path)
    outcome = []

    def load():
        try:
            tg.load(path)
        except CheckpointError as err:
            outcome.append(str(err))

    reader = threading.Thread(target=load, daemon=True)
    reader.start()
    reader.join(timeout=30)
    assert not reader.is_alive(), "tg.load blocked on a FIFO"
    assert outcome and "FIFO" in outcome[0] and str(path) in outcome[0]


@pytest.mark.parametrize("where, kind", [("folder", "a folder"), ("/dev/null", "a device")])
def test_other_non_regular_files_are_refused(tmp_path, where, kind):
    path = tmp_path if where == "folder" else where
    if not os.path.exists(path):
        pytest.skip(f"no {where} here")
    with pytest.raises(CheckpointError, match=kind):
        tg.load(path)


def test_archive_larger_than_max_bytes_is_refused_before_decompressing(tmp_path):
    path = tmp_path / "model.npz"
    tg.save({"w": np.zeros(1000, np.float32)}, path)
    assert tg.load(path, max_bytes=10**6)["w"].shape == (1000,)
    with pytest.raises(CheckpointError, match="limit of 2000 bytes.*max_bytes="):
        tg.load(path, max_bytes=2000)
    with pytest.raises(ValueError, match="max_bytes must be a non-negative integer.*got '4GB'"):
        tg.load(path, max_bytes="4GB")


def test_declared_sizes_over_the_limit_are_refused_from_the_directory(tmp_path, no_decompression):
    path = tmp_path / "model.npz"
    # compressed, the file itself is far below the limit; its members declare 4 MB
    path.write_bytes(_zip_bytes([(f"w{i}.npy", _npy_bytes(np.zeros(250_000, np.float32)))
                                 for i in range(4)], zipfile.ZIP_DEFLATED))
    assert path.stat().st_size < 100_000
    with pytest.raises(CheckpointError, match="members declare 4000[0-9]{3} bytes"):
        tg.load(path, max_bytes=1_000_000)


def test_zip_bomb_is_refused_by_its_compression_ratio(tmp_path, no_decompression):
    path = tmp_path / "bomb.npz"
    np.savez_compressed(path, w=np.zeros(5_000_000, np.float32))  # 20 MB of zeros, ~20 kB
    with pytest.raises(CheckpointError, match="'w.npy' would expand.*zip bomb"):
        tg.load(path)


def test_compressible_small_members_still_load(tmp_path):
    path = tmp_path / "zeros.npz"
    np.savez_compressed(path, w=np.zeros(100_000, np.float32))  # ratio ~1000, but 400 kB
    np.testing.assert_array_equal(tg.load(path)["w"], np.zeros(100_000, np.float32))


def test_duplicate_member_names_are_refused(tmp_path, no_decompression):
    path = tmp_path / "twice.npz"
    member = _npy_bytes(np.zeros(3))
    path.write_bytes(_zip_bytes([("w.npy", member)] * 3))
    with pytest.raises(CheckpointError, match="'w.npy' appears more than once"):
        tg.load(path)


def test_nul_in_a_member_name_cannot_merge_two_keys(tmp_path):
    path = tmp_path / "nul.npz"
    path.write_bytes(_zip_bytes([("a\0x.npy", _npy_bytes(np.zeros(1))),
                                 ("a\0y.npy", _npy_bytes(np.ones(1)))]))
    with pytest.raises(CheckpointError, match="more than once"):
        tg.load(path)


def test_overlapping_members_are_refused(tmp_path, no_decompression):
    path = tmp_path / "overlap.npz"
    member = _npy_bytes(np.zeros(3))
    data = bytearray(_zip_bytes([("a.npy", member), ("b.npy", member)]))
    second_entry = data.index(b"PK\x01\x02", data.index(b"PK\x01\x02") + 1)
    data[second_entry + 42:second_entry + 46] = (0).to_bytes(4, "little")  # b's data is a's
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="'a.npy' and 'b.npy' overlap"):
        tg.load(path)


def test_more_members_than_a_checkpoint_holds_are_refused(tmp_path, monkeypatch,
                                                          no_decompression):
    from tinygrad_dropbn import serialization
    monkeypatch.setattr(serialization, "MAX_MEMBERS", 3)
    path = tmp_path / "many.npz"
    path.write_bytes(_zip_bytes([(f"w{i}.npy", _npy_bytes(np.zeros(1))) for i in range(4)]))
    with pytest.raises(CheckpointError, match="lists 4 members, more than the 3"):
        tg.load(path)


def test_member_count_of_a_zip64_directory_is_checked_before_parsing(tmp_path,
                                                                     no_decompression):
    import struct
    data = _zip_bytes([("w.npy", _npy_bytes(np.zeros(1)))])
    end = data.rindex(b"PK\x05\x06")
    _, _, _, _, _, size, offset, _ = struct.unpack_from("<4s4H2LH", data, end)
    record = struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, 10**9, 10**9,
                         size, offset)
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, end, 1)
    classic = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, size, offset, 0)
    path = tmp_path / "zip64.npz"
    path.write_bytes(data[:end] + record + locator + classic)
    with pytest.raises(CheckpointError, match="lists 1000000000 members"):
        tg.load(path)


def test_negative_shape_in_a_header_is_refused(tmp_path):
    path = tmp_path / "negative.npz"
    member = bytearray(_npy_bytes(np.zeros((2, 4), np.float64)))
    at = member.index(b"(2, 4), ")
    member[at:at + 7] = b"(-2,-4)"  # same length; -2 * -4 elements would match the data
    path.write_bytes(_zip_bytes([("w.npy", bytes(member))]))
    with pytest.raises(CheckpointError, match="'w' declares shape \\(-2, -4\\)"):
        tg.load(path)


def test_checkpoint_shapes_reads_headers_only(tmp_path):
    from tinygrad_dropbn.serialization import checkpoint_shapes
    path = tmp_path / "model.npz"
    tg.save(nn.Sequential(nn.Linear(300, 4), nn.BatchNorm1d(4)).state_dict(), path)
    data = bytearray(path.read_bytes())
    data[data.index(b"\x93NUMPY") + 4000] ^= 0xFF  # damage the first array's data
    path.write_bytes(bytes(data))
    assert checkpoint_shapes(path) == {
        "0.weight": (4, 300), "0.bias": (4,), "1.weight": (4,), "1.bias": (4,),
        "1.running_mean": (4,), "1.running_var": (4,), "1.num_batches_tracked": ()}
    with pytest.raises(CheckpointError, match="corrupt.*'0.weight'"):
        tg.load(path)  # the data is damaged: only a full read notices


def test_checkpoint_shapes_refuses_what_load_refuses(tmp_path):
    from tinygrad_dropbn.serialization import checkpoint_shapes
    path = tmp_path / "big.npz"
    tg.save({"w": np.zeros(1000)}, path)
    with pytest.raises(CheckpointError, match="max_bytes"):
        checkpoint_shapes(path, max_bytes=100)


def test_load_reads_fortran_order_and_big_endian_arrays(tmp_path):
    path = tmp_path / "orders.npz"
    fortran = np.asfortranarray(np.arange(6.0).reshape(2, 3))
    big = np.arange(4, dtype=">i4")
    np.savez(path, f=fortran, b=big)
    loaded = tg.load(path)
    np.testing.assert_array_equal(loaded["f"], fortran)
    np.testing.assert_array_equal(loaded["b"], big)


@pytest.mark.parametrize("key, error, problem", [
    ("a\0x", ValueError, "NUL character"),
    ("a/b", ValueError, "path separator"),
    ("a\\b", ValueError, "path separator"),
    ("..", ValueError, "'..'"),
    ("layer..weight", ValueError, "'..'"),
    ("", ValueError, "is empty"),
    (3, TypeError, "must be strings, got int"),
    (("a", "b"), TypeError, "must be strings, got tuple"),
])
def test_save_refuses_keys_it_cannot_round_trip(tmp_path, key, error, problem):
    path = tmp_path / "keys.npz"
    tg.save({"old": np.zeros(1)}, path)
    with pytest.raises(error, match=problem) as info:
        tg.save({"w": np.zeros(2), key: np.zeros(1)}, path)
    assert str(path) in str(info.value)
    assert list(tg.load(path)) == ["old"], "a refused save leaves the old checkpoint"
    assert os.listdir(tmp_path) == ["keys.npz"], "and no temporary file"


def test_save_errors_name_the_users_path(tmp_path):
    missing = tmp_path / "no" / "such" / "folder" / "model.npz"
    with pytest.raises(FileNotFoundError, match="model.npz") as info:
        tg.save({"w": np.zeros(1)}, missing)
    assert str(missing) in str(info.value)
    with pytest.raises(TypeError, match=f"{tmp_path / 'x.npz'}.*Python objects"):
        tg.save({"x": np.array([None], dtype=object)}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="x.npz.*mapping"):
        tg.save([1, 2], tmp_path / "x.npz")


def test_save_is_atomic_when_writing_fails(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    tg.save({"w": np.zeros(3)}, path)

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np.lib.format, "write_array", disk_full)
    with pytest.raises(OSError, match="cannot save to .*model.npz.*No space left"):
        tg.save({"w": np.ones(3)}, path)
    monkeypatch.undo()
    np.testing.assert_array_equal(tg.load(path)["w"], np.zeros(3))
    assert os.listdir(tmp_path) == ["model.npz"]


def test_load_reads_each_array_once_into_its_own_buffer(tmp_path):
    import tracemalloc
    path = tmp_path / "big.npz"
    array = np.arange(4_000_000, dtype=np.float64)  # 32 MB
    tg.save({"w": array}, path)
    tracemalloc.start()
    try:
        loaded = tg.load(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(loaded["w"], array)
    # the array plus one read chunk; reading the member whole and copying it would need twice
    assert peak < array.nbytes + 8 * 2**20, peak
