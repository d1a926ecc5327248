"""The lab: every verdict follows the data, and every check can fail.

Each experiment runs once over five seeds (a module fixture). Then each claim is rerun with the
mechanism it tests deliberately broken -- dropout without its rescale or rescaled by 1/p, a
mask shared along the wrong axis, evaluation with the test batch's statistics, a backward that
ignores the paths through the mean and variance, batch norm after the activation instead of
before, momentum ignored or flipped, a biased running variance, ... -- and the checks it breaks
must FAIL, and the verdict with them.
"""
import numpy as np
import pytest

import tinygrad_dropbn as tg
import tinygrad_dropbn.nn.functional as F
from tinygrad_dropbn import lab, models
from tinygrad_dropbn.lab import backends, core
from tinygrad_dropbn.ops import batchnorm as bn_op
from tinygrad_dropbn.ops import dropout as drop_op

pytest.importorskip("matplotlib")

EXPECTED = {name: "PASS" for name in lab.EXPERIMENTS}
EXPECTED.update({name: "PARTLY" for name in ("dropout-overfitting", "bn-exploding", "placement",
                                             "bn-regularises")})
"""The verdicts the docs report (docs/lab/README.md), PARTLY where the data support the
article only in part."""


def measure(name):
    checks, _ = core.run_experiment(name, 1, lab.EXPERIMENTS[name], backends.LIBRARY, 0, 5)
    return checks


@pytest.fixture(scope="module")
def honest(tmp_path_factory):
    out = tmp_path_factory.mktemp("lab")
    return lab.run(list(lab.EXPERIMENTS), out), out


@pytest.mark.parametrize("name", list(lab.EXPERIMENTS))
def test_each_claim_gets_the_verdict_the_docs_report(honest, name):
    result = next(r for r in honest[0].results if r.name == name)
    assert result.verdict == EXPECTED[name], [c.line() for c in result.checks]
    assert all(len(c.values) == 5 for c in result.checks)


@pytest.mark.parametrize("name", list(lab.EXPERIMENTS))
def test_each_page_states_claim_runs_interval_and_plot(honest, name):
    result = next(r for r in honest[0].results if r.name == name)
    page, image = result.files
    text = page.read_text(encoding="utf-8")
    module = lab.EXPERIMENTS[name]
    for part in (module.CLAIM, module.SETUP, module.CAPTION, f"**Verdict: {result.verdict}** "
                 "over 5 runs", "95% interval", f"]({image.name})"):
        assert part in text
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and image.stat().st_size > 10_000


def test_the_index_lists_every_claim(honest):
    summary, out = honest
    index = (out / "index.md").read_text(encoding="utf-8")
    assert all(module.CLAIM in index for module in lab.EXPERIMENTS.values())
    assert "data:image/png;base64," in (out / "index.html").read_text(encoding="utf-8")
    assert summary.ok


def test_each_experiment_module_is_short_and_states_its_claim_once():
    for module in lab.EXPERIMENTS.values():
        source = open(module.__file__, encoding="utf-8").read()
        assert len(source.splitlines()) <= 120, module.__name__
        assert source.count(module.CLAIM[:40]) <= 1, module.__name__


def test_a_check_needs_its_whole_interval_past_the_threshold():
    spec = core.Spec("k", "what", ">", 0.0)
    assert core.Check(spec, np.array([0.1, 0.11, 0.09, 0.1, 0.1])).passed
    assert not core.Check(spec, np.array([0.3, -0.2, 0.25, -0.1, 0.2])).passed  # mean > 0
    assert not core.Check(spec, np.array([0.1, np.nan, 0.1, 0.1, 0.1])).passed
    optional = core.Check(core.Spec("k", "w", "<", 0.0, required=False), np.ones(5))
    assert core.verdict_of([core.Check(spec, np.ones(5)), optional]) == "PARTLY"


# --- sabotage: each breaks one mechanism and names the checks that must then FAIL -----------

def wrong_axis_mask(monkeypatch):
    """The article's per-neuron mask drawn per example instead (shared along the rows)."""
    monkeypatch.setattr(drop_op, "mask_shape", lambda shape, per_feature: (
        (shape[0], 1) if per_feature else tuple(shape)))


def always_per_feature(monkeypatch):
    """Every mask shared by the whole batch, even when one per element was asked for."""
    monkeypatch.setattr(drop_op, "mask_shape", lambda shape, per_feature: (1, *shape[1:]))


def never_drop(monkeypatch):
    monkeypatch.setattr(F, "dropout_mask", lambda shape, p, per_feature=False: np.ones(
        drop_op.mask_shape(shape, per_feature), dtype=bool))


def fixed_mask(monkeypatch):
    """The same mask on every call (the generator reseeded before each draw)."""
    def draw(shape, p, per_feature=False):
        tg.manual_seed(0)
        return drop_op.dropout_mask(shape, p, per_feature)
    monkeypatch.setattr(F, "dropout_mask", draw)


def scale_with(factor):
    """Kept units multiplied by ``factor(op)`` in training, forward and backward alike."""
    def sabotage(monkeypatch):
        monkeypatch.setattr(drop_op.Drop, "_apply_mask",
                            lambda self, values: values * self.mask * factor(self))
    return sabotage


no_rescale = scale_with(lambda op: 1.0)
rescale_by_one_over_p = scale_with(lambda op: 1.0 / op.p if op.inverted else 1.0)
plain_rescaled = scale_with(lambda op: 1.0 / op.keep)


def plain_eval_unscaled(monkeypatch):
    real = drop_op.Drop.forward

    def forward(self, x, mask, p, training, inverted, per_feature):
        out = real(self, x, mask, p, training, inverted, per_feature)
        return x if not training else out
    monkeypatch.setattr(drop_op.Drop, "forward", forward)


def backward_with(rule):
    def sabotage(monkeypatch):
        monkeypatch.setattr(drop_op.Drop, "backward", lambda self, grad: rule(self, grad))
    return sabotage


backward_no_rescale = backward_with(lambda op, grad: grad * op.mask if op.training else grad)
backward_ignores_mask = backward_with(lambda op, grad: grad / op.keep if op.inverted else grad)
backward_plain_rescaled = backward_with(lambda op, grad: grad * op.mask / op.keep)


def eval_applies_mask(monkeypatch):
    real = F.dropout
    monkeypatch.setattr(F, "dropout", lambda x, p=0.5, training=True, **kw: real(x, p, True, **kw))


def no_dropout(monkeypatch):
    monkeypatch.setattr(F, "dropout", lambda x, p=0.5, training=True, **kw: x)


def batch_norm_with(change):
    """F.batch_norm with its arguments changed by ``change(args) -> args`` first."""
    real = F.batch_norm

    def sabotage(monkeypatch):
        def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False,
                       momentum=0.1, eps=1e-5, impl="fused"):
            args = dict(running_mean=running_mean, running_var=running_var, weight=weight,
                        bias=bias, training=training, momentum=momentum, eps=eps)
            return real(x, **change(args))
        monkeypatch.setattr(F, "batch_norm", batch_norm)
    return sabotage


eval_uses_batch_statistics = batch_norm_with(lambda a: {
    **a, "training": True, **({} if a["training"] else {"running_mean": None,
                                                         "running_var": None})})
momentum_ignored = batch_norm_with(lambda a: {**a, "momentum": 0.0})
momentum_flipped = batch_norm_with(lambda a: {**a, "momentum": 1.0 - a["momentum"]})


def _still_parameters(x, weight, bias):
    """``x``, made to depend on ``weight`` and ``bias`` by a zero term, so they stay
    parameters of the loss (an optimiser step still runs) while having no effect."""
    return x if weight is None else x + (weight.sum() + bias.sum()) * 0.0


def affine_ignored(monkeypatch):
    real = F.batch_norm

    def batch_norm(x, running_mean, running_var, weight=None, bias=None, **kwargs):
        return _still_parameters(real(x, running_mean, running_var, **kwargs), weight, bias)
    monkeypatch.setattr(F, "batch_norm", batch_norm)


def batch_norm_noop(monkeypatch):
    monkeypatch.setattr(F, "batch_norm", lambda x, running_mean, running_var, weight=None,
                        bias=None, **kwargs: _still_parameters(x, weight, bias))


def biased_running_var(monkeypatch):
    real = F.batch_norm

    def batch_norm(x, running_mean, running_var, *args, training=False, momentum=0.1, **kw):
        before = np.array(running_var.data, copy=True)
        out = real(x, running_mean, running_var, *args, training=training, momentum=momentum,
                   **kw)
        if training:
            running_var.data[...] = (1 - momentum) * before + momentum * x.data.var(axis=0)
        return out
    monkeypatch.setattr(F, "batch_norm", batch_norm)


def unbiased_forward(monkeypatch):
    real = bn_op.batch_statistics

    def statistics(x, **options):
        mean, var, centered = real(x, **options)
        return mean, var * len(x) / (len(x) - 1), centered
    monkeypatch.setattr(bn_op, "batch_statistics", statistics)


def bn_backward(change):
    real = bn_op.BatchNorm._array_backward

    def sabotage(monkeypatch):
        monkeypatch.setattr(bn_op.BatchNorm, "_array_backward",
                            lambda self, *args: change(self, real, args))
    return sabotage


def _without_statistics_paths(op, real, args):
    training, op.training = op.training, False  # dx = g * gamma / sigma, as in evaluation
    try:
        return real(op, *args)
    finally:
        op.training = training


backward_ignores_statistics = bn_backward(_without_statistics_paths)
dgamma_is_sum_of_g = bn_backward(lambda op, real, args: (lambda g: (g[0], g[2], g[2]))(
    real(op, *args)))
dbeta_is_dgamma = bn_backward(lambda op, real, args: (lambda g: (g[0], g[1], g[1]))(
    real(op, *args)))


def model_with(**forced):
    real = models.mlp

    def sabotage(monkeypatch):
        monkeypatch.setattr(models, "mlp", lambda *args, **kw: real(*args, **{**kw, **forced}))
    return sabotage


SABOTAGE = [
    ("drop-neuron", wrong_axis_mask, ["zeroed_vs_deleted", "article_mixed", "after_activation"]),
    ("drop-neuron", always_per_feature, ["element_mixed"]),
    ("drop-neuron", never_drop, ["before_activation"]),
    ("inverted-dropout", no_rescale, ["inverted"]),
    ("inverted-dropout", rescale_by_one_over_p, ["inverted"]),
    ("inverted-dropout", plain_eval_unscaled, ["plain_eval"]),
    ("inverted-dropout", plain_rescaled, ["plain_shrink", "plain_off"]),
    ("dropout-backward", backward_no_rescale, ["inverted_kept"]),
    ("dropout-backward", backward_ignores_mask, ["dropped"]),
    ("dropout-backward", backward_plain_rescaled, ["plain_kept"]),
    ("dropout-backward", never_drop, ["rate"]),
    ("dropout-eval", eval_applies_mask, ["eval_out", "eval_grad", "eval_repeat"]),
    ("dropout-eval", fixed_mask, ["train_repeat"]),
    ("dropout-overfitting", no_dropout, ["gap_reduction"]),
    ("bn-formula", unbiased_forward, ["forward"]),
    ("bn-formula", dgamma_is_sum_of_g, ["dgamma"]),
    ("bn-formula", dbeta_is_dgamma, ["dbeta"]),
    ("bn-formula", backward_ignores_statistics, ["dx"]),
    ("bn-affine", affine_ignored, ["with_affine"]),
    ("bn-affine", batch_norm_noop, ["without_affine"]),
    ("bn-running-stats", momentum_ignored, ["mean_0.1", "mean_0.01", "spread_0.1"]),
    ("bn-running-stats", momentum_flipped, ["spread_0.1", "spread_0.01"]),
    ("bn-running-stats", biased_running_var, ["var_0.1", "var_0.01"]),
    ("bn-eval", eval_uses_batch_statistics, ["batch_dependence", "eval_accuracy", "harm"]),
    ("bn-speed", model_with(batchnorm=False), ["gain", "with_bn"]),
    ("bn-vanishing", model_with(batchnorm=True), ["sigmoid_plain", "tanh_plain"]),
    ("bn-vanishing", batch_norm_noop, ["sigmoid_bn", "tanh_bn"]),
    ("bn-exploding", model_with(batchnorm=True), ["plain"]),
    ("bn-exploding", batch_norm_noop, ["bn"]),
    ("relu-softmax", model_with(batchnorm=True), ["plain"]),
    ("relu-softmax", batch_norm_noop, ["bn"]),
    ("placement", model_with(bn_position="after"), ["sigmoid_before", "tanh_before",
                                                    "sigmoid_more", "tanh_more"]),
    ("bn-regularises", batch_norm_noop, ["noise"]),
]


@pytest.mark.parametrize("name, sabotage, broken", SABOTAGE,
                         ids=[f"{n}:{'+'.join(keys)}" for n, _, keys in SABOTAGE])
def test_breaking_the_mechanism_flips_the_verdict_to_fail(monkeypatch, name, sabotage, broken):
    sabotage(monkeypatch)
    checks = measure(name)
    failed = {c.spec.key for c in checks if not c.passed}
    assert set(broken) <= failed, [c.line() for c in checks]
    assert core.verdict_of(checks) == "FAIL"


def test_every_required_check_has_a_sabotage_that_fails_it():
    covered = {(name, key) for name, _, keys in SABOTAGE for key in keys}
    required = {(name, spec.key) for name, module in lab.EXPERIMENTS.items()
                for spec in module.CHECKS if spec.required}
    assert required <= covered, required - covered


def test_against_torch_reaches_the_same_conclusions(tmp_path):
    pytest.importorskip("torch")
    summary = lab.run(list(lab.EXPERIMENTS), tmp_path, against="torch")
    for result in summary.results:
        assert core.verdict_of(result.torch) == result.verdict, result.name
        assert "## Against PyTorch" in result.files[0].read_text(encoding="utf-8")
