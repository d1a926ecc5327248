"""Containers: ``Sequential``, ``ModuleList`` and ``ModuleDict``. Each registers the modules it
holds as children (a plain Python list or dict would hide their parameters), named as in
PyTorch, so ``state_dict`` keys are ``0.weight``, ``layers.1.bias``, ``heads.cls.weight``."""
from __future__ import annotations

from typing import Any, Iterable, Iterator, Mapping, Optional, Union

import numpy as np

from .module import Module


def _position(index: Any, length: int, container: str) -> int:
    """``index`` (negative allowed) as a position in ``range(length)``."""
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
        raise TypeError(f"{container} indices must be integers or slices, got "
                        f"{type(index).__name__}")
    if not -length <= index < length:
        raise IndexError(f"index {index} is out of range for a {container} of length {length}")
    return int(index) % length


def _check_module(module: Any, container: str) -> None:
    if not isinstance(module, Module):
        raise TypeError(f"{container} holds Modules, got {type(module).__name__}")


class _IndexedContainer(Module):
    """What ``Sequential`` and ``ModuleList`` share: children named by position."""

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __setitem__(self, index: int, module: Module) -> None:
        _check_module(module, type(self).__name__)
        name = list(self._modules)[_position(index, len(self), type(self).__name__)]
        self.add_module(name, module)

    def __delitem__(self, index: Union[int, slice]) -> None:
        modules = list(self._modules.values())
        if isinstance(index, slice):
            del modules[index]
        else:
            del modules[_position(index, len(modules), type(self).__name__)]
        self._renumber(modules)  # PyTorch renumbers too, so the keys stay 0, 1, 2, ...

    def _renumber(self, modules: list) -> None:
        for name in list(self._modules):
            delattr(self, name)
        for i, module in enumerate(modules):
            self.add_module(str(i), module)

    def append(self, module: Module) -> Any:
        """Add ``module`` at the end, named by its position; returns ``self``."""
        _check_module(module, type(self).__name__)
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> Any:
        """Append every module of ``modules``; returns ``self``."""
        for module in list(modules):
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> Any:
        """Put ``module`` before position ``index`` (``len(self)`` appends) and renumber the
        ones after it; returns ``self``."""
        _check_module(module, type(self).__name__)
        modules = list(self._modules.values())
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) \
                or not -len(modules) <= index <= len(modules):
            raise IndexError(f"insert index {index!r} is out of range for a "
                             f"{type(self).__name__} of length {len(modules)}")
        modules.insert(int(index), module)
        self._renumber(modules)
        return self


class Sequential(_IndexedContainer):
    """Modules applied one after another: ``Sequential(a, b, c)(x) == c(b(a(x)))``.

    Children are named ``"0"``, ``"1"``, ... (or by the keys of an ordered mapping), which gives
    ``state_dict`` keys like ``0.weight``, as in PyTorch. Indexing with a slice gives a
    ``Sequential`` of the same modules under the same names; ``append``, ``extend``, ``insert``
    and ``del model[i]`` edit it in place.

    Example:
        >>> import tinygrad_dropbn.nn as nn
        >>> model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1))
        >>> len(model), type(model[-1]).__name__, len(model[:2])
        (3, 'Linear', 2)
    """

    def __init__(self, *modules: Union[Module, Mapping[str, Module]]) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], Mapping):
            for name, module in modules[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(modules):
                _check_module(module, "Sequential")
                self.add_module(str(i), module)

    def forward(self, x: Any) -> Any:
        for module in self._modules.values():
            x = module(x)
        return x

    def __getitem__(self, index: Union[int, slice]) -> Module:
        items = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(dict(items[index]))
        return items[_position(index, len(items), "Sequential")][1]


class ModuleList(_IndexedContainer):
    """A list of modules whose parameters the parent module registers. It has no
    ``forward``: index or iterate it in your own.

    Example:
        >>> import tinygrad_dropbn.nn as nn
        >>> layers = nn.ModuleList([nn.Linear(4, 4) for _ in range(3)])
        >>> len(layers), len(list(layers.parameters()))
        (3, 6)
    """

    def __init__(self, modules: Optional[Iterable[Module]] = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, index: Union[int, slice]) -> Union[Module, "ModuleList"]:
        values = list(self._modules.values())
        if isinstance(index, slice):
            return ModuleList(values[index])
        return values[_position(index, len(values), "ModuleList")]


class ModuleDict(Module):
    """A dict of modules, in insertion order, whose parameters the parent module registers;
    ``state_dict`` keys are ``<key>.weight``. It has no ``forward``.

    Example:
        >>> import tinygrad_dropbn.nn as nn
        >>> heads = nn.ModuleDict({"cls": nn.Linear(4, 3), "box": nn.Linear(4, 2)})
        >>> list(heads.keys()), heads["box"].out_features, "cls" in heads
        (['cls', 'box'], 2, True)
    """

    def __init__(self, modules: Optional[Union[Mapping[str, Module], Iterable]] = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        if key not in self._modules:
            raise KeyError(key)
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        _check_module(module, "ModuleDict")
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        if key not in self._modules:
            raise KeyError(key)
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def keys(self) -> Iterable[str]:
        return self._modules.keys()

    def values(self) -> Iterable[Module]:
        return self._modules.values()

    def items(self) -> Iterable[tuple[str, Module]]:
        return self._modules.items()

    def pop(self, key: str) -> Module:
        """Remove ``key`` and return its module."""
        module = self[key]
        del self[key]
        return module

    def clear(self) -> None:
        for key in list(self._modules):
            del self[key]

    def update(self, modules: Union[Mapping[str, Module], Iterable]) -> None:
        """Add (or replace) the modules of a mapping or of an iterable of (key, module)."""
        pairs = modules.items() if isinstance(modules, Mapping) else modules
        for pair in pairs:
            if isinstance(pair, Module) or len(pair) != 2:
                raise ValueError("ModuleDict.update expects a mapping or (key, module) pairs, "
                                 f"got an element {pair!r}")
            self[pair[0]] = pair[1]
