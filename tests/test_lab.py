"""The lab: every experiment writes its plot and report, and its verdict follows the data.

Each experiment runs once at small size (a module fixture shared by the tests). Then each claim
is re-run with a deliberately broken implementation -- dropout without inverted scaling, a
backward that forgets 1/(1-p), batch norm that never updates its running statistics, a "batch
norm" network without batch norm, ... -- and must come out FAIL: a check that passed whatever
the data said would be caught here.
"""
import argparse
from html import escape

import numpy as np
import pytest

import tinygrad_dropbn as tg
import tinygrad_dropbn.nn as nn
import tinygrad_dropbn.nn.functional as F
from tinygrad_dropbn import lab
from tinygrad_dropbn.lab import cli as lab_cli
from tinygrad_dropbn.lab.batchnorm import run_bn_running_stats, run_bn_saturation, run_bn_speed
from tinygrad_dropbn.lab.dropout import (FORMS, run_dropout_backward, run_dropout_mask,
                                         run_dropout_overfitting, run_inverted_dropout)
from tinygrad_dropbn.lab.placement import run_placement
from tinygrad_dropbn.lab.report import Check
from tinygrad_dropbn.models import mlp
from tinygrad_dropbn.random import generator

pytest.importorskip("matplotlib")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def lab_run(tmp_path_factory):
    """Every experiment at small size, plus the index pages."""
    out = tmp_path_factory.mktemp("lab")
    results, markdown, page = lab.run_all(out, size="small", seed=0)
    return {r.name: r for r in results}, markdown, page


@pytest.mark.parametrize("name", list(lab.EXPERIMENTS))
def test_experiment_writes_plot_and_report_with_its_checks(lab_run, name):
    result = lab_run[0][name]
    assert result.plot.read_bytes()[:8] == PNG_SIGNATURE
    assert result.plot.stat().st_size > 10_000  # a drawn figure, not an empty canvas
    report = result.report.read_text(encoding="utf-8")
    assert f"**Verdict: {result.verdict}**" in report
    assert f"]({result.plot.name})" in report
    assert result.checks
    for check in result.checks:
        assert check.row() in report


@pytest.mark.parametrize("name", list(lab.EXPERIMENTS))
def test_every_claim_passes_at_small_size(lab_run, name):
    result = lab_run[0][name]
    assert result.verdict == "PASS", [check.line() for check in result.checks]


def test_index_lists_every_experiment_with_its_verdict(lab_run):
    results, markdown, page = lab_run
    text, html = markdown.read_text(encoding="utf-8"), page.read_text(encoding="utf-8")
    for result in results.values():
        assert f"**{result.verdict}**" in text and result.report.name in text
        assert f"{result.number}. {escape(result.title)}" in html
    assert html.count("src='data:image/png;base64,") == len(lab.EXPERIMENTS)
    assert "<img" in html and ".png'" not in html  # every image inline, none linked


def test_check_compares_the_measured_number_with_the_threshold():
    assert Check("x", 0.5, "<=", 0.5).passed and not Check("x", 0.51, "<=", 0.5).passed
    assert Check("x", 2.0, ">", 1.0).passed and not Check("x", float("nan"), ">=", 0).passed
    assert "**FAIL**" in Check("a |b|", 3.0, "<", 1.0).row()
    assert "a \\|b\\|" in Check("a |b|", 3.0, "<", 1.0).row()  # the cell stays one cell
    with pytest.raises(ValueError, match="op must be one of"):
        Check("x", 1.0, "==", 1.0)


def _failed(result):
    """The verdict is FAIL, the report says so, and at least one named check failed."""
    assert result.verdict == "FAIL"
    assert "**Verdict: FAIL**" in result.report.read_text(encoding="utf-8")
    return {check.what for check in result.checks if not check.passed}


def test_dropout_without_inverted_scaling_fails_experiment_1(tmp_path):
    def unscaled(x, p=0.5, training=True, **form):
        # Training drops units but never rescales, and evaluation is the identity.
        return F.dropout(x, p, training, inverted=False) if training else x

    failed = _failed(run_inverted_dropout(tmp_path, size="small", dropout=unscaled))
    assert any(what.startswith("inverted:") for what in failed)


def test_per_feature_mask_drawn_per_element_fails_experiment_2(tmp_path):
    def per_element_only(x, p=0.5, training=True, inverted=True, per_feature=False):
        return F.dropout(x, p, training, inverted=inverted)

    failed = _failed(run_dropout_mask(tmp_path, size="small", dropout=per_element_only))
    assert any("shared mask / per-element mask" in what for what in failed)


class _ForgetfulDropout(tg.Function):
    """Inverted dropout's forward with plain dropout's backward (the 1/(1-p) forgotten)."""

    def forward(self, x, p):
        self.mask = generator().random(x.shape) >= p
        return x * self.mask / (1 - p)

    def backward(self, grad):
        return grad * self.mask


def test_backward_without_the_scale_fails_experiment_3(tmp_path):
    def forgetful(x, p=0.5, training=True, **form):
        return _ForgetfulDropout.apply(x, p=p)

    failed = _failed(run_dropout_backward(tmp_path, size="small", dropout=forgetful))
    assert any("finite differences" in what for what in failed)


def test_network_whose_dropout_does_nothing_fails_experiment_4(tmp_path):
    def never_drops(p):
        return mlp(2, [128, 128], 2, batchnorm=False, dropout=0.0)

    failed = _failed(run_dropout_overfitting(tmp_path, size="small", make_model=never_drops))
    assert failed == {"gap without dropout - gap with dropout"}


def test_batch_norm_that_never_updates_running_stats_fails_experiment_5(tmp_path):
    def frozen(num_features, momentum):
        return nn.BatchNorm1d(num_features, momentum=0.0)

    failed = _failed(run_bn_running_stats(tmp_path, size="small", batchnorm=frozen))
    assert any("running_mean" in what for what in failed)


def _without_batch_norm(width, depth):
    def make_model(activation, batchnorm):
        return mlp(2, [width] * depth, 3, activation=activation, batchnorm=False)
    return make_model


def test_network_without_batch_norm_fails_experiment_6(tmp_path):
    failed = _failed(run_bn_saturation(tmp_path, size="small",
                                       make_model=_without_batch_norm(32, 10)))
    assert failed == {"sigmoid with batch norm: gradient at layer 1 / at layer 10",
                      "tanh with batch norm: gradient at layer 1 / at layer 10"}


def test_network_without_batch_norm_fails_experiment_7(tmp_path):
    result = run_bn_speed(tmp_path, size="small", make_model=_without_batch_norm(32, 4))
    assert _failed(result) == {check.what for check in result.checks}


class _UnscaledDropout(nn.Module):
    """Dropout that drops in training but never compensates (identity in evaluation)."""

    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, x):
        return F.dropout(x, self.p, self.training, inverted=False) if self.training else x


def test_dropout_that_breaks_expectations_fails_experiment_8(tmp_path):
    failed = _failed(run_placement(tmp_path, size="small", dropout_layer=_UnscaledDropout))
    assert ("dropout before the linear layer: largest train/eval expectation gap, in s.e."
            in failed)


def test_network_without_batch_norm_fails_experiment_8(tmp_path):
    def no_batch_norm(width, position):
        return mlp(2, [width] * 2, 3, activation="sigmoid", batchnorm=False)

    failed = _failed(run_placement(tmp_path, size="small", bn_model=no_batch_norm))
    assert "saturated fraction: batch norm after - before the activation" in failed
    assert not any(what.startswith("dropout") for what in failed)


def test_same_seed_same_figure(tmp_path):
    first = run_dropout_mask(tmp_path / "a", size="small", seed=3)
    second = run_dropout_mask(tmp_path / "b", size="small", seed=3)
    assert first.plot.read_bytes() == second.plot.read_bytes()
    assert [c.value for c in first.checks] == [c.value for c in second.checks]


def test_forms_are_dropout_keyword_arguments():
    x = tg.Tensor(np.ones((4, 3), dtype=np.float32))
    for form, kwargs in FORMS.items():
        assert F.dropout(x, p=0.5, training=True, **kwargs).shape == (4, 3), form


def test_command_runs_one_experiment_and_reports(tmp_path, capsys):
    status = lab_cli.main(["dropout-backward", "--small", "--out", str(tmp_path), "--seed", "1"])
    out = capsys.readouterr().out
    assert status == 0
    assert "3. dropout-backward: PASS" in out and "1 of 1 claims pass" in out
    assert "pass  inverted: max |backward() - mask / (1 - p)|: 0 (required <= 1.000e-12)" in out
    assert (tmp_path / "03-dropout-backward.png").exists()
    assert not (tmp_path / "index.html").exists()  # the index is for `lab all`


@pytest.mark.parametrize("argv, fragment", [
    (["no-such-experiment"], "invalid choice: 'no-such-experiment'"),
    (["all", "--seed", "-1"], "seed must be a non-negative integer, got '-1'"),
])
def test_command_rejects_bad_input_in_one_line(argv, fragment, capsys):
    assert lab_cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("tinygrad-dropbn lab: error: ") and err.count("\n") == 1
    assert fragment in err


def test_unwritable_output_folder_is_one_line_before_any_experiment(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert lab_cli.main(["all", "--small", "--out", str(blocker / "lab")]) == 1
    out, err = capsys.readouterr()
    assert out == ""  # no experiment ran
    assert err.startswith(f"tinygrad-dropbn lab: error: cannot create output folder "
                          f"{blocker / 'lab'}: ") and err.count("\n") == 1


def test_register_mounts_the_subcommand():
    parser = argparse.ArgumentParser(prog="tinygrad-dropbn")
    lab_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["lab", "all", "--small", "--out", "somewhere"])
    assert args.handler is lab_cli.run
    assert (args.experiment, args.small, str(args.out), args.seed) == ("all", True, "somewhere",
                                                                        0)
