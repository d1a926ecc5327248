"""ONNX export: onnxruntime runs the exported file and gives the model's outputs."""
import numpy as np
import pytest

import tinygrad_dropbn as tg
import tinygrad_dropbn.nn as nn
import tinygrad_dropbn.onnx as tg_onnx

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def run_onnx(path, x):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def trained_batchnorm(module, shape, rng):
    """A batch norm whose running statistics and affine parameters are not the defaults."""
    module.train()
    for _ in range(3):
        module(tg.Tensor(rng.standard_normal(shape).astype(np.float32) * 3 + 1))
    module.weight.data[:] = rng.uniform(0.5, 2, module.weight.shape)
    module.bias.data[:] = rng.standard_normal(module.bias.shape)
    return module


def models(rng):
    bn = trained_batchnorm(nn.BatchNorm1d(8), (16, 8), rng)
    yield "mlp", nn.Sequential(nn.Linear(4, 8), bn, nn.ReLU(), nn.Dropout(0.3),
                               nn.Linear(8, 3), nn.Softmax(dim=1)), (5, 4)
    yield "activations", nn.Sequential(
        nn.Linear(4, 6), nn.LeakyReLU(0.2), nn.Linear(6, 6), nn.Sigmoid(), nn.Linear(6, 6),
        nn.Tanh(), nn.Identity(), nn.Linear(6, 2), nn.LogSoftmax(dim=-1)), (7, 4)
    yield "nested, no bias", nn.Sequential(nn.Sequential(nn.Linear(4, 5, bias=False),
                                                         nn.ReLU()), nn.Linear(5, 1)), (3, 4)
    yield "flatten", nn.Sequential(nn.Flatten(), nn.Linear(12, 2)), (2, 3, 4)
    yield "tutorial flatten", nn.Sequential(nn.Linear(3, 1), nn.Flatten(0, 1)), (6, 3)
    yield "non-inverted dropout", nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.25,
                                                                            inverted=False)), (3, 4)
    yield "implicit softmax dim", nn.Sequential(nn.Linear(4, 4), nn.Softmax()), (3, 4)
    yield "batch norm of (N, C, L)", nn.Sequential(
        trained_batchnorm(nn.BatchNorm1d(3), (4, 3, 5), rng), nn.Flatten(),
        nn.Linear(15, 2)), (4, 3, 5)
    yield "batch norm 2d", nn.Sequential(
        trained_batchnorm(nn.BatchNorm2d(2), (4, 2, 3, 3), rng), nn.Flatten(),
        nn.Linear(18, 2)), (4, 2, 3, 3)
    yield "gelu", nn.Sequential(nn.Linear(4, 6), nn.GELU(), nn.Linear(6, 6),
                                nn.GELU(approximate="tanh")), (5, 4)
    yield "elu and silu", nn.Sequential(nn.Linear(4, 6), nn.ELU(alpha=0.7), nn.Linear(6, 6),
                                        nn.SiLU()), (5, 4)
    layer_norm = nn.LayerNorm(6)
    layer_norm.weight.data[:] = rng.uniform(0.5, 2, 6)
    layer_norm.bias.data[:] = rng.standard_normal(6)
    yield "layer norm", nn.Sequential(nn.Linear(4, 6), layer_norm, nn.ReLU(),
                                      nn.LayerNorm(6, elementwise_affine=False)), (5, 4)
    yield "layer norm over two dims", nn.Sequential(nn.LayerNorm([3, 4]), nn.Flatten()), (2, 3, 4)


CASES = list(models(np.random.default_rng(0)))


@pytest.mark.parametrize("name, model, shape", CASES, ids=[c[0] for c in CASES])
@pytest.mark.filterwarnings("ignore:Implicit dimension choice")  # Softmax() without dim
def test_onnxruntime_gives_the_models_outputs(tmp_path, rng, name, model, shape):
    model.train()
    x = rng.standard_normal(shape).astype(np.float32)
    path = tmp_path / "model.onnx"
    tg_onnx.export(model, tg.Tensor(x), path)
    assert all(m.training for m in model.modules())  # modes restored
    model.eval()
    expected = model(tg.Tensor(x)).numpy()
    np.testing.assert_allclose(run_onnx(path, x), expected, rtol=1e-5, atol=1e-6)


def test_the_batch_dimension_is_free_unless_fixed(tmp_path, rng):
    model = nn.Sequential(nn.Linear(3, 2), nn.Flatten(0, 1)).eval()
    tg_onnx.export(model, tg.zeros(4, 3), tmp_path / "free.onnx")
    x = rng.standard_normal((9, 3)).astype(np.float32)
    np.testing.assert_allclose(run_onnx(tmp_path / "free.onnx", x), model(tg.Tensor(x)).numpy(),
                               rtol=1e-6)
    tg_onnx.export(model, tg.zeros(4, 3), tmp_path / "fixed.onnx", dynamic_batch=False)
    shape = onnx.load(tmp_path / "fixed.onnx").graph.input[0].type.tensor_type.shape
    assert [d.dim_value for d in shape.dim] == [4, 3]


def test_names_and_float64(tmp_path, rng):
    model = nn.Sequential(nn.Linear(3, 2), nn.Tanh())
    if hasattr(model, "double"):
        model.double()
    else:
        for p in model.parameters():
            p.data = p.data.astype(np.float64)
    x = rng.standard_normal((2, 3))
    path = tmp_path / "m.onnx"
    tg_onnx.export(model, x, path, input_names=["features"], output_names=["scores"])
    graph = onnx.load(path).graph
    assert [i.name for i in graph.input] == ["features"]
    assert [o.name for o in graph.output] == ["scores"]
    np.testing.assert_allclose(run_onnx(path, x), model(tg.Tensor(x)).numpy(), rtol=1e-12)


def test_the_file_matches_torch_on_the_same_weights(torch, tmp_path, rng):
    ours = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    x = rng.standard_normal((5, 4)).astype(np.float32)
    tg_onnx.export(ours, x, tmp_path / "m.onnx")
    np.testing.assert_allclose(run_onnx(tmp_path / "m.onnx", x),
                               theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


class Doubler(nn.Module):
    def forward(self, x):
        return x * 2


class MyLinear(nn.Linear):
    def forward(self, x):
        return super().forward(x) + 1


@pytest.mark.parametrize("model, match", [
    (nn.Sequential(nn.Linear(2, 2), Doubler()),
     r"cannot export module Sequential\.1 \(Doubler\)"),
    (nn.Sequential(nn.Sequential(nn.ReLU(), MyLinear(2, 2))),
     r"module Sequential\.0\.1 \(MyLinear\)"),
    (nn.Sequential(nn.Embedding(4, 2)), r"module Sequential\.0 \(Embedding\).*supports"),
    (nn.Sequential(nn.BatchNorm1d(2, track_running_stats=False)), "track_running_stats=False"),
])
def test_an_unsupported_module_is_named(tmp_path, model, match):
    path = tmp_path / "m.onnx"
    with pytest.raises(ValueError, match=match):
        tg_onnx.export(model, tg.zeros(3, 2), path)
    assert not path.exists()


def test_import_needs_nothing_optional():
    import subprocess
    import sys
    code = ("import sys; sys.modules['onnx'] = None; import tinygrad_dropbn.onnx as m; "
            "import tinygrad_dropbn as tg\n"
            "try:\n    m.export(tg.nn.Linear(2, 2), tg.zeros(1, 2), 'x.onnx')\n"
            "except ImportError as e:\n    print(e)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert "pip install 'tinygrad-dropbn[onnx]'" in out
