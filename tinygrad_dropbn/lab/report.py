"""What every lab experiment hands back: checks, a verdict, a plot and a Markdown report.

A claim passes only through :class:`Check` objects: each compares one measured number with a
threshold fixed by the claim, so the verdict printed at the end is a function of the data and the
report shows exactly which numbers decided it. Figures are drawn with matplotlib's object API
(``matplotlib.figure.Figure``), which renders through Agg without touching pyplot's global state.
"""
from __future__ import annotations

import base64
import html
import operator
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

_COMPARE = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}

Z_BOUND = 4.0
"""A Monte-Carlo mean lies within 4 standard errors of its expectation with probability 0.99994;
a larger deviation means the expectation itself differs."""


def sizes(size: str, full: dict, small: dict) -> dict:
    """The configuration for ``size`` ("full" or "small")."""
    if size not in ("full", "small"):
        raise ValueError(f"size must be 'full' or 'small', got {size!r}")
    return full if size == "full" else small


@dataclass(frozen=True)
class Check:
    """One measured number against the threshold the claim sets for it.

    Args:
        what: what was measured, in words a reader of the report understands.
        value: the measured number.
        op: how it must compare with ``threshold``: "<", "<=", ">" or ">=".
        threshold: the bound, derived from the claim (not from the measurement).
    """

    what: str
    value: float
    op: str
    threshold: float

    def __post_init__(self) -> None:
        if self.op not in _COMPARE:
            raise ValueError(f"Check op must be one of {', '.join(_COMPARE)}, got {self.op!r}")

    @property
    def passed(self) -> bool:
        """Whether the measurement satisfies the bound (NaN never does)."""
        return bool(_COMPARE[self.op](float(self.value), float(self.threshold)))

    def line(self) -> str:
        """The check as one line of text: result, what, measured and required."""
        return (f"{'pass' if self.passed else 'FAIL'}  {self.what}: {_number(self.value)} "
                f"(required {self.op} {_number(self.threshold)})")

    def row(self) -> str:
        """The check as a Markdown table row."""
        result = "pass" if self.passed else "**FAIL**"
        return (f"| {_cell(self.what)} | {_number(self.value)} | {self.op} "
                f"{_number(self.threshold)} | {result} |")


@dataclass
class ExperimentResult:
    """The outcome of one experiment.

    Attributes:
        name: the experiment's command-line name (e.g. "inverted-dropout").
        number: its position in the lab (1-based), used in file names.
        title: a short heading.
        claim: the article's claim being tested, in one or two sentences.
        checks: the measurements that decide the verdict; the claim passes when all of them do.
        plot: the PNG written.
        report: the Markdown report written.
        seconds: wall time of the experiment, plot included.
        size: "full" or "small".
        seed: the seed the experiment ran with.
    """

    name: str
    number: int
    title: str
    claim: str
    checks: list[Check]
    plot: Path
    report: Path
    seconds: float = 0.0
    size: str = "full"
    seed: int = 0

    @property
    def passed(self) -> bool:
        """True when every check passed."""
        return all(check.passed for check in self.checks)

    @property
    def verdict(self) -> str:
        """``"PASS"`` or ``"FAIL"``."""
        return "PASS" if self.passed else "FAIL"


def file_stem(number: int, name: str) -> str:
    """The file name shared by an experiment's plot and report, e.g. ``01-inverted-dropout``."""
    return f"{number:02d}-{name}"


def new_figure(rows: int = 1, cols: int = 1, width: float = 11.0, height: float = 4.2) -> tuple:
    """A matplotlib ``Figure`` and its axes grid, independent of pyplot.

    Raises:
        ImportError: matplotlib is missing, naming the extra that installs it.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as error:  # matplotlib is an optional extra
        raise ImportError("the lab draws its plots with matplotlib; install it with "
                          "pip install 'tinygrad-dropbn[train]'") from error
    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    axes = figure.subplots(rows, cols, squeeze=False)
    return figure, axes


def finish(out_dir: Path | str, *, number: int, name: str, title: str, claim: str, setup: str,
           checks: Sequence[Check], figure: Any, explanation: str, size: str, seed: int,
           started: float, table: str = "") -> ExperimentResult:
    """Save the figure and write the Markdown report; return the experiment's result.

    Args:
        out_dir: folder for ``NN-name.png`` and ``NN-name.md`` (created if missing).
        setup: what was run, with its sizes (Markdown).
        checks: the deciding measurements.
        figure: the matplotlib figure to save as PNG.
        explanation: what the numbers mean (Markdown).
        started: ``time.perf_counter()`` when the experiment began (for its wall time).
        table: extra measurements to show (a Markdown table), not part of the verdict.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = file_stem(number, name)
    plot = out_dir / f"{stem}.png"
    # No timestamps in the PNG, so the same seed writes byte-identical files.
    figure.savefig(plot, metadata={"Software": None})
    result = ExperimentResult(name=name, number=number, title=title, claim=claim,
                              checks=list(checks), plot=plot, report=out_dir / f"{stem}.md",
                              seconds=time.perf_counter() - started, size=size, seed=seed)
    lines = [
        f"# {number}. {title}",
        "",
        f"**Claim.** {claim}",
        "",
        f"**Verdict: {result.verdict}** (size `{size}`, seed {seed}).",
        "",
        "| check | measured | required | result |",
        "| --- | --- | --- | --- |",
        *[check.row() for check in result.checks],
        "",
        f"![{title}]({plot.name})",
        "",
        "## Setup",
        "",
        setup.strip(),
        "",
    ]
    if table:
        lines += ["## Measurements", "", table.strip(), ""]
    lines += ["## What it shows", "", explanation.strip(), "",
              f"Regenerate: `tinygrad-dropbn lab {name} --seed {seed}"
              f"{' --small' if size == 'small' else ''}`.", ""]
    result.report.write_text("\n".join(lines), encoding="utf-8")
    return result


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table; floats are written with four significant digits."""
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(_number(v) if isinstance(v, float) else _cell(str(v))
                                for v in row) + " |" for row in rows]
    return "\n".join(lines)


def write_index(results: Sequence[ExperimentResult], out_dir: Path | str) -> tuple[Path, Path]:
    """Write ``index.md`` and a self-contained ``index.html`` (images inlined as base64).

    Neither page records times or dates, so the same seed writes the same files.

    Returns:
        The paths of the Markdown and the HTML page.
    """
    out_dir = Path(out_dir)
    passed = sum(result.passed for result in results)
    size, seed = results[0].size, results[0].seed
    command = f"tinygrad-dropbn lab all --seed {seed}{' --small' if size == 'small' else ''}"
    heading = f"{passed} of {len(results)} claims pass (size {size}, seed {seed}). Regenerate: "
    lines = ["# The article's claims, reproduced", "", f"{heading}`{command}`.", "",
             "| # | experiment | claim | verdict | report |", "| --- | --- | --- | --- | --- |"]
    for r in results:
        lines.append(f"| {r.number} | {r.title} | {_cell(r.claim)} | **{r.verdict}** | "
                     f"[{r.report.name}]({r.report.name}) |")
    lines.append("")
    for r in results:
        lines += [f"## {r.number}. {r.title}: {r.verdict}", "", r.claim, "",
                  "| check | measured | required | result |", "| --- | --- | --- | --- |",
                  *[check.row() for check in r.checks], "", f"![{r.title}]({r.plot.name})", ""]
    markdown = out_dir / "index.md"
    markdown.write_text("\n".join(lines), encoding="utf-8")

    sections = []
    for r in results:
        rows = "".join(
            f"<tr><td>{html.escape(c.what)}</td><td>{_number(c.value)}</td>"
            f"<td>{html.escape(c.op)} {_number(c.threshold)}</td>"
            f"<td class='{'pass' if c.passed else 'fail'}'>{'pass' if c.passed else 'FAIL'}</td>"
            "</tr>" for c in r.checks)
        image = base64.b64encode(r.plot.read_bytes()).decode("ascii")
        sections.append(
            f"<section><h2>{r.number}. {html.escape(r.title)} "
            f"<span class='{'pass' if r.passed else 'fail'}'>{r.verdict}</span></h2>"
            f"<p>{html.escape(r.claim)}</p><table><tr><th>check</th><th>measured</th>"
            f"<th>required</th><th>result</th></tr>{rows}</table>"
            f"<img alt='{html.escape(r.title)}' src='data:image/png;base64,{image}'></section>")
    page = ("<!DOCTYPE html><html><head><meta charset='utf-8'>"
            "<title>tinygrad_dropbn lab</title><style>"
            "body{font-family:sans-serif;max-width:1150px;margin:auto;padding:1em}"
            "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #bbb;"
            "padding:.25em .5em;text-align:left}img{max-width:100%}"
            ".pass{color:#176b1d;font-weight:bold}.fail{color:#b00020;font-weight:bold}"
            "</style></head><body><h1>The article's claims, reproduced</h1>"
            f"<p>{html.escape(heading)}<code>{html.escape(command)}</code>.</p>"
            f"{''.join(sections)}</body></html>\n")
    page_path = out_dir / "index.html"
    page_path.write_text(page, encoding="utf-8")
    return markdown, page_path


def _cell(text: str) -> str:
    """Text for a Markdown table cell: a literal ``|`` would end the cell."""
    return text.replace("|", "\\|")


def _number(value: float) -> str:
    """Four significant digits, scientific notation for very small or large magnitudes."""
    value = float(value)
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
        return f"{value:.3e}"
    return f"{value:.4g}"
