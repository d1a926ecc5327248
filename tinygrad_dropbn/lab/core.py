"""What every experiment shares: checks decided by a mean and its interval over several runs,
running the runs with a progress bar, and the pages and plots that show the result.

An experiment is a module with ``TITLE``, ``CLAIM`` (the article's claim, written only there:
the page, the verdict line and ``--help`` read it), ``ARTICLE`` (the article's sentences it
covers), ``SETUP`` (what one run compares), ``CAPTION`` (what to look at in the plot), ``CHECKS``
(a tuple of :class:`Spec`) and ``measure(seed, lib) -> {key: number}``, one run's numbers.
``lib`` is :data:`tinygrad_dropbn.lab.backends.LIBRARY` or its PyTorch twin.
"""
from __future__ import annotations

import base64
import textwrap
import html
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Optional, TextIO

import numpy as np

T_975 = {1: 12.71, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
         9: 2.262, 10: 2.228, 12: 2.179, 15: 2.131, 20: 2.086, 30: 2.042}
"""Student's t quantile 0.975 by degrees of freedom (for a two-sided 95% interval)."""


@dataclass(frozen=True)
class Spec:
    """A check as the claim states it: the run statistic ``key`` must be ``op`` ("<" or ">")
    ``threshold`` -- the whole 95% interval of its mean over the runs, not just the mean.
    ``required=False`` marks a stronger statement of the article than its mechanism: when only
    such checks fail the verdict is PARTLY."""

    key: str
    what: str
    op: str
    threshold: float
    unit: str = ""
    required: bool = True


@dataclass
class Check:
    """A :class:`Spec` with its measured values, one per run."""

    spec: Spec
    values: np.ndarray

    @property
    def interval(self) -> tuple[float, float, float]:
        """Mean and the two ends of its 95% t-interval (NaN when a run gave NaN)."""
        n, mean = len(self.values), float(np.mean(self.values))
        df = max(k for k in T_975 if k <= max(n - 1, 1))
        half = T_975[df] * float(np.std(self.values, ddof=1)) / math.sqrt(n) if n > 1 else 0.0
        return mean, mean - half, mean + half

    @property
    def passed(self) -> bool:
        """The interval's far end is on the claim's side of the threshold."""
        _, low, high = self.interval
        return bool(high < self.spec.threshold if self.spec.op == "<"
                    else low > self.spec.threshold)

    def line(self) -> str:
        mean, low, high = self.interval
        unit = f" {self.spec.unit}" if self.spec.unit else ""
        return (f"{'pass' if self.passed else 'FAIL'}  {self.spec.what}: {number(mean)}{unit} "
                f"[{number(low)}, {number(high)}] over {len(self.values)} runs "
                f"(required {self.spec.op} {number(self.spec.threshold)})")


@dataclass
class Result:
    """One experiment's outcome; ``torch`` holds the PyTorch rerun's checks when asked for."""

    name: str
    number: int
    experiment: ModuleType
    checks: list[Check]
    seconds: float
    seed: int
    torch: Optional[list[Check]] = None
    files: list[Path] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        return verdict_of(self.checks)


def verdict_of(checks: list[Check]) -> str:
    """FAIL when a required check fails, PARTLY when only stronger statements do, else PASS."""
    if not all(c.passed for c in checks if c.spec.required):
        return "FAIL"
    return "PASS" if all(c.passed for c in checks) else "PARTLY"


def run_experiment(name: str, number: int, experiment: ModuleType, lib: Any, seed: int,
                   seeds: int, progress: Optional[TextIO] = None) -> tuple[list[Check], float]:
    """Measure ``seeds`` runs (seeds ``seed``, ``seed + 1``, ...) and decide every check; a
    progress bar on ``progress`` (a terminal) shows the runs done."""
    start, runs = time.perf_counter(), []
    for k in range(seeds):
        if progress is not None and progress.isatty():
            done = int(24 * k / seeds)
            progress.write(f"\r{number:2}. {name:<22} [{'#' * done}{'.' * (24 - done)}] "
                           f"run {k + 1}/{seeds} ({lib.name})")
            progress.flush()
        lib.seed(seed + k)
        with np.errstate(all="ignore"):
            runs.append(experiment.measure(seed + k, lib))
    if progress is not None and progress.isatty():
        progress.write("\r\033[K")
    checks = [Check(spec, np.array([run[spec.key] for run in runs], dtype=np.float64))
              for spec in experiment.CHECKS]
    return checks, time.perf_counter() - start


def number(value: float) -> str:
    """Four significant digits, scientific notation for very small or large magnitudes."""
    value = float(value)
    if value != 0 and math.isfinite(value) and (abs(value) < 1e-3 or abs(value) >= 1e5):
        return f"{value:.2e}"
    return f"{value:.4g}"


def plot(result: Result, path: Path) -> Path:
    """One panel per check: every run as a dot, the mean with its 95% interval as a bar, the
    threshold dashed; the caption below says what to look at."""
    try:
        from matplotlib.figure import Figure
    except ImportError as error:  # matplotlib is an optional extra
        raise ImportError("the lab draws its plots with matplotlib; install it with "
                          "pip install 'tinygrad-dropbn[train]'") from error
    checks, width = result.checks, 2.6 * len(result.checks) + 0.6
    figure = Figure(figsize=(width, 3.8), dpi=72)
    figure.subplots_adjust(left=0.8 / width, right=0.98, top=0.72, bottom=0.3, wspace=0.45)
    for i, (check, ax) in enumerate(zip(checks, figure.subplots(1, len(checks),
                                                                 squeeze=False)[0])):
        series = [("tinygrad_dropbn", check, "tab:blue")]
        if result.torch is not None:
            series.append(("PyTorch", result.torch[i], "tab:orange"))
        for j, (label, run, colour) in enumerate(series):
            mean, low, high = run.interval
            ax.plot(j + np.linspace(-0.12, 0.12, len(run.values)), run.values, "o",
                    color=colour, alpha=0.5, ms=4, label=f"{label}: one run")
            ax.errorbar([j], [mean], yerr=[[mean - low], [high - mean]], fmt="_", ms=18,
                        capsize=6, color=colour, lw=2)
        ax.axhline(check.spec.threshold, color="black", ls="--", lw=1,
                   label=f"threshold ({check.spec.op} {number(check.spec.threshold)})")
        ax.set_xticks(range(len(series)), [s[0] for s in series], fontsize=7)
        ax.set_xlim(-0.6, len(series) - 0.4)
        ax.set_ylabel(check.spec.unit or "value", fontsize=8)
        ax.set_title(_wrap(check.spec.what, 34) + f"\n{'pass' if check.passed else 'FAIL'}",
                     fontsize=8, color="black" if check.passed else "tab:red")
        ax.tick_params(labelsize=7)
    ax.legend(fontsize=6, loc="best")
    figure.suptitle(f"{result.number}. {result.experiment.TITLE}: {result.verdict}",
                    fontsize=10)
    figure.text(0.5, 0.02, _wrap(f"{result.experiment.CAPTION} Dots: one run each; bar: the "
                                 f"mean with its 95% interval over {len(checks[0].values)} "
                                 "runs; dashed: the threshold the claim sets.",
                                 int(width * 17)), ha="center", va="bottom", fontsize=7)
    figure.savefig(path, metadata={"Software": None})
    return path


def write_page(result: Result, out_dir: Path) -> Path:
    """The experiment's Markdown report, beside its plot."""
    e, stem = result.experiment, f"{result.number:02d}-{result.name}"
    image = plot(result, out_dir / f"{stem}.png")
    n = len(result.checks[0].values)
    lines = [f"# {result.number}. {e.TITLE}", "", f"**Claim.** {e.CLAIM}", "",
             f"**The article.** {e.ARTICLE}", "",
             f"**Verdict: {result.verdict}** over {n} runs (seeds {result.seed}-"
             f"{result.seed + n - 1}). {_conclusion(result)}", "",
             f"**What one run compares.** {e.SETUP}", "",
             "Each check needs the whole 95% t-interval of the mean over the runs on the "
             "claim's side of the threshold.", "", *check_table(result.checks), "",
             f"![{e.TITLE}]({image.name})", "", f"*{e.CAPTION}*", ""]
    if result.torch is not None:
        agree = "agrees" if verdict_of(result.torch) == result.verdict else "DISAGREES"
        lines += ["## Against PyTorch", "", "The same runs with the model rebuilt in PyTorch "
                  "from the same initial weights and data.", "",
                  *check_table(result.torch, result.checks), "",
                  f"Conclusion {agree}: PyTorch gives {verdict_of(result.torch)}.", ""]
    lines += [f"Regenerate: `tinygrad-dropbn lab {result.name} --seed {result.seed} --seeds {n}`.",
              ""]
    page = out_dir / f"{stem}.md"
    page.write_text("\n".join(lines), encoding="utf-8")
    result.files = [page, image]
    return page


def check_table(checks: list[Check], ours: Optional[list[Check]] = None) -> list[str]:
    """A Markdown table of checks; with ``ours``, a column for the difference of the means."""
    extra = " | mean - ours" if ours else ""
    lines = [f"| check | mean | 95% interval | required | result{extra} |",
             "| --- | --- | --- | --- | ---" + (" | ---" if ours else "") + " |"]
    for i, c in enumerate(checks):
        mean, low, high = c.interval
        diff = f" | {number(mean - ours[i].interval[0])}" if ours else ""
        unit = f" {c.spec.unit}" if c.spec.unit else ""
        lines.append(f"| {c.spec.what}{'' if c.spec.required else ' (stronger statement)'} | "
                     f"{number(mean)}{unit} | [{number(low)}, {number(high)}] | "
                     f"{c.spec.op} {number(c.spec.threshold)} | "
                     f"{'pass' if c.passed else '**FAIL**'}{diff} |")
    return lines


def write_index(results: list[Result], out_dir: Path) -> tuple[Path, Path]:
    """``index.md`` and a self-contained ``index.html`` (plots inlined) over every result."""
    rows = ["| # | claim | verdict | report |", "| --- | --- | --- | --- |"]
    rows += [f"| {r.number} | {r.experiment.CLAIM} | **{r.verdict}** | "
             f"[{r.files[0].name}]({r.files[0].name}) |" for r in results]
    markdown = out_dir / "index.md"
    markdown.write_text("# The article's claims, rerun\n\n" + "\n".join(rows) + "\n",
                        encoding="utf-8")
    sections = "".join(
        f"<section><h2>{r.number}. {html.escape(r.experiment.TITLE)}: {r.verdict}</h2>"
        f"<p>{html.escape(r.experiment.CLAIM)}</p><ul>"
        + "".join(f"<li>{html.escape(c.line())}</li>" for c in r.checks)
        + f"</ul><img style='max-width:100%' alt='{html.escape(r.experiment.TITLE)}' "
        f"src='data:image/png;base64,{base64.b64encode(r.files[1].read_bytes()).decode()}'>"
        "</section>" for r in results)
    page = out_dir / "index.html"
    page.write_text("<!DOCTYPE html><html><head><meta charset='utf-8'><title>tinygrad_dropbn "
                    "lab</title></head><body style='font-family:sans-serif;max-width:1100px;"
                    f"margin:auto'><h1>The article's claims, rerun</h1>{sections}</body></html>\n",
                    encoding="utf-8")
    return markdown, page


def _conclusion(result: Result) -> str:
    if result.verdict == "PARTLY":
        return getattr(result.experiment, "PARTLY", "")
    return {"PASS": "The data support the claim.",
            "FAIL": "The data do not support the claim."}[result.verdict]


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width))
