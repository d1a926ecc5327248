"""The ready-made MLP: layer order for each placement of batch norm and dropout, and its checks."""
import numpy as np
import pytest

import tinygrad_dropbn as tg
import tinygrad_dropbn.nn as nn
from tinygrad_dropbn.models import mlp


def layer_names(model):
    return [type(layer).__name__ for layer in model]


@pytest.mark.parametrize("options, expected", [
    (dict(), ["Linear", "BatchNorm1d", "ReLU", "Linear", "BatchNorm1d", "ReLU", "Linear"]),
    (dict(dropout=0.2), ["Linear", "BatchNorm1d", "ReLU", "Dropout",
                         "Linear", "BatchNorm1d", "ReLU", "Dropout", "Linear"]),
    (dict(bn_position="after", activation="tanh"),
     ["Linear", "Tanh", "BatchNorm1d", "Linear", "Tanh", "BatchNorm1d", "Linear"]),
    (dict(batchnorm=False, activation="sigmoid", dropout=0.5),
     ["Linear", "Sigmoid", "Dropout", "Linear", "Sigmoid", "Dropout", "Linear"]),
])
def test_layer_order(options, expected):
    assert layer_names(mlp(2, [8, 4], 3, **options)) == expected


def test_sizes_dropout_probability_and_output_shape():
    model = mlp(5, [8, 4], 3, dropout=0.25)
    linears = [layer for layer in model if isinstance(layer, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(5, 8), (8, 4), (4, 3)]
    assert [m.p for m in model if type(m).__name__ == "Dropout"] == [0.25, 0.25]
    assert [m.num_features for m in model if isinstance(m, nn.BatchNorm1d)] == [8, 4]
    out = model(tg.randn(6, 5))
    assert out.shape == (6, 3) and out.dtype == np.float32


def test_parameter_count_follows_the_layers():
    # weights + biases of each Linear, gamma + beta of each BatchNorm1d
    expected = (5 * 8 + 8) + 2 * 8 + (8 * 4 + 4) + 2 * 4 + (4 * 3 + 3)
    assert mlp(5, [8, 4], 3).num_parameters() == expected


def test_no_hidden_layers_is_a_linear_model():
    assert layer_names(mlp(4, [], 2, dropout=0.3)) == ["Linear"]


@pytest.mark.parametrize("args, options, message", [
    ((0, [8], 3), {}, "in_features must be a positive integer, got 0"),
    ((2, [8], True), {}, "out_features must be a positive integer, got True"),
    ((2, [8, 0], 3), {}, "every hidden layer width must be a positive integer, got 0"),
    ((2, "64,64", 3), {}, "hidden must be a sequence of layer widths"),
    ((2, [8], 3), dict(activation="gelu"), "unknown activation 'gelu'; choose one of relu"),
    ((2, [8], 3), dict(bn_position="middle"), "bn_position must be 'before' or 'after'"),
    ((2, [8], 3), dict(batchnorm="yes"), "batchnorm must be True or False"),
    ((2, [8], 3), dict(dropout=1.0), "dropout probability must be in [0, 1), got 1.0"),
    ((2, [8], 3), dict(dropout=-0.1), "dropout probability must be in [0, 1), got -0.1"),
])
def test_invalid_arguments_name_the_value(args, options, message):
    with pytest.raises(ValueError) as info:
        mlp(*args, **options)
    assert message in str(info.value)
