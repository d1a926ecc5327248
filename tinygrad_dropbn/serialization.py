"""Checkpoints: ``tg.save(model.state_dict(), path)`` and ``tg.load(path)``.

A checkpoint is an ordinary NumPy ``.npz`` archive: one ``.npy`` member per state_dict key, in
the state_dict's order, so any NumPy program can read it. Loading never unpickles: an archive
that carries Python objects is refused before any of its bytes are interpreted as code.

A checkpoint may come from anywhere, so :func:`load` treats it as hostile: it checks the zip's
directory (member count, names, declared sizes, compression ratios, overlapping members) and
every array header against its member's size before it decompresses any array, and refuses
anything that is not a regular file without opening it for a blocking read.
:func:`checkpoint_shapes` runs the same checks and reads only the headers.

Example:
    >>> import os, tempfile
    >>> import tinygrad_dropbn as tg
    >>> import tinygrad_dropbn.nn as nn
    >>> model = nn.Linear(3, 2)
    >>> path = os.path.join(tempfile.mkdtemp(), "linear.npz")
    >>> tg.save(model.state_dict(), path)
    >>> list(tg.load(path))
    ['weight', 'bias']
    >>> from tinygrad_dropbn.serialization import checkpoint_shapes
    >>> checkpoint_shapes(path)
    {'weight': (2, 3), 'bias': (2,)}
    >>> model.load_state_dict(tg.load(path))
    <All keys matched successfully>
"""
from __future__ import annotations

import os
import stat
import struct
import tempfile
import zipfile
from typing import IO, Any, Mapping, Union

import numpy as np

from .tensor import Tensor

PathLike = Union[str, "os.PathLike[str]"]

#: The most bytes :func:`load` expands an archive to, unless ``max_bytes=`` says otherwise.
DEFAULT_MAX_BYTES = 4 * 2**30
#: A state_dict holds one array per parameter or buffer: even very large models hold far fewer.
MAX_MEMBERS = 100_000
#: Members that expand beyond this many bytes must not expand more than MAX_COMPRESSION_RATIO
#: times: what zip bombs do. Below it, highly compressible arrays (zeros) stay loadable.
COMPRESSION_CHECK_BYTES = 16 * 2**20
MAX_COMPRESSION_RATIO = 100

_ZIP_MAGIC = b"PK\x03\x04"
_NPY_MAGIC = b"\x93NUMPY"
_END_OF_DIRECTORY = struct.Struct("<4s4H2LH")  # the zip's end-of-central-directory record
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_END_OF_DIRECTORY = struct.Struct("<4sQ2H2L4Q")
_LOCAL_HEADER_SIZE = 30
_READ_CHUNK = 2**20  # small: the zip reader holds about two copies of each chunk


class CheckpointError(ValueError):
    """A file that is not a readable, pickle-free ``.npz`` checkpoint, or that is refused as
    unsafe (too large, a zip bomb, not a regular file)."""


def to_numpy(value: Any) -> np.ndarray:
    """A state_dict value as an array: our Tensors, PyTorch tensors (without importing torch),
    or anything ``np.asarray`` understands."""
    if isinstance(value, Tensor):
        return value.data
    if hasattr(value, "detach") and hasattr(value, "numpy"):
        value = value.detach()
        return (value.cpu() if hasattr(value, "cpu") else value).numpy()
    return np.asarray(value)


def _check_key(path: str, key: Any) -> str:
    """``key`` if it survives a round trip as a zip member name, else a clear error.

    NOTE: zip readers cut a member name at its first NUL ("a\\0x" and "a\\0y" would both
    reload as "a"), and separators or ".." would make the name a path when the archive is
    extracted.
    """
    if not isinstance(key, str):
        raise TypeError(f"cannot save to {path!r}: state_dict keys must be strings, got "
                        f"{type(key).__name__} {key!r}")
    problem = ("is empty" if not key
               else "contains a NUL character" if "\0" in key
               else "contains a path separator" if "/" in key or "\\" in key
               else "contains '..'" if ".." in key
               else None)
    if problem:
        raise ValueError(f"cannot save to {path!r}: key {key!r} {problem}, which a checkpoint "
                         "cannot store unchanged; rename it (module names joined by '.' are "
                         "fine)")
    return key


def _as_array(path: str, key: str, value: Any) -> np.ndarray:
    try:
        array = to_numpy(value)
    except (TypeError, ValueError) as err:
        raise TypeError(f"cannot save {key!r} to {path!r}: {type(value).__name__} is not an "
                        f"array ({err})") from None
    if array.dtype.hasobject:
        raise TypeError(f"cannot save {key!r} to {path!r}: it holds Python objects (dtype "
                        f"{array.dtype}); checkpoints store plain numeric arrays only")
    if key.rsplit(".", 1)[-1] == "num_batches_tracked":
        if array.size != 1:
            raise ValueError(f"cannot save {key!r} to {path!r}: a batch count must be a single "
                             f"integer, got an array of shape {array.shape}")
        array = np.asarray(array, dtype=np.int64).reshape(())
    return array


def save(state_dict: Mapping[str, Any], path: PathLike) -> None:
    """Write ``state_dict`` to ``path`` as an ``.npz`` archive, keys in order.

    Values may be NumPy arrays, Tensors or PyTorch tensors; ``num_batches_tracked`` entries
    are stored as int64 scalars. Keys must be non-empty strings without NUL characters, path
    separators or ``..`` (names a checkpoint cannot store unchanged). The file is written to a
    temporary file in the target folder and renamed into place, so a failed save never leaves
    a half-written checkpoint at ``path`` (nor replaces the one already there).

    Raises:
        TypeError: ``state_dict`` is not a mapping, a key is not a string, or a value is not
            a plain numeric array.
        ValueError: a key cannot be stored unchanged, or a batch count is not one integer.
        OSError: the folder does not exist or is not writable (the message names ``path``).
    """
    path = os.fspath(path)
    if not isinstance(state_dict, Mapping):
        hint = " (pass model.state_dict())" if hasattr(state_dict, "state_dict") else ""
        raise TypeError(f"cannot save to {path!r}: save expects a mapping of names to arrays, "
                        f"got {type(state_dict).__name__}{hint}")
    arrays = {_check_key(path, key): _as_array(path, key, value)
              for key, value in state_dict.items()}
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, temporary = tempfile.mkstemp(prefix=".checkpoint-", suffix=".npz", dir=directory)
    except OSError as err:
        raise type(err)(err.errno, f"cannot save to {path!r}: {err.strerror}") from None
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
    except OSError as err:
        os.unlink(temporary)
        raise type(err)(err.errno, f"cannot save to {path!r}: {err.strerror}") from None
    except BaseException:
        os.unlink(temporary)
        raise


def load(path: PathLike, max_bytes: int = DEFAULT_MAX_BYTES) -> dict[str, np.ndarray]:
    """Read a checkpoint written by :func:`save` (or ``np.savez``) into ``{key: array}``.

    Before any array is decompressed, the archive's directory and every array's header are
    checked (see the module docstring), so a hostile file is refused from its metadata alone
    and never makes NumPy allocate more than ``max_bytes``.

    Args:
        path: the checkpoint file.
        max_bytes: refuse archives whose members declare more than this many bytes in total
            (default 4 GiB). Raise it to load a larger model from a source you trust.

    Raises:
        CheckpointError: the file is not an ``.npz`` archive, is truncated or corrupt, holds
            pickled Python objects (refused unread: unpickling can run arbitrary code), is
            larger than ``max_bytes``, looks like a zip bomb, or is not a regular file.
        FileNotFoundError: no file at ``path``.
    """
    path = os.fspath(path)
    with _open_regular_file(path) as file:
        with _checked_archive(path, file, max_bytes) as archive:
            headers = _read_headers(path, archive)
            state: dict[str, np.ndarray] = {}
            for key, (name, shape, fortran_order, dtype) in headers.items():
                state[key] = _guarded(path, f" while reading {key!r}", _read_data,
                                      archive, name, shape, fortran_order, dtype)
    return state


def checkpoint_shapes(path: PathLike, max_bytes: int = DEFAULT_MAX_BYTES) -> dict[str, tuple]:
    """The shape of every array in a checkpoint, ``{key: shape}`` in the file's order, read from
    the array headers alone (no array data is decompressed).

    Cheap enough to compare a checkpoint with the model a configuration would build, before
    building it. Runs every check of :func:`load` and raises as it does.
    """
    path = os.fspath(path)
    with _open_regular_file(path) as file:
        with _checked_archive(path, file, max_bytes) as archive:
            return {key: header[1] for key, header in _read_headers(path, archive).items()}


def _open_regular_file(path: str) -> IO[bytes]:
    """``path`` opened for reading, refused unless it is a regular file.

    NOTE: stat first, so a FIFO or a device is never opened; then open without blocking and
    check again on the open file, in case ``path`` was swapped in between.
    """
    _refuse_unless_regular(path, os.stat(path).st_mode)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        _refuse_unless_regular(path, os.fstat(fd).st_mode)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def _refuse_unless_regular(path: str, mode: int) -> None:
    if stat.S_ISREG(mode):
        return
    kind = ("a folder" if stat.S_ISDIR(mode) else "a FIFO (named pipe)" if stat.S_ISFIFO(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
    raise CheckpointError(f"{path!r} is {kind}, not a checkpoint file; give the path of a file "
                          "written by tg.save(model.state_dict(), path)")


def _guarded(path: str, where: str, read: Any, *args: Any) -> Any:
    """``read(*args)``, any failure to parse reported as a damaged file (CheckpointError)."""
    try:
        return read(*args)
    except CheckpointError:
        raise
    except Exception as err:  # noqa: BLE001 -- any failure to parse means a damaged file
        raise CheckpointError(f"{path!r} is truncated or corrupt{where}: "
                              f"{type(err).__name__}: {err}") from None


def _checked_archive(path: str, file: IO[bytes], max_bytes: int) -> zipfile.ZipFile:
    """The zip archive in ``file``, after every check that needs only its directory."""
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0:
        raise ValueError(f"max_bytes must be a non-negative integer (a number of bytes), got "
                         f"{max_bytes!r}")
    size = os.fstat(file.fileno()).st_size
    head = file.read(len(_NPY_MAGIC))
    if not head.startswith(_ZIP_MAGIC):
        kind = ("a single .npy array" if head == _NPY_MAGIC
                else "empty" if not head else "not a zip archive")
        raise CheckpointError(f"{path!r} is not an .npz checkpoint ({kind}); save checkpoints "
                              "with tg.save(model.state_dict(), path)")
    if size > max_bytes:
        raise _too_large(path, f"the file is {size} bytes", max_bytes)
    count = _guarded(path, "", _declared_member_count, file, size)
    if count is not None and count > MAX_MEMBERS:
        raise CheckpointError(f"{path!r} is refused: its zip directory lists {count} members, "
                              f"more than the {MAX_MEMBERS} arrays a checkpoint may hold")
    archive = _guarded(path, "", zipfile.ZipFile, file)
    try:
        _check_directory(path, archive.infolist(), size, max_bytes)
    except BaseException:
        archive.close()
        raise
    return archive


def _declared_member_count(file: IO[bytes], size: int) -> Any:
    """The member count the zip's end-of-directory record declares, read without parsing the
    directory itself (which costs time per member), or None when the record is not found (the
    zip reader then reports the damage)."""
    tail_size = min(size, _END_OF_DIRECTORY.size + 0xFFFF)  # the record, then its comment
    file.seek(size - tail_size)
    tail = file.read(tail_size)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + _END_OF_DIRECTORY.size > len(tail):
        return None
    count = _END_OF_DIRECTORY.unpack_from(tail, at)[4]
    locator_at = at - _ZIP64_LOCATOR.size
    if count == 0xFFFF and locator_at >= 0 and tail[locator_at:locator_at + 4] == b"PK\x06\x07":
        record_offset = _ZIP64_LOCATOR.unpack_from(tail, locator_at)[2]
        file.seek(record_offset)
        record = file.read(_ZIP64_END_OF_DIRECTORY.size)
        if len(record) == _ZIP64_END_OF_DIRECTORY.size and record[:4] == b"PK\x06\x06":
            count = _ZIP64_END_OF_DIRECTORY.unpack(record)[7]
    return count


def _check_directory(path: str, members: list, size: int, max_bytes: int) -> None:
    """Refuse duplicate or overlapping members, absurd compression and a total over the limit,
    all from the zip's directory: nothing is decompressed yet."""
    seen = set()
    for info in members:
        if info.filename in seen:
            raise CheckpointError(f"{path!r} is refused: member {info.filename!r} appears more "
                                  "than once (a checkpoint stores each key once)")
        seen.add(info.filename)
        if (info.file_size > COMPRESSION_CHECK_BYTES
                and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1)):
            raise CheckpointError(
                f"{path!r} is refused: member {info.filename!r} would expand "
                f"{info.compress_size} compressed bytes to {info.file_size}, more than "
                f"{MAX_COMPRESSION_RATIO} times (a zip bomb); save checkpoints with tg.save, "
                "which does not compress")
    total = sum(info.file_size for info in members)
    if total > max_bytes:
        raise _too_large(path, f"its members declare {total} bytes", max_bytes)
    # NOTE: zip bombs make many directory entries share one compressed stream; in an honest
    # archive each member's header and data end before the next member begins.
    end = 0
    previous = None
    for info in sorted(members, key=lambda info: info.header_offset):
        if info.header_offset < end:
            raise CheckpointError(f"{path!r} is refused: members {previous!r} and "
                                  f"{info.filename!r} overlap (a zip bomb or a damaged file)")
        end = info.header_offset + _LOCAL_HEADER_SIZE + info.compress_size
        previous = info.filename
    if end > size:
        raise CheckpointError(f"{path!r} is truncated or corrupt: member {previous!r} ends "
                              f"past the end of the file ({end} > {size} bytes)")


def _too_large(path: str, what: str, max_bytes: int) -> CheckpointError:
    return CheckpointError(f"{path!r} is refused: {what}, more than the limit of {max_bytes} "
                           "bytes; if you trust the file, pass a larger limit: "
                           "tg.load(path, max_bytes=...)")


def _read_headers(path: str, archive: zipfile.ZipFile) -> dict[str, tuple]:
    """``{key: (member name, shape, fortran_order, dtype)}`` from every member's header."""
    headers = {}
    for info in archive.infolist():
        name = info.filename
        key = name[:-len(".npy")] if name.endswith(".npy") else name
        if key in headers:
            raise CheckpointError(f"{path!r} is refused: key {key!r} appears more than once")
        headers[key] = (name,) + _guarded(path, f" while reading {key!r}", _read_header,
                                          path, archive, info, key)
    return headers


def _read_header(path: str, archive: zipfile.ZipFile, info: zipfile.ZipInfo,
                 key: str) -> tuple:
    """One ``.npy`` member's ``(shape, fortran_order, dtype)``, checked against its size.

    The dtype must hold no Python objects (those are pickled, and unpickling can run arbitrary
    code) and the shape must account for exactly the member's size, so a damaged header can
    neither smuggle in a pickle nor make NumPy allocate an absurd array.
    """
    with archive.open(info) as member:
        if member.read(len(_NPY_MAGIC)) != _NPY_MAGIC:
            raise CheckpointError(f"{path!r}: member {key!r} is not a .npy array")
        member.seek(0)
        shape, fortran_order, dtype = _parse_header(member)
        header_size = member.tell()
    if dtype.hasobject:
        raise CheckpointError(
            f"{path!r}: refusing to load {key!r}: it holds pickled Python objects, which "
            "could run arbitrary code when loaded. Checkpoints hold plain numeric arrays "
            "only; re-save it with tg.save(state_dict, path) from a source you trust.")
    if any(n < 0 for n in shape):
        raise CheckpointError(f"{path!r} is corrupt: member {key!r} declares shape {shape}")
    # NOTE: Python ints, so that a huge shape cannot wrap around to the member's size.
    expected = int(np.prod(shape, dtype=object)) * dtype.itemsize
    available = info.file_size - header_size
    if expected != available:
        raise CheckpointError(
            f"{path!r} is corrupt: member {key!r} declares shape {shape} of {dtype} "
            f"({expected} bytes) but holds {available} bytes")
    return shape, fortran_order, dtype


def _read_data(archive: zipfile.ZipFile, name: str, shape: tuple, fortran_order: bool,
               dtype: np.dtype) -> np.ndarray:
    """A member's array, its bytes read straight into the array (no second copy in memory)."""
    raw = np.empty(int(np.prod(shape, dtype=np.int64)) * dtype.itemsize, dtype=np.uint8)
    with archive.open(name) as member:
        _parse_header(member)
        filled = 0
        while filled < raw.size:
            chunk = member.read(min(_READ_CHUNK, raw.size - filled))
            if not chunk:
                raise EOFError(f"member ends after {filled} of {raw.size} bytes")
            raw[filled:filled + len(chunk)] = np.frombuffer(chunk, dtype=np.uint8)
            filled += len(chunk)
    return raw.view(dtype).reshape(shape, order="F" if fortran_order else "C")


def _parse_header(member: IO[bytes]) -> tuple:
    """``(shape, fortran_order, dtype)`` from the ``.npy`` header at the start of ``member``,
    which is left at the first byte of the array's data."""
    version = np.lib.format.read_magic(member)
    read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                   else np.lib.format.read_array_header_2_0)
    return read_header(member)
