"""``Module`` and ``Parameter``: the containers every layer is built from.

A module owns three ordered registries, filled by plain attribute assignment (as in PyTorch):

* **parameters** -- :class:`Parameter` tensors an optimizer updates (``weight``, ``bias``);
* **buffers** -- tensors that are part of the model's state but are not trained
  (``running_mean``, ``running_var``, ``num_batches_tracked``);
* **submodules** -- other modules, which makes a model a tree.

Iteration follows assignment order, so parameter lists, ``state_dict`` keys and printed trees are
the same on every run. ``training`` is data on each module, switched for a whole tree by
``train(mode)`` / ``eval()``.
"""
from __future__ import annotations

import threading
from typing import Any, Callable, Iterator, Mapping, NamedTuple, Optional

import numpy as np

from ..autograd import increment_version
from ..dtypes import parse_to
from ..serialization import to_numpy
from ..tensor import ArrayLike, Tensor


class _Calls(threading.local):
    """The modules whose ``forward`` is running, per thread, outermost first."""

    def __init__(self) -> None:
        self.modules: list = []


_calls = _Calls()


def module_scope() -> tuple:
    """The modules whose ``forward`` is running in this thread, outermost first: what the
    graph drawing tags each recorded op with, to group ops by layer."""
    return tuple(_calls.modules)


class Parameter(Tensor):
    """A tensor that is a trainable part of a module.

    Assigning a ``Parameter`` to a module attribute registers it, so it appears in
    ``parameters()``, ``state_dict()`` and the optimizer's reach. It requires a gradient by
    default.

    Args:
        data: the initial value (copied; NumPy arrays keep their dtype, lists become float32).
        requires_grad: whether optimizers should train it.

    Example:
        >>> import numpy as np
        >>> import tinygrad_dropbn.nn as nn
        >>> w = nn.Parameter(np.zeros((2, 3), dtype=np.float32))
        >>> w.requires_grad, w.shape
        (True, (2, 3))
    """

    __slots__ = ()

    def __init__(self, data: ArrayLike, requires_grad: bool = True) -> None:
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(..., strict=False)`` could not match, as PyTorch reports it."""

    missing_keys: list
    unexpected_keys: list

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return (f"IncompatibleKeys(missing_keys={self.missing_keys}, "
                f"unexpected_keys={self.unexpected_keys})")


def _check_name(module: "Module", name: Any, kind: str) -> None:
    if not isinstance(name, str):
        raise TypeError(f"{kind} name must be a string, got {type(name).__name__}")
    if not name or "." in name:
        raise KeyError(f"{kind} name must be non-empty and contain no '.', got {name!r}")
    if "_parameters" not in module.__dict__:
        raise AttributeError(f"cannot register {kind} {name!r} before Module.__init__() runs: "
                             "call super().__init__() first in your module's __init__")


class Module:
    """Base class of every layer and model.

    Subclasses call ``super().__init__()``, assign their parameters, buffers and submodules as
    attributes, and define ``forward``. Calling the module runs ``forward``; while it runs, the
    module is on :func:`module_scope`, so drawn graphs can group ops by layer.

    Example:
        >>> import tinygrad_dropbn as tg
        >>> import tinygrad_dropbn.nn as nn
        >>> class TwoLayer(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.hidden = nn.Linear(2, 4)
        ...         self.out = nn.Linear(4, 1)
        ...     def forward(self, x):
        ...         return self.out(self.hidden(x).relu())
        >>> model = TwoLayer()
        >>> [name for name, _ in model.named_parameters()]
        ['hidden.weight', 'hidden.bias', 'out.weight', 'out.bias']
        >>> model(tg.randn(3, 2)).shape
        (3, 1)
    """

    training: bool

    def __init__(self) -> None:
        # NOTE: object.__setattr__ because our __setattr__ consults these very dicts.
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "training", True)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f"{type(self).__name__} has no forward(); define forward(self, ...) in the subclass")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        running = _calls.modules
        running.append(self)
        try:
            return self.forward(*args, **kwargs)
        finally:
            running.pop()

    def register_parameter(self, name: str, param: Optional[Parameter]) -> None:
        """Register ``param`` (a :class:`Parameter`, or None for an absent one like a bias)."""
        _check_name(self, name, "parameter")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot register a {type(param).__name__} as parameter {name!r}: "
                            "wrap it as nn.Parameter(value), or use register_buffer() for "
                            "state that is not trained")
        if name not in self._parameters and hasattr(self, name):
            raise KeyError(f"attribute {name!r} already exists on {type(self).__name__}")
        self._parameters[name] = param
        self.__dict__[name] = param

    def register_buffer(self, name: str, tensor: Optional[Tensor],
                        persistent: bool = True) -> None:
        """Register a tensor that is model state but not trained (e.g. ``running_mean``).

        Persistent buffers are saved in ``state_dict()``; non-persistent ones are not.
        """
        _check_name(self, name, "buffer")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"buffer {name!r} must be a Tensor or None, got "
                            f"{type(tensor).__name__}; wrap arrays as tg.Tensor(array)")
        if isinstance(tensor, Parameter):
            raise TypeError(f"buffer {name!r} got a Parameter; use register_parameter() "
                            "for trained state")
        if name not in self._buffers and hasattr(self, name):
            raise KeyError(f"attribute {name!r} already exists on {type(self).__name__}")
        self._buffers[name] = tensor
        self.__dict__[name] = tensor
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    def add_module(self, name: str, module: Optional["Module"]) -> None:
        """Register ``module`` as a child named ``name`` (None keeps the slot empty)."""
        _check_name(self, name, "module")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        if name not in self._modules and hasattr(self, name):
            raise KeyError(f"attribute {name!r} already exists on {type(self).__name__}")
        self._modules[name] = module
        self.__dict__[name] = module

    def __setattr__(self, name: str, value: Any) -> None:
        state = self.__dict__
        params, buffers, modules = (state.get("_parameters"), state.get("_buffers"),
                                    state.get("_modules"))
        if isinstance(value, (Parameter, Module)) and params is None:
            raise AttributeError(f"cannot assign {type(value).__name__} {name!r} before "
                                 "Module.__init__() runs: call super().__init__() first")
        if isinstance(value, Parameter):
            self._forget(name)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as parameter {name!r} "
                                "(nn.Parameter or None expected)")
            params[name] = state[name] = None
        elif isinstance(value, Module):
            self._forget(name)
            modules[name] = state[name] = value
        elif modules is not None and name in modules:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as child module "
                                f"{name!r} (Module or None expected)")
            modules[name] = state[name] = None
        elif buffers is not None and name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign {type(value).__name__} as buffer {name!r} "
                                "(Tensor or None expected)")
            buffers[name] = state[name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name: str) -> None:
        """Drop ``name`` from every registry and the instance dict (before re-registering it)."""
        self.__dict__.pop(name, None)
        self._parameters.pop(name, None)
        self._buffers.pop(name, None)
        self._non_persistent_buffers.discard(name)
        self._modules.pop(name, None)

    def __getattr__(self, name: str) -> Any:
        # NOTE: parameters, buffers and children are mirrored in the instance dict, so normal
        # lookup finds them without this (slow) fallback; it serves objects whose __init__
        # has not run yet and unknown names.
        state = self.__dict__
        for registry in ("_parameters", "_buffers", "_modules"):
            entries = state.get(registry)
            if entries is not None and name in entries:
                return entries[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        if name in self._parameters or name in self._buffers or name in self._modules:
            self._forget(name)
        else:
            object.__delattr__(self, name)

    def __dir__(self) -> list:
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers)
                      | set(self._modules))

    def named_modules(self, prefix: str = "", memo: Optional[set] = None
                      ) -> Iterator[tuple[str, "Module"]]:
        """Every module in the tree, this one first, depth-first in assignment order; a module
        reachable by two paths is listed once, under the first."""
        if memo is None:
            memo = set()
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(f"{prefix}.{name}" if prefix else name, memo)

    def modules(self) -> Iterator["Module"]:
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        """The direct submodules, in assignment order."""
        seen = set()
        for name, child in self._modules.items():
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                yield name, child

    def children(self) -> Iterator["Module"]:
        for _, child in self.named_children():
            yield child

    def _named_members(self, registry: str, prefix: str, recurse: bool
                       ) -> Iterator[tuple[str, Tensor]]:
        modules = self.named_modules(prefix) if recurse else iter([(prefix, self)])
        seen = set()
        for module_prefix, module in modules:
            for name, value in module.__dict__[registry].items():
                if value is None or id(value) in seen:
                    continue
                seen.add(id(value))
                yield (f"{module_prefix}.{name}" if module_prefix else name), value

    def named_parameters(self, prefix: str = "", recurse: bool = True
                         ) -> Iterator[tuple[str, Parameter]]:
        """``(dotted name, parameter)`` pairs, each shared parameter once."""
        return self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True
                      ) -> Iterator[tuple[str, Tensor]]:
        """``(dotted name, buffer)`` pairs, persistent or not."""
        return self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def num_parameters(self, only_trainable: bool = False) -> int:
        """The number of scalar weights (only those with ``requires_grad`` if asked)."""
        return sum(p.numel() for p in self.parameters()
                   if p.requires_grad or not only_trainable)

    def apply(self, fn: Callable[["Module"], None]) -> "Module":
        """Call ``fn`` on every submodule, then on this module (e.g. custom initialisation)."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def train(self, mode: bool = True) -> "Module":
        """Set training mode (``mode=True``) or evaluation mode on this module and every
        descendant, and return ``self``.

        Only layers whose behaviour differs between the two (dropout, batch norm) look at it.
        """
        if not isinstance(mode, (bool, np.bool_)):
            raise ValueError(f"training mode must be a bool, got {mode!r} "
                             f"({type(mode).__name__}); use train(True) or train(False)")
        object.__setattr__(self, "training", bool(mode))
        for child in self.children():
            child.train(bool(mode))
        return self

    def eval(self) -> "Module":
        """Evaluation mode for the whole tree (same as ``train(False)``); returns ``self``."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        """Freeze (``False``) or unfreeze every parameter; returns ``self``."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient: drop it (default, as in PyTorch), or fill it with
        zeros in place, keeping its buffer for the next backward to accumulate into."""
        for param in self.parameters():
            if set_to_none:
                param.grad = None
            elif param.grad is not None:
                param.grad.data.fill(0)
                # A gradient from backward(create_graph=True) may be saved by a graph.
                increment_version(param.grad)

    def to(self, *args: Any, dtype: Any = None, device: Any = None) -> "Module":
        """Convert every parameter and floating-point buffer to ``dtype`` in place (the objects
        stay the same, so optimizers keep their references); returns ``self``. Takes
        ``Tensor.to``'s arguments: ``to(dtype)``, ``to("cpu")``, ``to("cpu", dtype)``; a device
        other than the CPU raises.

        Integer buffers such as ``num_batches_tracked`` keep their dtype.
        """
        dtype = parse_to(args, dtype, device)
        if dtype is None:
            return self
        if dtype.kind != "f":
            raise TypeError(f"Module.to() takes a floating-point dtype, got {dtype}")
        for param in self.parameters():
            param.data = param.data.astype(dtype)
            if param.grad is not None:
                param.grad.data = param.grad.data.astype(dtype)
        for buffer in self.buffers():
            if buffer.data.dtype.kind == "f":
                buffer.data = buffer.data.astype(dtype)
        return self

    def float(self) -> "Module":
        return self.to(np.float32)

    def double(self) -> "Module":
        return self.to(np.float64)

    def _state_entries(self, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
        """What ``state_dict`` saves, as PyTorch orders it: each module's parameters, then its
        persistent buffers, then each child's entries under ``child_name.``."""
        for name, param in self._parameters.items():
            if param is not None:
                yield prefix + name, param
        for name, buffer in self._buffers.items():
            if buffer is not None and name not in self._non_persistent_buffers:
                yield prefix + name, buffer
        for name, child in self._modules.items():
            if child is not None:
                yield from child._state_entries(f"{prefix}{name}.")

    def state_dict(self) -> dict[str, np.ndarray]:
        """The model's state as ``{dotted name: array copy}``, in PyTorch's key names and order.

        Example keys for ``Sequential(Linear(2, 3), BatchNorm1d(3))``: ``0.weight``, ``0.bias``,
        ``1.weight``, ``1.bias``, ``1.running_mean``, ``1.running_var``,
        ``1.num_batches_tracked``.
        """
        return {key: tensor.data.copy() for key, tensor in self._state_entries()}

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True
                        ) -> IncompatibleKeys:
        """Copy ``state_dict`` into this model's parameters and buffers, in place.

        Values may be NumPy arrays, Tensors, PyTorch tensors or anything ``np.asarray``
        accepts; each is cast to its target's dtype. Nothing is changed unless every key
        can be loaded: missing and unexpected keys (when ``strict``) and every shape or dtype
        mismatch are reported together in one ``RuntimeError``. Each tensor loaded counts as
        changed in place (its version counter goes up), so a backward pass through a graph
        built before the load raises instead of mixing old and new weights, as in PyTorch.

        Returns:
            ``(missing_keys, unexpected_keys)``, useful with ``strict=False``.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"load_state_dict expects a mapping of names to arrays, got "
                            f"{type(state_dict).__name__}")
        targets = dict(self._state_entries())
        missing = [key for key in targets if key not in state_dict]
        unexpected = [key for key in state_dict if key not in targets]
        problems = []
        values = {}
        for key, target in targets.items():
            if key not in state_dict:
                continue
            try:
                value = to_numpy(state_dict[key])
            except Exception as err:  # report it with the others, whatever its kind
                problems.append(f"cannot read {key!r} as an array: {err}")
                continue
            if value.dtype.kind not in "biuf":
                problems.append(f"{key!r} has dtype {value.dtype}, expected numbers")
            elif value.shape != target.data.shape:
                problems.append(f"size mismatch for {key!r}: copying a value of shape "
                                f"{value.shape} from the checkpoint, the shape in the current "
                                f"model is {target.data.shape}")
            else:
                values[key] = value
        errors = []
        if strict and missing:
            errors.append("missing key(s): " + ", ".join(map(repr, missing)))
        if strict and unexpected:
            errors.append("unexpected key(s): " + ", ".join(map(repr, unexpected)))
        errors += problems
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__} "
                               "(nothing was changed):\n  " + "\n  ".join(errors))
        for key, value in values.items():
            np.copyto(targets[key].data, value, casting="unsafe")
            increment_version(targets[key])
        return IncompatibleKeys(missing, unexpected)

    def extra_repr(self) -> str:
        """The text between the parentheses of this module's line in ``repr`` (its settings)."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        children = [f"({name}): " + repr(child).replace("\n", "\n  ")
                    for name, child in self._modules.items()]
        if not children:
            return f"{type(self).__name__}({extra})"
        lines = ([extra] if extra else []) + children
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"
