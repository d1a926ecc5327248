"""Export a model to ONNX, so onnxruntime (or any ONNX runtime) can run it without this package.

``export(model, example_input, path)`` writes one ONNX graph for a model built from this
package's layers: :class:`~tinygrad_dropbn.nn.Linear`, ``BatchNorm1d``/``BatchNorm2d`` (with
running statistics), ``Dropout``, the activations (``ReLU``, ``LeakyReLU``, ``Sigmoid``,
``Tanh``, ``GELU``, ``ELU``, ``SiLU``, ``Softmax``, ``LogSoftmax``), ``LayerNorm``,
``Flatten``, ``Identity``, and ``Sequential`` containers of them. Any other module (a custom
one included: its ``forward`` is Python the exporter cannot read) raises ``ValueError`` naming
it. As ``torch.onnx.export`` does by default, the model is exported as in evaluation mode
(dropout off, batch norm on its running statistics) and its modes are restored afterwards.

The ``onnx`` package is needed only here and is imported when :func:`export` runs
(``pip install "tinygrad-dropbn[onnx]"``).
"""
from __future__ import annotations

import math
import os
from typing import Any, Callable, Optional, Union

import numpy as np

from .engine import no_grad
from .tensor import Tensor

_ONNX_TYPES = {np.dtype(np.float32): 1, np.dtype(np.float64): 11}  # TensorProto.FLOAT, DOUBLE
_NN_PACKAGE = __name__.rsplit(".", 1)[0] + ".nn"


class _Graph:
    """The nodes and initializers written so far, and a counter for fresh value names."""

    def __init__(self, helper: Any, numpy_helper: Any, dtype: np.dtype) -> None:
        self.helper, self.numpy_helper, self.dtype = helper, numpy_helper, dtype
        self.nodes: list = []
        self.initializers: list = []
        self._count = 0

    def name(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def constant(self, hint: str, value: Any, dtype: Optional[Any] = None) -> str:
        """Store ``value`` as an initializer (in the model's dtype unless given)."""
        name = self.name(hint)
        array = np.asarray(value, dtype=self.dtype if dtype is None else dtype)
        self.initializers.append(self.numpy_helper.from_array(array, name))
        return name

    def node(self, op: str, inputs: list[str], hint: str, **attributes: Any) -> str:
        out = self.name(hint)
        self.nodes.append(self.helper.make_node(op, inputs, [out], name=out, **attributes))
        return out


def _linear(g: _Graph, m: Any, x: str, shape: tuple) -> str:
    out = g.node("MatMul", [x, g.constant("weight_t", m.weight.data.T)], "linear")
    if m.bias is not None:
        out = g.node("Add", [out, g.constant("bias", m.bias.data)], "linear")
    return out


def _batch_norm(g: _Graph, m: Any, x: str, shape: tuple) -> str:
    if not m.track_running_stats or m.running_mean is None:
        raise ValueError(f"cannot export {type(m).__name__} with track_running_stats=False: in "
                         "evaluation it normalises with each batch's own statistics, which "
                         "ONNX's BatchNormalization does not do")
    c = m.num_features
    weight = m.weight.data if m.weight is not None else np.ones(c)
    bias = m.bias.data if m.bias is not None else np.zeros(c)
    return g.node("BatchNormalization",
                  [x, g.constant("bn_scale", weight), g.constant("bn_bias", bias),
                   g.constant("bn_mean", m.running_mean.data),
                   g.constant("bn_var", m.running_var.data)],
                  "batch_norm", epsilon=float(m.eps))


def _dropout(g: _Graph, m: Any, x: str, shape: tuple) -> str:
    if m.inverted:
        return g.node("Identity", [x], "dropout")
    # Non-inverted dropout scales by 1 - p in evaluation instead of in training.
    return g.node("Mul", [x, g.constant("keep", 1.0 - m.p)], "dropout")


def _gelu(g: _Graph, m: Any, x: str, shape: tuple) -> str:
    """x Phi(x) = x (1 + erf(x / sqrt 2)) / 2, or the tanh form
    x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2 (the Gelu op needs opset 20)."""
    if m.approximate == "tanh":
        cube = g.node("Mul", [g.node("Mul", [x, x], "gelu"), x], "gelu")
        inner = g.node("Add", [x, g.node("Mul", [cube, g.constant("c", 0.044715)], "gelu")],
                       "gelu")
        core = g.node("Tanh", [g.node("Mul", [inner, g.constant("c", math.sqrt(2 / math.pi))],
                                      "gelu")], "gelu")
    else:
        core = g.node("Erf", [g.node("Mul", [x, g.constant("c", 1 / math.sqrt(2))], "gelu")],
                      "gelu")
    half_x = g.node("Mul", [x, g.constant("half", 0.5)], "gelu")
    return g.node("Mul", [half_x, g.node("Add", [core, g.constant("one", 1.0)], "gelu")],
                  "gelu")


def _softmax_axis(m: Any, shape: tuple) -> int:
    if m.dim is not None:
        return int(m.dim)
    return 0 if len(shape) in (0, 1, 3) else 1  # PyTorch's implicit choice, as F.softmax


def _layer_norm(g: _Graph, m: Any, x: str, shape: tuple) -> str:
    normalized = tuple(m.normalized_shape)
    weight = m.weight.data if m.weight is not None else np.ones(normalized)
    bias = m.bias.data if m.bias is not None else np.zeros(normalized)
    return g.node("LayerNormalization",
                  [x, g.constant("ln_scale", weight), g.constant("ln_bias", bias)],
                  "layer_norm", axis=-len(normalized), epsilon=float(m.eps))


def _flatten(g: _Graph, m: Any, x: str, shape: tuple) -> str:
    ndim = len(shape)
    start, end = m.start_dim % max(ndim, 1), m.end_dim % max(ndim, 1)
    # 0 copies a leading dimension (the batch may vary at run time), -1 is the merged one.
    target = [0] * start + [-1] + list(shape[end + 1:])
    return g.node("Reshape", [x, g.constant("shape", target, np.int64)], "flatten")


def _simple(op: str, **attributes: Callable[[Any, tuple], Any]) -> Callable:
    def convert(g: _Graph, m: Any, x: str, shape: tuple) -> str:
        values = {key: get(m, shape) for key, get in attributes.items()}
        return g.node(op, [x], op.lower(), **values)
    return convert


_CONVERTERS: dict[str, Callable[[_Graph, Any, str, tuple], str]] = {
    "Linear": _linear,
    "BatchNorm1d": _batch_norm,
    "BatchNorm2d": _batch_norm,
    "Dropout": _dropout,
    "ReLU": _simple("Relu"),
    "LeakyReLU": _simple("LeakyRelu", alpha=lambda m, s: float(m.negative_slope)),
    "Sigmoid": _simple("Sigmoid"),
    "Tanh": _simple("Tanh"),
    "ELU": _simple("Elu", alpha=lambda m, s: float(m.alpha)),
    "SiLU": lambda g, m, x, s: g.node("Mul", [x, g.node("Sigmoid", [x], "silu")], "silu"),
    "GELU": _gelu,
    "Softmax": _simple("Softmax", axis=_softmax_axis),
    "LogSoftmax": _simple("LogSoftmax", axis=_softmax_axis),
    "LayerNorm": _layer_norm,
    "Flatten": _flatten,
    "Identity": _simple("Identity"),
}


def _convert(g: _Graph, module: Any, path: str, x: str, value: Tensor) -> tuple[str, Tensor]:
    """Append ``module``'s nodes reading ``x`` (whose example value is ``value``); return the
    output's name and example value."""
    cls = type(module)
    if not cls.__module__.startswith(_NN_PACKAGE):
        raise ValueError(f"cannot export module {path} ({cls.__name__}): only this package's "
                         f"layers can be exported (supported: Sequential, "
                         f"{', '.join(sorted(_CONVERTERS))}); a custom module's forward is "
                         "Python code ONNX cannot hold")
    if cls.__name__ == "Sequential":
        for name, child in module.named_children():
            x, value = _convert(g, child, f"{path}.{name}", x, value)
        return x, value
    convert = _CONVERTERS.get(cls.__name__)
    if convert is None:
        raise ValueError(f"cannot export module {path} ({cls.__name__}): ONNX export supports "
                         f"Sequential and {', '.join(sorted(_CONVERTERS))}")
    return convert(g, module, x, value.shape), module(value)


def export(model: Any, example_input: Union[Tensor, np.ndarray], path: Union[str, os.PathLike],
           *, input_names: Optional[list[str]] = None, output_names: Optional[list[str]] = None,
           opset_version: int = 17, dynamic_batch: bool = True) -> None:
    """Write ``model`` as an ONNX file that computes ``model(x)`` in evaluation mode.

    Args:
        model: a module built from the supported layers (see the module docstring).
        example_input: an input of the shape the model will get (its values do not matter),
            used to work out every layer's shape.
        path: the ``.onnx`` file to write.
        input_names, output_names: the graph's input and output names (one each; default
            ``["input"]`` and ``["output"]``).
        opset_version: the ONNX operator set (17 or newer: LayerNormalization needs 17).
        dynamic_batch: leave the first dimension free (named ``"batch"``), so the file runs
            on any batch size; otherwise every shape is fixed to the example's.

    Raises:
        ValueError: for a module that cannot be exported (named by its path in the model), a
            batch norm without running statistics, or an unsupported dtype.
        ImportError: if the ``onnx`` package is missing.

    Example:
        >>> import numpy as np
        >>> import tinygrad_dropbn as tg
        >>> import tinygrad_dropbn.onnx
        >>> model = tg.nn.Sequential(tg.nn.Linear(3, 4), tg.nn.ReLU(), tg.nn.Linear(4, 1))
        >>> tinygrad_dropbn.onnx.export(model, tg.zeros(2, 3), "mlp.onnx")  # doctest: +SKIP
    """
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError as error:
        raise ImportError("ONNX export needs the onnx package: pip install "
                          "'tinygrad-dropbn[onnx]' (or pip install onnx)") from error
    if opset_version < 17:
        raise ValueError(f"opset_version must be >= 17 (LayerNormalization), got "
                         f"{opset_version}")
    x = example_input if isinstance(example_input, Tensor) else Tensor(np.asarray(example_input))
    dtype = x.data.dtype
    if dtype not in _ONNX_TYPES:
        raise ValueError(f"example_input has dtype {dtype}; export a float32 or float64 model "
                         "with an example input of the same dtype")
    input_name = (input_names or ["input"])[0]
    output_name = (output_names or ["output"])[0]
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        graph = _Graph(helper, numpy_helper, dtype)
        with no_grad():
            last, out = _convert(graph, model, type(model).__name__, input_name, x)
    finally:
        for m, training in modes:
            m.training = training
    graph.nodes.append(helper.make_node("Identity", [last], [output_name], name=output_name))

    def value_info(name: str, shape: tuple) -> Any:
        dims = ["batch" if dynamic_batch and i == 0 else d for i, d in enumerate(shape)]
        return helper.make_tensor_value_info(name, _ONNX_TYPES[dtype], dims)

    onnx_graph = helper.make_graph(graph.nodes, type(model).__name__,
                                   [value_info(input_name, x.shape)],
                                   [value_info(output_name, out.shape)], graph.initializers)
    onnx_model = helper.make_model(onnx_graph, producer_name="tinygrad_dropbn",
                                   opset_imports=[helper.make_opsetid("", opset_version)])
    onnx.checker.check_model(onnx_model)
    onnx.save(onnx_model, os.fspath(path))
