"""Checkpoints: ``tg.save(model.state_dict(), path)`` and ``tg.load(path)``.

A checkpoint is an ordinary NumPy ``.npz`` archive: one ``.npy`` member per state_dict key, in
the state_dict's order, so any NumPy program can read it. Loading never unpickles: an archive
that carries Python objects is refused before any of its bytes are interpreted as code.

Example:
    >>> import os, tempfile
    >>> import tinygrad_dropbn as tg
    >>> import tinygrad_dropbn.nn as nn
    >>> model = nn.Linear(3, 2)
    >>> path = os.path.join(tempfile.mkdtemp(), "linear.npz")
    >>> tg.save(model.state_dict(), path)
    >>> list(tg.load(path))
    ['weight', 'bias']
    >>> model.load_state_dict(tg.load(path))
    <All keys matched successfully>
"""
from __future__ import annotations

import os
import tempfile
import zipfile
from typing import Any, Mapping, Union

import numpy as np

from .tensor import Tensor

PathLike = Union[str, "os.PathLike[str]"]

_ZIP_MAGIC = b"PK\x03\x04"
_NPY_MAGIC = b"\x93NUMPY"


class CheckpointError(ValueError):
    """A file that is not a readable, pickle-free ``.npz`` checkpoint."""


def to_numpy(value: Any) -> np.ndarray:
    """A state_dict value as an array: our Tensors, PyTorch tensors (without importing torch),
    or anything ``np.asarray`` understands."""
    if isinstance(value, Tensor):
        return value.data
    if hasattr(value, "detach") and hasattr(value, "numpy"):
        value = value.detach()
        return (value.cpu() if hasattr(value, "cpu") else value).numpy()
    return np.asarray(value)


def _as_array(key: str, value: Any) -> np.ndarray:
    array = to_numpy(value)
    if array.dtype.hasobject:
        raise TypeError(f"cannot save {key!r}: it holds Python objects (dtype {array.dtype}); "
                        "checkpoints store plain numeric arrays only")
    if key.rsplit(".", 1)[-1] == "num_batches_tracked":
        if array.size != 1:
            raise ValueError(f"cannot save {key!r}: a batch count must be a single integer, "
                             f"got an array of shape {array.shape}")
        array = np.asarray(array, dtype=np.int64).reshape(())
    return array


def save(state_dict: Mapping[str, Any], path: PathLike) -> None:
    """Write ``state_dict`` to ``path`` as an ``.npz`` archive, keys in order.

    Values may be NumPy arrays, Tensors or PyTorch tensors; ``num_batches_tracked`` entries
    are stored as int64 scalars. The file is written to a temporary name first and moved into
    place, so a failed save never leaves a half-written checkpoint at ``path``.
    """
    if not isinstance(state_dict, Mapping):
        hint = " (pass model.state_dict())" if hasattr(state_dict, "state_dict") else ""
        raise TypeError(f"save expects a mapping of names to arrays, got "
                        f"{type(state_dict).__name__}{hint}")
    arrays = {}
    for key, value in state_dict.items():
        if not isinstance(key, str) or not key:
            raise TypeError(f"state_dict keys must be non-empty strings, got {key!r}")
        arrays[key] = _as_array(key, value)
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(prefix=".checkpoint-", suffix=".npz", dir=directory)
    try:
        with os.fdopen(fd, "wb") as file, zipfile.ZipFile(file, "w") as archive:
            for key, array in arrays.items():
                with archive.open(key + ".npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, array, allow_pickle=False)
        # NOTE: mkstemp creates the file private (0600); give it the mode a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def load(path: PathLike) -> dict[str, np.ndarray]:
    """Read a checkpoint written by :func:`save` (or ``np.savez``) into ``{key: array}``.

    Raises:
        CheckpointError: the file is not an ``.npz`` archive, is truncated or corrupt, or holds
            pickled Python objects (refused unread: unpickling can run arbitrary code).
        FileNotFoundError: no file at ``path``.
    """
    path = os.fspath(path)
    with open(path, "rb") as file:
        head = file.read(len(_NPY_MAGIC))
    if not head.startswith(_ZIP_MAGIC):
        kind = ("a single .npy array" if head == _NPY_MAGIC
                else "empty" if not head else "not a zip archive")
        raise CheckpointError(f"{path!r} is not an .npz checkpoint ({kind}); save checkpoints "
                              "with tg.save(model.state_dict(), path)")
    state: dict[str, np.ndarray] = {}
    where = ""
    try:
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                key = name[:-len(".npy")] if name.endswith(".npy") else name
                where = f" while reading {key!r}"
                state[key] = _read_member(path, archive, name, key)
    except CheckpointError:
        raise
    except Exception as err:  # noqa: BLE001 -- any failure to parse means a damaged file
        raise CheckpointError(f"{path!r} is truncated or corrupt{where}: "
                              f"{type(err).__name__}: {err}") from None
    return state


def _read_member(path: str, archive: zipfile.ZipFile, name: str, key: str) -> np.ndarray:
    """One ``.npy`` member, its header checked before any data is read.

    The header's dtype must hold no Python objects (those are pickled, and unpickling can run
    arbitrary code) and its shape must account for exactly the member's size, so a damaged
    header can neither smuggle in a pickle nor make NumPy allocate an absurd array.
    """
    with archive.open(name) as member:
        if member.read(len(_NPY_MAGIC)) != _NPY_MAGIC:
            raise CheckpointError(f"{path!r}: member {key!r} is not a .npy array")
        member.seek(0)
        version = np.lib.format.read_magic(member)
        read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                       else np.lib.format.read_array_header_2_0)
        shape, fortran_order, dtype = read_header(member)
        if dtype.hasobject:
            raise CheckpointError(
                f"{path!r}: refusing to load {key!r}: it holds pickled Python objects, which "
                "could run arbitrary code when loaded. Checkpoints hold plain numeric arrays "
                "only; re-save it with tg.save(state_dict, path) from a source you trust.")
        expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        available = archive.getinfo(name).file_size - member.tell()
        if expected != available:
            raise CheckpointError(
                f"{path!r} is corrupt: member {key!r} declares shape {shape} of {dtype} "
                f"({expected} bytes) but holds {available} bytes")
        data = np.frombuffer(member.read(expected), dtype=dtype)
    return data.reshape(shape, order="F" if fortran_order else "C").copy()
