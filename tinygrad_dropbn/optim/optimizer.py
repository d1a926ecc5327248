"""The optimizer base class: parameter groups, per-parameter state, validated in-place steps.

An optimizer holds the parameters it updates in ``param_groups``, a list of dicts that each carry
their own hyperparameters (``lr``, ``momentum``, ...), exactly as in PyTorch. Per-parameter state
(momentum buffers, Adam's moments) lives in ``state``, keyed by the parameter tensor.

A step never records anything in the graph: it reads ``param.grad.data`` and writes
``param.data`` in place with NumPy, in the parameter's own dtype. Every gradient is checked before
the first parameter changes, so a bad gradient raises and leaves the model as it was. Each updated
parameter's version counter is then bumped, so a backward pass through a graph built before the
step (which saved the old weights) raises instead of returning a wrong gradient, as in PyTorch.
"""
from __future__ import annotations

import math
from collections import defaultdict
from typing import Any, Callable, Iterable, Optional, Union

import numpy as np

from ..autograd import increment_version
from ..engine import bump_versions, enable_grad
from ..tensor import Tensor

ParamsT = Union[Iterable[Tensor], Iterable[dict]]

# Options that state_dicts saved before they existed lack; loading fills in the defaults, as
# PyTorch's optimizers do.
_LATER_OPTIONS = frozenset({"maximize", "foreach", "capturable", "differentiable", "fused",
                            "decoupled_weight_decay"})

_UNORDERED = ("optimizer parameters must be in an ordered collection (a list), not a set: a "
              "set's order changes between runs, and so would the state_dict's numbering")


class Optimizer:
    """Base class of the optimizers: subclasses implement :meth:`_update_group`.

    Args:
        params: an iterable of tensors, of ``(name, tensor)`` pairs (``model.named_parameters()``:
            the names are kept in each group's ``"param_names"``, as in PyTorch), or of dicts
            (parameter groups) each holding ``"params"`` and any hyperparameters that override
            ``defaults`` for that group.
        defaults: the hyperparameters of groups that do not set their own.

    Attributes:
        param_groups: list of dicts, each with ``"params"`` (a list of tensors) and every
            hyperparameter of the optimizer. Changing ``group["lr"]`` changes the next step.
        state: dict from parameter to its state (a dict of arrays and counters).
    """

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        self._check_options(defaults)
        self.defaults = dict(defaults)
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        # Flat work buffers, one per (dtype, slot), reused by every step so an update allocates
        # no parameter-sized temporaries.
        self._scratch_buffers: dict[tuple, np.ndarray] = {}
        self._scratch_views: dict[tuple, np.ndarray] = {}
        if isinstance(params, Tensor) or not isinstance(params, Iterable):
            raise TypeError("params must be an iterable of Tensors or of dicts (parameter "
                            f"groups), got {type(params).__name__}; pass e.g. "
                            "model.parameters() or [weight, bias]")
        if isinstance(params, (set, frozenset)):
            raise TypeError(_UNORDERED)
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list; pass model.parameters() "
                             "of a model that has parameters")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyperparameters (missing ones take defaults)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"a parameter group must be a dict, got {type(param_group).__name__}")
        params = param_group.get("params")
        if params is None:
            raise ValueError("a parameter group needs a 'params' entry")
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(_UNORDERED)
        else:
            params = list(params)
        named = [p for p in params if isinstance(p, tuple)]
        if named and len(named) != len(params):
            raise ValueError("either every parameter has a name, as model.named_parameters() "
                             "gives, or none has; some names are missing")
        if named:
            if any(len(p) != 2 or not isinstance(p[0], str) for p in named):
                raise TypeError("named parameters must be (name, tensor) pairs, as "
                                "model.named_parameters() gives")
            names, params = [name for name, _ in named], [p for _, p in named]
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"an optimizer can only update Tensors, got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("cannot optimize a non-leaf tensor (one computed by an op); "
                                 "optimize the leaf parameters it was computed from")
            if p.data.dtype.kind != "f":
                raise TypeError(f"an optimizer can only update floating-point tensors, got a "
                                f"parameter of dtype {p.data.dtype}")
        if len({id(p) for p in params}) != len(params):
            raise ValueError("a parameter group contains the same parameter more than once")
        seen = {id(p) for group in self.param_groups for p in group["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        for group in self.param_groups:
            if ("param_names" in group) != bool(named):
                raise ValueError("every parameter group of an optimizer has parameter names or "
                                 f"none has: this group {'has' if named else 'has none'}")
        group = {**param_group, "params": params}  # PyTorch's key order
        if named:
            group["param_names"] = names
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self._check_options(group)
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient: set it to None (PyTorch's default) or to zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad.data.fill(0)
                    # A gradient from backward(create_graph=True) may be saved by a graph.
                    increment_version(p.grad)

    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        """Update every parameter that has a gradient; return ``closure()`` if one is given.

        Gradients are validated first (a Tensor of the parameter's shape and dtype), so a bad
        gradient raises before any parameter or state changes. Every parameter that has a
        gradient counts as changed in place afterwards (its version counter goes up by one).
        """
        for number, group in enumerate(self.param_groups):
            # A user or a scheduler may have set group["lr"] since the last step.
            try:
                self._check_options(group)
            except ValueError as error:
                raise ValueError(f"parameter group {number}: {error}; no parameter was "
                                 "updated") from None
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        work = [(group, self._gradients(number, group))
                for number, group in enumerate(self.param_groups)]
        for _, pairs in work:
            self._match_state_dtypes(pairs)
        for group, pairs in work:
            if pairs:
                try:
                    self._update_group(group, pairs)
                finally:  # even a step that failed halfway may have changed some parameters
                    bump_versions([p for p, _ in pairs])
        return loss

    def _update_group(self, group: dict[str, Any],
                      pairs: list[tuple[Tensor, np.ndarray]]) -> None:
        """Update each ``(param, grad_array)`` of one group in place, with its hyperparameters
        (:meth:`step` then bumps each parameter's version counter)."""
        raise NotImplementedError(f"{type(self).__name__} must define _update_group()")

    @staticmethod
    def _check_options(options: dict[str, Any]) -> None:
        """Raise ``ValueError`` for an invalid hyperparameter (subclasses check theirs)."""

    @staticmethod
    def _gradients(number: int, group: dict[str, Any]) -> list[tuple[Tensor, np.ndarray]]:
        """Group ``number``'s ``(param, grad_array)`` pairs, skipping parameters without a
        gradient, after checking that each gradient fits its parameter."""
        pairs = []
        for i, p in enumerate(group["params"]):
            grad = p.grad
            if grad is None:
                continue
            # NOTE: one test on the path every step takes; the messages are built on failure.
            if not (isinstance(grad, Tensor) and grad.data.shape == p.data.shape
                    and grad.data.dtype == p.data.dtype):
                _raise_bad_gradient(f"parameter {i} of parameter group {number}", p, grad)
            pairs.append((p, grad.data))
        return pairs

    def _match_state_dtypes(self, pairs: list[tuple[Tensor, np.ndarray]]) -> None:
        """Cast each state array to its parameter's dtype (after ``model.double()``, say).

        PyTorch casts state to the parameter's dtype when it loads a state_dict; here the cast
        happens whenever the two differ, so one update never mixes float32 and float64.
        """
        for p, _ in pairs:
            state = self.state.get(p)
            if not state:
                continue
            dtype = p.data.dtype
            for key, value in state.items():
                if isinstance(value, np.ndarray) and value.dtype != dtype:
                    state[key] = value.astype(dtype)

    def _scratch(self, like: np.ndarray, slot: int = 0) -> np.ndarray:
        """A work array shaped like ``like``: a view of a flat buffer the optimizer keeps.

        One buffer per (dtype, slot) serves every parameter, so the work memory is the size of
        the largest parameter, not of all of them; views are cached per shape because making
        one costs about as much as a small update.
        """
        key = (like.dtype, slot, like.shape)
        view = self._scratch_views.get(key)
        if view is None:
            flat = self._scratch_buffers.get(key[:2])
            if flat is None or flat.size < like.size:
                flat = self._scratch_buffers[key[:2]] = np.empty(like.size, like.dtype)
                # Drop views of the outgrown buffer so its memory can be freed.
                self._scratch_views = {k: v for k, v in self._scratch_views.items()
                                       if k[:2] != key[:2]}
            view = self._scratch_views[key] = flat[:like.size].reshape(like.shape)
        return view

    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state in PyTorch's layout, with NumPy arrays for values.

        ``{"state": {index: {name: array}}, "param_groups": [{..., "params": [index, ...]}]}``,
        where parameters are numbered in order across all groups. Arrays are copies.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {key: value for key, value in group.items() if key != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {}
        for p, values in self.state.items():
            if id(p) in index and values:
                state[index[id(p)]] = {key: _export(key, value) for key, value in values.items()}
        return {"state": dict(sorted(state.items())), "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict`: hyperparameters of every group and per-parameter state.

        Everything is validated before anything changes: the group sizes, every state array's
        shape against its parameter, and the hyperparameters. Arrays are cast to (copied into)
        each parameter's dtype.
        """
        if not isinstance(state_dict, dict) or set(state_dict) != {"state", "param_groups"}:
            raise ValueError("an optimizer state_dict must be a dict with exactly the keys "
                             "'state' and 'param_groups'")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"the state_dict has {len(saved_groups)} parameter groups, the "
                             f"optimizer has {len(self.param_groups)}")
        by_index: dict[int, Tensor] = {}
        new_groups = []
        for number, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"parameter group {number} has {len(group['params'])} "
                                 f"parameters, the state_dict's has {len(saved['params'])}")
            missing = sorted(set(self.defaults) - set(saved) - _LATER_OPTIONS)
            if missing:
                raise ValueError(
                    f"parameter group {number} of the state_dict lacks {type(self).__name__}'s "
                    f"hyperparameters {missing}: was it saved from a different optimizer? "
                    f"Load it into the optimizer type that saved it.")
            by_index.update(zip(saved["params"], group["params"]))
            new_group = {"params": group["params"],
                         **{k: v for k, v in saved.items() if k != "params"}}
            for key in _LATER_OPTIONS & set(self.defaults):
                new_group.setdefault(key, self.defaults[key])
            self._check_options(new_group)
            new_groups.append(new_group)
        new_state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for i, values in state_dict["state"].items():
            if i not in by_index:
                raise ValueError(f"the state_dict has state for parameter {i}, which no "
                                 "parameter group lists")
            p = by_index[i]
            new_state[p] = {key: _import(key, value, p, i) for key, value in values.items()}
        self.param_groups = new_groups
        self.state = new_state

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for number, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {number}")
            lines.extend(f"    {key}: {group[key]}" for key in sorted(group) if key != "params")
        lines.append(")")
        return "\n".join(lines)


def _export(key: str, value: Any) -> np.ndarray:
    """A state value as a NumPy array; the step count is a float32 scalar, as in PyTorch."""
    if key == "step":
        return np.array(value, dtype=np.float32)
    return np.array(value, copy=True)


def _import(key: str, value: Any, param: Tensor, index: int) -> Any:
    """A saved state value, checked against its parameter and cast to its dtype."""
    array = np.asarray(value)
    if key == "step":
        if array.shape != () or not float(array).is_integer() or float(array) < 0:
            raise ValueError(f"state 'step' of parameter {index} must be a non-negative whole "
                             f"number, got {value!r}")
        return int(array)
    if array.shape != param.data.shape:
        raise ValueError(f"state '{key}' of parameter {index} has shape {array.shape}, the "
                         f"parameter has shape {param.data.shape}")
    return np.array(array, dtype=param.data.dtype, copy=True)


def _raise_bad_gradient(where: str, p: Tensor, grad: Any) -> None:
    """The error for a gradient that does not fit its parameter (``where`` names it)."""
    if not isinstance(grad, Tensor):
        raise TypeError(f"{where} has a .grad of type {type(grad).__name__}; it must be "
                        "a Tensor (or None); no parameter was updated")
    g = grad.data
    if g.shape != p.data.shape:
        raise ValueError(f"{where} has shape {p.data.shape} but its gradient has shape "
                         f"{g.shape}; no parameter was updated")
    raise TypeError(f"{where} has dtype {p.data.dtype} but its gradient has dtype "
                    f"{g.dtype}; no parameter was updated. Cast the gradient to the "
                    "parameter's dtype")


def check_non_negative(name: str, value: Any) -> None:
    """Raise ``ValueError`` unless ``value`` is a finite real number >= 0 (NaN fails)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"Invalid {name}: {value!r} (expected a number >= 0)")
    if not (0.0 <= value and math.isfinite(value)):
        raise ValueError(f"Invalid {name}: {value!r} (must be a finite number >= 0)")


def implementation_options(**flags: Any) -> dict[str, Any]:
    """PyTorch's implementation switches, kept in every group so state_dicts have its keys.

    There is one NumPy implementation, so ``foreach`` and ``fused`` (which pick among PyTorch's
    kernels without changing the result) are accepted and ignored. ``capturable`` (CUDA graphs)
    and ``differentiable`` (autograd through the step) change what a step is and are refused.
    """
    if flags.get("capturable"):
        raise ValueError("capturable=True is for CUDA graphs; this package runs on the CPU "
                         "only: leave capturable=False")
    if flags.get("differentiable"):
        raise ValueError("differentiable=True (autograd through optimizer.step()) is not "
                         "supported: leave differentiable=False")
    return flags


def check_betas(betas: Any) -> None:
    """Raise ``ValueError`` unless ``betas`` is a pair of numbers in [0, 1)."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"Invalid betas: {betas!r} (expected a pair (beta1, beta2))")
    for i, beta in enumerate(betas):
        if isinstance(beta, bool) or not isinstance(beta, (int, float, np.integer, np.floating)) \
                or not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {beta!r} "
                             "(must be in [0, 1))")
