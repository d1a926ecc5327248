"""The ``tinygrad-dropbn`` command end to end: run folders, determinism, interruption, bad input,
evaluate, graph and datasets. Runs are tiny (two or three epochs of a narrow MLP)."""
import csv
import datetime
import importlib.util
import json
import os
import signal
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import tinygrad_dropbn as tg
from tinygrad_dropbn import data, lab, training
from tinygrad_dropbn.cli import models as cli_config
from tinygrad_dropbn.cli import report as cli_report
from tinygrad_dropbn.cli import train as cli_train
from tinygrad_dropbn.cli import main
from tinygrad_dropbn.training import evaluate
from tinygrad_dropbn.visualization import render

SMALL = ["--hidden", "8,8", "--epochs", "2", "--batch-size", "64"]
# Plots and progress bars are optional (the train extra), and so is a renderer for SVG: the
# command works without them, so the tests expect whatever this machine can produce.
HAVE_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None
HAVE_TQDM = importlib.util.find_spec("tqdm") is not None
HAVE_RENDERER = bool(render.find_renderers())
GRAPH_FILES = ([f"graph-{mode}.{fmt}" for fmt in ("svg", "png") for mode in ("train", "eval")]
               if HAVE_RENDERER else
               ["graph-train.gv", "graph-train.txt", "graph-eval.gv", "graph-eval.txt"])
RUN_FILES = (["model.npz", "config.json", "metrics.csv", "summary.json"]
             + (["curves.png", "decision-boundary.png"] if HAVE_MATPLOTLIB else [])
             + GRAPH_FILES)


def train(out, *options):
    """Run ``train`` in-process into ``out``; return (exit status, the new run folders)."""
    before = set(out.iterdir()) if out.exists() else set()
    status = main(["train", *SMALL, "--out", str(out), *options])
    after = set(out.iterdir()) if out.exists() else set()
    return status, sorted(after - before)


def read_rows(run_dir):
    with open(run_dir / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


def assert_one_line_error(capsys, *fragments):
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    for fragment in fragments:
        assert fragment in err
    return err


def test_train_writes_every_promised_file_and_lists_it(tmp_path, capsys):
    status, runs = train(tmp_path / "runs")
    out = capsys.readouterr().out
    assert status == 0 and len(runs) == 1
    run_dir = runs[0]
    assert run_dir.name.startswith("spiral-")
    assert sorted(path.name for path in run_dir.iterdir()) == sorted(RUN_FILES)
    for name in RUN_FILES:
        assert (run_dir / name).stat().st_size > 0, name
        assert str(run_dir / name) in out, name
    for png in run_dir.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for svg in run_dir.glob("*.svg"):
        assert "<svg" in svg.read_text()

    config = json.loads((run_dir / "config.json").read_text())
    assert config["hidden"] == [8, 8] and config["epochs"] == 2 and config["dataset"] == "spiral"
    assert (config["in_features"], config["out_features"]) == (2, 3)
    rows = read_rows(run_dir)
    assert [row["epoch"] for row in rows] == ["1", "2"]
    assert list(rows[0]) == ["epoch", "running_loss", "running_accuracy", "train_loss",
                             "train_accuracy", "test_loss", "test_accuracy"]
    summary = json.loads((run_dir / "summary.json").read_text())
    model = cli_config.build_model(cli_config.TrainConfig(hidden=(8, 8)),
                                   cli_config.load_problem(cli_config.TrainConfig()))
    assert summary["num_parameters"] == model.num_parameters()
    assert summary["epochs_completed"] == 2 and summary["status"] == "finished"
    assert f"({model.num_parameters():,} parameters)" in out
    assert f"{float(rows[-1]['test_accuracy']):8.1%}" in out


def test_checkpoint_is_the_final_model(tmp_path):
    _, (run_dir,) = train(tmp_path)
    config = cli_config.TrainConfig(hidden=(8, 8), epochs=2, batch_size=64)
    problem = cli_config.load_problem(config)
    model = cli_config.build_model(config, problem)
    model.load_state_dict(tg.load(run_dir / "model.npz"))
    loss, accuracy = evaluate(model, problem.test, cli_config.loss_function(problem),
                              problem.is_classification)
    last = read_rows(run_dir)[-1]
    assert (repr(loss), repr(accuracy)) == (last["test_loss"], last["test_accuracy"])


@pytest.mark.skipif(not HAVE_TQDM, reason="progress bars need tqdm (the train extra)")
def test_progress_bar_shows_running_loss_and_accuracy(tmp_path, capsys):
    train(tmp_path)
    err = capsys.readouterr().err
    assert "epoch 1/2" in err and "epoch 2/2" in err
    assert "loss " in err and "acc " in err and "| test loss" in err


def test_quiet_prints_only_the_summary(tmp_path, capsys):
    status, _ = train(tmp_path, "--quiet")
    captured = capsys.readouterr()
    assert status == 0 and captured.err == ""
    assert captured.out.startswith("Finished 2 epochs in ")
    assert "Run folder:" in captured.out and "model.npz" not in captured.out


def test_same_seed_same_numbers_other_seed_other_numbers(tmp_path):
    _, (first,) = train(tmp_path, "--dropout", "0.2", "--seed", "3")
    _, (second,) = train(tmp_path, "--dropout", "0.2", "--seed", "3")
    _, (other,) = train(tmp_path, "--dropout", "0.2", "--seed", "4")
    assert first != second
    assert (first / "metrics.csv").read_bytes() == (second / "metrics.csv").read_bytes()
    a, b = tg.load(first / "model.npz"), tg.load(second / "model.npz")
    assert list(a) == list(b) and all(np.array_equal(a[k], b[k]) for k in a)
    assert (first / "metrics.csv").read_bytes() != (other / "metrics.csv").read_bytes()


def test_runs_never_overwrite_each_other(tmp_path, monkeypatch):
    class FrozenClock:
        @staticmethod
        def now():
            return datetime.datetime(2024, 5, 6, 7, 8, 9)

    monkeypatch.setattr(cli_train, "datetime", types.SimpleNamespace(datetime=FrozenClock))
    made = [cli_train.new_run_dir(tmp_path, "moons") for _ in range(3)]
    assert [p.name for p in made] == ["moons-20240506-070809", "moons-20240506-070809-2",
                                      "moons-20240506-070809-3"]
    (made[0] / "keep.txt").write_text("earlier run")
    status, runs = train(tmp_path, "--dataset", "moons", "--quiet")
    assert status == 0 and [p.name for p in runs] == ["moons-20240506-070809-4"]
    assert (made[0] / "keep.txt").read_text() == "earlier run"


def interrupt_during_epoch(monkeypatch, epoch, after_batches):
    """Make training raise KeyboardInterrupt after some batches of ``epoch`` (like Ctrl-C)."""
    real = training.train_one_epoch
    seen = []

    def train_one_epoch(model, loader, loss_fn, optimizer, classification, on_batch):
        seen.append(epoch)
        batches = []

        def counting(loss, accuracy):
            batches.append(loss)
            if len(seen) == epoch and len(batches) == after_batches:
                raise KeyboardInterrupt
            on_batch(loss, accuracy)

        return real(model, loader, loss_fn, optimizer, classification, counting)

    monkeypatch.setattr(training, "train_one_epoch", train_one_epoch)


def test_interrupt_keeps_the_last_completed_epoch(tmp_path, monkeypatch, capsys):
    interrupt_during_epoch(monkeypatch, epoch=3, after_batches=4)
    status, (run_dir,) = train(tmp_path / "cut", "--epochs", "5")
    err = capsys.readouterr().err
    assert status == 130
    assert f"kept the checkpoint of epoch 2 and the metrics of the 2 completed epoch(s) in " \
           f"{run_dir}" in err
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["epochs_completed"] == 2
    assert not (run_dir / "curves.png").exists()

    # The kept files are exactly those of a run that stopped after two epochs (same seed):
    # the half-trained third epoch left no trace.
    monkeypatch.undo()
    _, (full,) = train(tmp_path / "full", "--epochs", "2")
    expected = (full / "metrics.csv").read_bytes()
    assert (run_dir / "metrics.csv").read_bytes() == expected
    kept, reference = tg.load(run_dir / "model.npz"), tg.load(full / "model.npz")
    assert all(np.array_equal(kept[k], reference[k]) for k in reference)


def test_interrupt_in_the_first_epoch_keeps_no_checkpoint(tmp_path, monkeypatch, capsys):
    interrupt_during_epoch(monkeypatch, epoch=1, after_batches=1)
    status, (run_dir,) = train(tmp_path)
    assert status == 130
    assert "Interrupted before the first epoch finished" in capsys.readouterr().err
    assert not (run_dir / "model.npz").exists()
    assert len(read_rows(run_dir)) == 0


@pytest.mark.parametrize("options, fragments", [
    (["--dataset", "mnist"], ["unknown dataset 'mnist'; choose one of: "
                              + ", ".join(data.available_datasets())]),
    (["--dropout", "1.5"], ["--dropout", "dropout probability must be a number in [0, 1), "
                                         "got '1.5'"]),
    (["--dropout", "half"], ["got 'half'"]),
    (["--hidden", "64,0"], ["layer sizes '64,0' must be positive integers"]),
    (["--hidden", "64,wide"], ["layer sizes '64,wide'"]),
    (["--lr", "-0.1"], ["learning rate must be a positive number, got '-0.1'"]),
    (["--lr", "nan"], ["learning rate must be a positive number, got 'nan'"]),
    (["--epochs", "0"], ["number of epochs must be a positive integer, got '0'"]),
    (["--batch-size", "-3"], ["batch size must be a positive integer, got '-3'"]),
    (["--seed", "-1"], ["seed must be a non-negative integer, got '-1'"]),
    (["--activation", "gelu"], ["invalid choice: 'gelu'"]),
    (["--optimizer", "lbfgs"], ["invalid choice: 'lbfgs'"]),
])
def test_bad_option_is_one_line_and_exit_2(tmp_path, capsys, options, fragments):
    status, runs = train(tmp_path, *options)
    assert status == 2 and runs == []
    err = assert_one_line_error(capsys, *fragments)
    assert err.startswith("tinygrad-dropbn train: error: argument ")


def test_batch_norm_needs_batches_of_two(tmp_path, capsys):
    status, runs = train(tmp_path, "--batch-size", "1")
    assert status == 2 and runs == []
    assert_one_line_error(capsys, "batch norm cannot train on batches of 1 example",
                          "--no-batchnorm")


def test_diverging_run_stops_with_a_hint_and_keeps_earlier_epochs(tmp_path, capsys):
    status, (run_dir,) = train(tmp_path, "--lr", "1e30", "--quiet")
    assert status == 1
    assert_one_line_error(capsys, "training diverged: the loss became nan in epoch 1",
                          "smaller than 1e+30", f"nothing to keep; the config is in {run_dir}")
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "diverged" and summary["epochs_completed"] == 0
    assert not (run_dir / "model.npz").exists()


def test_evaluate_a_run_folder_and_a_checkpoint(tmp_path, capsys):
    _, (run_dir,) = train(tmp_path, "--quiet")
    last = read_rows(run_dir)[-1]
    capsys.readouterr()
    for target in (run_dir, run_dir / "model.npz"):
        assert main(["evaluate", str(target)]) == 0
        out = capsys.readouterr().out
        assert f"Evaluated {run_dir / 'model.npz'} on spiral" in out
        for split in ("train", "test"):
            assert (f"{split:5}  {float(last[split + '_loss']):8.4f}  "
                    f"{float(last[split + '_accuracy']):8.1%}") in out


def test_evaluate_unreadable_inputs_name_the_file_and_why(tmp_path, capsys):
    _, (run_dir,) = train(tmp_path, "--quiet")
    capsys.readouterr()

    missing = tmp_path / "nowhere"
    assert main(["evaluate", str(missing)]) == 1
    assert_one_line_error(capsys, f"{missing} does not exist")

    lonely = tmp_path / "elsewhere" / "model.npz"
    lonely.parent.mkdir()
    lonely.write_bytes((run_dir / "model.npz").read_bytes())
    assert main(["evaluate", str(lonely)]) == 1
    assert_one_line_error(capsys, f"no config.json beside {lonely}")

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text((run_dir / "config.json").read_text())
    (broken / "model.npz").write_text("not a checkpoint")
    assert main(["evaluate", str(broken)]) == 1
    assert_one_line_error(capsys, f"cannot read checkpoint {broken / 'model.npz'}:",
                          "not an .npz checkpoint")

    config = json.loads((run_dir / "config.json").read_text())
    (broken / "config.json").write_text(json.dumps({**config, "hidden": [8, 16]}))
    (broken / "model.npz").write_bytes((run_dir / "model.npz").read_bytes())
    assert main(["evaluate", str(broken)]) == 1
    assert_one_line_error(capsys, f"checkpoint {broken / 'model.npz'} holds an MLP 2-8-8-3, but",
                          "describes 2-8-16-3")

    (broken / "config.json").write_text("{")
    assert main(["evaluate", str(broken)]) == 1
    assert_one_line_error(capsys, f"cannot read run config {broken / 'config.json'}")

    (run_dir / "model.npz").unlink()
    assert main(["evaluate", str(run_dir)]) == 1
    assert_one_line_error(capsys, f"no checkpoint model.npz in {run_dir}")


@pytest.mark.parametrize("key, value, meaning", [
    ("hidden", 5, "a list of positive layer widths"),
    ("hidden", [8, 0], "a list of positive layer widths"),
    ("seed", None, "a non-negative integer"),
    ("batchnorm", "yes", "true or false"),
    ("dropout", 1.5, "a probability in [0, 1)"),
    ("activation", "gelu", "one of relu"),
    ("batch_size", 2.5, "a positive integer"),
])
def test_malformed_config_is_one_line_naming_the_file_and_key(tmp_path, capsys, key, value,
                                                               meaning):
    _, (run_dir,) = train(tmp_path, "--quiet")
    config_path = run_dir / "config.json"
    config = json.loads(config_path.read_text())
    config_path.write_text(json.dumps({**config, key: value}))
    capsys.readouterr()
    for command in (["evaluate", str(run_dir)], ["graph", str(run_dir), "--text"]):
        assert main(command) == 1
        assert_one_line_error(capsys, f"run config {config_path}: {key} is {json.dumps(value)}",
                              meaning)


@pytest.mark.parametrize("command", ["train", "graph"])
def test_a_model_too_big_for_memory_is_one_line_naming_hidden(tmp_path, monkeypatch, capsys,
                                                              command):
    def out_of_memory(*args, **kwargs):
        raise MemoryError()

    monkeypatch.setattr(cli_config, "mlp", out_of_memory)
    status = main([command, "--hidden", "100000,100000", "--out", str(tmp_path)])
    assert status == 1 and list(tmp_path.iterdir()) == []
    assert_one_line_error(capsys, "not enough memory", "--hidden 100000,100000")


def test_regression_dataset_trains_on_mse_without_accuracy(tmp_path, capsys):
    status, (run_dir,) = train(tmp_path, "--dataset", "regression_curve")
    out = capsys.readouterr().out
    assert status == 0
    assert list(read_rows(run_dir)[0]) == ["epoch", "running_loss", "train_loss", "test_loss"]
    assert "MSE" in out and "accuracy" not in out
    assert (run_dir / "fit.png").exists() == HAVE_MATPLOTLIB
    assert not (run_dir / "decision-boundary.png").exists()
    assert main(["evaluate", str(run_dir)]) == 0
    assert "MSE" in capsys.readouterr().out


def test_trains_without_matplotlib_and_tqdm_and_says_what_it_skipped(tmp_path, monkeypatch,
                                                                     capsys):
    for name in ("matplotlib", "matplotlib.figure", "tqdm"):
        monkeypatch.setitem(sys.modules, name, None)  # makes `import name` raise ImportError
    status, (run_dir,) = train(tmp_path)
    out = capsys.readouterr().out
    assert status == 0
    assert "tqdm is not installed" in out and "matplotlib is not installed" in out
    assert "pip install 'tinygrad-dropbn[train]'" in out
    assert "epoch 1/2  loss " in out and "epoch 2/2  loss " in out
    assert (run_dir / "model.npz").exists() and (run_dir / GRAPH_FILES[-1]).exists()
    assert not (run_dir / "curves.png").exists()
    assert not (run_dir / "decision-boundary.png").exists()


@pytest.mark.skipif(not HAVE_RENDERER, reason="SVG needs Graphviz or graphviz-pure")
def test_graph_from_model_options_draws_both_modes_as_svg(tmp_path, capsys):
    out_dir = tmp_path / "graphs"
    assert main(["graph", "--hidden", "4", "--dropout", "0.5", "--out", str(out_dir)]) == 0
    printed = capsys.readouterr().out
    for mode in ("train", "eval"):
        path = out_dir / f"graph-{mode}.svg"
        assert "<svg" in path.read_text() and str(path) in printed


def test_graph_of_a_run(tmp_path, capsys):
    out_dir = tmp_path / "graphs"

    _, (run_dir,) = train(tmp_path / "runs", "--quiet")
    capsys.readouterr()
    assert main(["graph", str(run_dir), "--mode", "eval", "--format", "dot",
                 "--out", str(out_dir)]) == 0
    assert (out_dir / "graph-eval.dot").read_text().lstrip().startswith("digraph")

    assert main(["graph", str(run_dir), "--hidden", "4"]) == 2
    assert_one_line_error(capsys, "give either a run or model options, not both", "--hidden")


def test_graph_text_draws_each_mode_from_the_same_state(capsys):
    options = ["graph", "--hidden", "4", "--dropout", "0.5", "--text"]
    assert main([*options, "--mode", "eval"]) == 0
    evaluation = capsys.readouterr().out
    assert main(options) == 0
    both = capsys.readouterr().out
    assert both.startswith("training mode, batch of 32:")
    training = both[:both.index("evaluation mode")]
    assert "Dropout" in training and "[train" in training and "[eval" not in training
    # The training-mode pass moved batch norm's running statistics; drawing restored them, so
    # the evaluation-mode graph is the one drawn on its own.
    assert both.endswith(evaluation)


def test_drawing_a_graph_leaves_the_model_unchanged(tmp_path):
    config = cli_config.TrainConfig(hidden=(4,), dropout=0.5)
    problem = cli_config.load_problem(config)
    model = cli_config.build_model(config, problem).eval()
    before = model.state_dict()
    x, y = problem.train.tensors
    cli_report.draw_graphs(model, cli_config.loss_function(problem), x[:16], y[:16], tmp_path,
                           "dot")
    after = model.state_dict()
    assert not model.training
    assert all(np.array_equal(before[k], after[k]) for k in before)
    assert all(p.grad is None for p in model.parameters())


def test_datasets_lists_every_builtin_with_its_task(capsys):
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    for name, description in data.available_datasets().items():
        line = next(line for line in out.splitlines() if line.split()[:1] == [name])
        assert data.dataset_task(name) in line and description in line


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    out = capsys.readouterr().out
    assert "train" in out and "evaluate" in out and "graph" in out and "datasets" in out


def command_env():
    """The environment for running ``python -m tinygrad_dropbn`` on this checkout."""
    package_parent = Path(tg.__file__).resolve().parent.parent
    return {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(package_parent), os.environ.get("PYTHONPATH")]))}


def test_python_dash_m_runs_the_command(tmp_path):
    env = command_env()
    done = subprocess.run(
        [sys.executable, "-m", "tinygrad_dropbn", "train", "--hidden", "8", "--epochs", "2",
         "--out", "runs"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert f"Run folder: {Path('runs') / run_dir.name}" in done.stdout
    assert (run_dir / "model.npz").exists()

    bad = subprocess.run([sys.executable, "-m", "tinygrad_dropbn", "train", "--dropout", "2"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "'2'" in bad.stderr


def test_without_a_renderer_graphs_are_dot_and_text(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(render, "find_renderers", lambda: [])
    status, (run_dir,) = train(tmp_path)
    out = capsys.readouterr().out
    assert status == 0 and not list(run_dir.glob("*.svg"))
    assert "no Graphviz renderer was found" in out
    for mode in ("train", "eval"):
        assert (run_dir / f"graph-{mode}.gv").read_text().lstrip().startswith("digraph")
        text = run_dir / f"graph-{mode}.txt"
        assert text.read_text().strip() and str(text) in out


@pytest.mark.skipif(not HAVE_TQDM or sys.platform == "win32",
                    reason="waits for tqdm's second bar, then sends a POSIX SIGINT")
def test_ctrl_c_in_a_real_process_keeps_the_completed_epochs(tmp_path):
    # NOTE: a test runner started in the background ignores SIGINT, and the child would inherit
    # that; restoring the default lets Python install its KeyboardInterrupt handler.
    process = subprocess.Popen(
        [sys.executable, "-m", "tinygrad_dropbn", "train", "--hidden", "8", "--epochs", "100000",
         "--out", "runs"], cwd=tmp_path, env=command_env(), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        seen = b""
        while b"epoch      3/" not in seen:  # two epochs done, the third under way
            chunk = process.stderr.read1(4096)
            assert chunk, "the command ended before its third epoch"
            seen += chunk
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 130
    assert b"Interrupted: kept the checkpoint of epoch " in err
    (run_dir,) = (tmp_path / "runs").iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["epochs_completed"] >= 2
    assert len(read_rows(run_dir)) == summary["epochs_completed"]
    assert (run_dir / "model.npz").exists()


def test_a_hostile_config_is_refused_from_the_checkpoint_headers_before_any_model(
        tmp_path, monkeypatch, capsys):
    _, (run_dir,) = train(tmp_path, "--quiet")
    capsys.readouterr()
    config = json.loads((run_dir / "config.json").read_text())
    (run_dir / "config.json").write_text(json.dumps({**config, "hidden": [20000, 20000]}))

    def no_model(*args, **kwargs):
        raise AssertionError("a model was built before the shapes were checked")
    monkeypatch.setattr(cli_config, "build_model", no_model)
    monkeypatch.setattr(tg, "load", no_model)  # nor any array data read
    for command in (["evaluate", str(run_dir)], ["graph", str(run_dir), "--text"]):
        assert main(command) == 1
        assert_one_line_error(capsys, "holds an MLP 2-8-8-3", "describes 2-20000-20000-3")


@pytest.mark.skipif(not HAVE_RENDERER, reason="PNG and PDF need a Graphviz renderer")
@pytest.mark.parametrize("fmt, signature", [("svg", b"<"), ("png", b"\x89PNG"),
                                            ("pdf", b"%PDF")])
def test_graph_writes_the_format_asked_for(tmp_path, capsys, fmt, signature):
    assert main(["graph", "--hidden", "4", "--mode", "eval", "--format", fmt,
                 "--out", str(tmp_path)]) == 0
    path = tmp_path / f"graph-eval.{fmt}"
    assert path.read_bytes().lstrip()[:len(signature)] == signature
    assert str(path) in capsys.readouterr().out


@pytest.mark.parametrize("fmt", ["svg", "png", "pdf"])
def test_graph_without_a_renderer_fails_in_one_line_instead_of_exit_0(tmp_path, monkeypatch,
                                                                      capsys, fmt):
    monkeypatch.setattr(render, "find_renderers", lambda: [])
    assert main(["graph", "--hidden", "4", "--format", fmt, "--out", str(tmp_path)]) == 1
    assert_one_line_error(capsys, f"cannot write {fmt.upper()}", "Graphviz")
    assert not list(tmp_path.glob(f"*.{fmt}"))


def test_graph_backward_steps_writes_a_page(tmp_path, capsys):
    if not hasattr(tg, "render_backward"):
        pytest.skip("tg.render_backward is not in this version of the library")
    if not HAVE_RENDERER:
        pytest.skip("the page's inline SVG needs a Graphviz renderer")
    assert main(["graph", "--hidden", "4", "--mode", "train", "--backward-steps",
                 "--out", str(tmp_path)]) == 0
    page = tmp_path / "backward-train.html"
    assert page.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")
    assert str(page) in capsys.readouterr().out


def test_graph_backward_steps_without_the_library_side_is_a_clear_error(tmp_path, monkeypatch,
                                                                        capsys):
    monkeypatch.delattr(tg, "render_backward", raising=False)
    assert main(["graph", "--hidden", "4", "--backward-steps", "--out", str(tmp_path)]) == 1
    assert_one_line_error(capsys, "tg.render_backward is missing")


def test_lab_runs_one_claim_and_prints_its_verdict_and_checks(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    assert main(["lab", "dropout-backward", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "3. dropout-backward: PASS" in out and "over 5 runs" in out
    assert (tmp_path / "03-dropout-backward.md").exists()
    assert main(["lab", "dropout-backward", "--seeds", "1"]) == 2
    assert_one_line_error(capsys, "number of seeds must be an integer of at least 2")


def test_lab_help_quotes_every_claim(capsys):
    assert main(["lab", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert all(" ".join(m.CLAIM.split()) in text for m in lab.EXPERIMENTS.values())
