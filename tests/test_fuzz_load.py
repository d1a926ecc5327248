"""``tg.load`` on mutated and crafted archives: it returns plain arrays or raises
CheckpointError, never anything else, and never hangs or runs code.

The examples are bounded and derandomized, so the suite stays fast and every run checks the
same cases (FUZZ_EXAMPLES per strategy).
"""
import io
import os
import tempfile
import warnings
import zipfile

import numpy as np
import pytest

import tinygrad_dropbn as tg
from tinygrad_dropbn.serialization import CheckpointError, checkpoint_shapes

hypothesis = pytest.importorskip("hypothesis")
st = pytest.importorskip("hypothesis.strategies")

FUZZ_EXAMPLES = 200
fuzz_settings = hypothesis.settings(max_examples=FUZZ_EXAMPLES, deadline=None,
                                    derandomize=True, database=None,
                                    suppress_health_check=list(hypothesis.HealthCheck))


def _valid_checkpoint() -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.npz")
        tg.save({"weight": np.arange(12, dtype=np.float32).reshape(3, 4),
                 "bias": np.ones(3, np.float64),
                 "num_batches_tracked": np.array(7)}, path)
        with open(path, "rb") as file:
            return file.read()


VALID = _valid_checkpoint()
_FOLDER = tempfile.TemporaryDirectory()


def _load_bytes(data: bytes) -> None:
    """Load ``data`` from a file: a dict of plain arrays, or CheckpointError; anything else
    fails the test."""
    path = os.path.join(_FOLDER.name, "fuzzed.npz")
    with open(path, "wb") as file:
        file.write(data)
    try:
        shapes = checkpoint_shapes(path)
        state = tg.load(path)
    except CheckpointError:
        return
    assert list(state) == list(shapes)
    for key, array in state.items():
        assert isinstance(array, np.ndarray) and not array.dtype.hasobject, key
        assert array.shape == shapes[key], key


def test_valid_checkpoint_loads():
    _load_bytes(VALID)
    assert len(VALID) > 200


@fuzz_settings
@hypothesis.given(st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)),
                           min_size=1, max_size=8),
                  st.sampled_from(["flip", "truncate", "insert"]))
def test_byte_mutations(mutations, how):
    data = bytearray(VALID)
    for position, value in mutations:
        if how == "flip":
            data[position] = value
        elif how == "insert":
            data.insert(position, value)
    if how == "truncate":
        data = data[:mutations[0][0]]
    _load_bytes(bytes(data))


_names = st.sampled_from(["w.npy", "b.npy", "w", "a\0x.npy", "a\0y.npy", "../up.npy",
                          "dir/x.npy", "x" * 300 + ".npy", ""])
_dtypes = st.sampled_from(["<f4", ">f8", "<i8", "|b1", "<c16", "|u1"])
_shapes = st.lists(st.integers(0, 4), max_size=3).map(tuple)


@st.composite
def _member(draw):
    """One member's bytes: a valid array, one with a lying header, or random bytes."""
    kind = draw(st.sampled_from(["array", "lying header", "object", "random"]))
    if kind == "random":
        return draw(st.binary(max_size=200))
    array = np.zeros(draw(_shapes), dtype=draw(_dtypes))
    buffer = io.BytesIO()
    if kind == "object":
        np.lib.format.write_array(buffer, np.array([1, None], dtype=object))
        return buffer.getvalue()
    np.lib.format.write_array(buffer, array, allow_pickle=False)
    data = buffer.getvalue()
    if kind == "lying header":
        claimed = repr(draw(_shapes) + (draw(st.integers(1, 10**12)),)).encode()
        at = data.index(b"'shape': ") + len(b"'shape': ")
        end = data.index(b")", at) + 1
        padding = max(0, (end - at) - len(claimed))
        data = data[:at] + claimed + data[end:] if padding == 0 else (
            data[:at] + claimed + b" " * padding + data[end:])
    return data


@fuzz_settings
@hypothesis.given(st.lists(st.tuples(_names, _member(),
                                     st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED,
                                                      zipfile.ZIP_BZIP2])),
                           max_size=5))
def test_crafted_archives(members):
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, data, compression in members:
                archive.writestr(zipfile.ZipInfo(name or "empty"), data, compression)
    _load_bytes(buffer.getvalue())
