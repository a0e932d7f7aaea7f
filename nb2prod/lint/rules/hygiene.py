"""NB5 — hygiene: what makes a notebook hard to review, diff and hand over."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from ..context import LintContext
from ..rule import Hit, Rule, RuleDoc, Severity

_HEADING = re.compile(r"^\s*#\s+\S|<h1[\s>]", re.MULTILINE | re.IGNORECASE)
# A fenced code block (``` or ~~~, to its closing fence or the end of the cell): its `# ` lines are comments.
_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,}).*?(?:^[ \t]{0,3}\1[ \t]*$|\Z)", re.MULTILINE | re.DOTALL)
_GOOD_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
TITLE_WINDOW = 3  # a title must be among this many first cells


def check_error_outputs(ctx: LintContext) -> Iterator[Hit]:
    """NB501: stored error outputs."""
    for cell in ctx.code_cells():
        for output in cell.raw.get("outputs", ()):
            if output.get("output_type") == "error":
                name = output.get("ename") or "error"
                yield Hit(cell.index, f"stored error output ({name}): the saved run failed here", fixable=True)
                break


def check_empty_cell(ctx: LintContext) -> Iterator[Hit]:
    """NB502: a cell with nothing in it."""
    for cell in ctx.cells:
        if not cell.source.strip() and not (cell.cell_type == "markdown" and cell.raw.get("attachments")):
            yield Hit(cell.index, f"empty {cell.cell_type} cell", fixable=True)


def check_long_cell(ctx: LintContext) -> Iterator[Hit]:
    """NB503: a code cell longer than the limit."""
    limit = ctx.settings.max_cell_lines
    for cell in ctx.code_cells():
        lines = len(cell.source.rstrip("\n").splitlines())
        if lines > limit:
            yield Hit(cell.index, f"{lines} lines (limit {limit}): split it into cells or functions that can be tested", limit + 1)


def check_title(ctx: LintContext) -> Iterator[Hit]:
    """NB504: no markdown title among the first cells."""
    if not ctx.cells:
        return
    first = ctx.cells[:TITLE_WINDOW]
    if not any(cell.cell_type == "markdown" and _HEADING.search(_FENCE.sub("", cell.source)) for cell in first):
        yield Hit(None, f"no title: none of the first {TITLE_WINDOW} cells is a markdown cell with a '# ' heading")


def check_large_output(ctx: LintContext) -> Iterator[Hit]:
    """NB505: a single output larger than the limit."""
    limit_kb = ctx.settings.max_output_kb
    if len(ctx.notebook.raw) <= limit_kb * 1024:
        return  # no output can be larger than the whole file
    for cell in ctx.code_cells():
        for number, output in enumerate(cell.raw.get("outputs", ()), start=1):
            size = len(json.dumps(output, ensure_ascii=False).encode("utf-8"))
            if size > limit_kb * 1024:
                kinds = ", ".join(sorted((output.get("data") or {}).keys())) or output.get("output_type", "output")
                yield Hit(cell.index, f"output {number} ({kinds}) is {size / 1024:,.0f} KB (limit {limit_kb} KB): it bloats the repository")


def check_outputs_stored(ctx: LintContext) -> Iterator[Hit]:
    """NB506: outputs are stored at all."""
    for cell in ctx.code_cells():
        if cell.raw.get("outputs"):
            yield Hit(cell.index, "outputs are stored; this repository strips them (run `nb2prod strip`)")


def check_cell_ids(ctx: LintContext) -> Iterator[Hit]:
    """NB507: missing (nbformat 4.5) or duplicated cell ids."""
    if ctx.notebook.is_text or ctx.notebook.nbformat < (4, 5):
        return
    seen: dict[str, int] = {}
    for cell in ctx.cells:
        if cell.id is None:
            yield Hit(cell.index, "cell has no id (nbformat 4.5 requires one)", fixable=True)
        elif cell.id in seen:
            yield Hit(cell.index, f"cell id '{cell.id}' is also the id of cell {seen[cell.id] + 1}", fixable=True)
        else:
            seen[cell.id] = cell.index


def check_file_name(ctx: LintContext) -> Iterator[Hit]:
    """NB508: an Untitled, copied or awkwardly named file."""
    name = ctx.notebook.path.name
    if name.lower().startswith("untitled"):
        yield Hit(None, f"file name '{name}' is Jupyter's default: name the notebook after what it does")
    elif "-Copy" in name:
        yield Hit(None, f"file name '{name}' marks a copy: rename it or delete the original")
    elif not _GOOD_NAME.match(name):
        yield Hit(None, f"file name '{name}' has spaces or characters outside A-Z a-z 0-9 _ . -: it breaks shell commands and imports")


def check_markdown_ratio(ctx: LintContext) -> Iterator[Hit]:
    """NB509: too little markdown per code cell."""
    code = sum(1 for cell in ctx.cells if cell.cell_type == "code")
    markdown = sum(1 for cell in ctx.cells if cell.cell_type == "markdown")
    if code and markdown / code < ctx.settings.min_markdown_ratio:
        ratio = markdown / code
        yield Hit(None, f"{markdown} markdown cells for {code} code cells (ratio {ratio:.2f}, minimum {ctx.settings.min_markdown_ratio})")


def check_kernel(ctx: LintContext) -> Iterator[Hit]:
    """NB510: no kernelspec, or code that is not Python 3 (another language, or Python 2)."""
    notebook = ctx.notebook
    if not ctx.is_python:
        language = ctx.language
        what = "Python 2 (end of life since 2020)" if language.python2 else f"{language.shown}, not Python"
        yield Hit(None, f"the notebook's code is {what} (from its {language.evidence}): code rules and ruff are skipped")
        return
    if notebook.is_text:
        return
    kernelspec = notebook.metadata.get("kernelspec")
    if not isinstance(kernelspec, dict) or not kernelspec.get("name"):
        yield Hit(None, "no kernelspec: tools cannot tell which kernel runs this notebook; save it from Jupyter with a kernel selected")


RULES: tuple[Rule, ...] = (
    Rule(
        "NB501",
        "error-output",
        Severity.WARNING,
        "error outputs (tracebacks) stored in the notebook",
        check_error_outputs,
        RuleDoc(
            what="A code cell whose stored outputs include an error (a traceback).",
            why="The saved run failed: the results after it are not trustworthy, and tracebacks often leak paths and data.",
            bad="df = load()   # output: FileNotFoundError …",
            good="df = load()   # no stored error",
            fix="Fix the cause and rerun; `nb2prod lint --fix` clears stored error outputs.",
        ),
        fixable=True,
    ),
    Rule(
        "NB502",
        "empty-cell",
        Severity.INFO,
        "empty cell",
        check_empty_cell,
        RuleDoc(
            what="A cell that holds only whitespace.",
            why="Noise in reviews and diffs; an empty code cell also gets an execution count and makes counts harder to read.",
            bad="# (a code cell with nothing in it)",
            good="# (the cell deleted)",
            fix="`nb2prod lint --fix` removes empty cells (markdown cells with attachments are kept).",
        ),
        fixable=True,
    ),
    Rule(
        "NB503",
        "long-cell",
        Severity.INFO,
        "code cell longer than max-cell-lines",
        check_long_cell,
        RuleDoc(
            what="A code cell longer than `max-cell-lines` (default 40) lines.",
            why="Long cells mix several steps; they cannot be exported or tested piece by piece and hide where a result comes from.",
            bad="# one 120-line cell that loads, cleans, trains and plots",
            good="# a cell per step, or functions that each do one thing",
            fix="Split the cell or move code into functions. Set `max-cell-lines` in [tool.nb2prod.lint]. Not auto-fixable.",
        ),
    ),
    Rule(
        "NB504",
        "no-title",
        Severity.INFO,
        "no markdown title among the first cells",
        check_title,
        RuleDoc(
            what="None of the first three cells is a markdown cell with a level-one `# ` heading.",
            why="The title is what a reader, a notebook index and the exported package's model card start from.",
            bad="import pandas as pd",
            good="# Churn model\nTrains and evaluates the churn classifier.",
            fix="Add a markdown cell with a `# Title` at the top. Not auto-fixable.",
        ),
    ),
    Rule(
        "NB505",
        "large-output",
        Severity.WARNING,
        "a single output larger than max-output-kb",
        check_large_output,
        RuleDoc(
            what="One output larger than `max-output-kb` (default 500 KB) once serialised: an embedded image, a printed data frame.",
            why="Large outputs bloat the repository forever and make diffs and reviews unusable.",
            bad="df   # displays 200,000 rows as HTML",
            good="df.head()",
            fix="Show less, save large artefacts to files, or strip outputs (`nb2prod strip`). Not auto-fixable.",
        ),
    ),
    Rule(
        "NB506",
        "outputs-stored",
        Severity.INFO,
        "outputs are stored at all",
        check_outputs_stored,
        RuleDoc(
            what="Any stored output. Off unless selected, for repositories that keep notebooks stripped.",
            why="In a stripped repository, a stored output means the pre-commit hook was skipped.",
            bad="print('hello')   # output: hello",
            good="print('hello')   # no stored output",
            fix="Run `nb2prod strip`.",
        ),
        default_on=False,
    ),
    Rule(
        "NB507",
        "cell-ids",
        Severity.WARNING,
        "cell ids missing (nbformat 4.5) or duplicated",
        check_cell_ids,
        RuleDoc(
            what="In an nbformat 4.5 notebook, a cell without an `id`, or two cells with the same id (copy-paste in some editors).",
            why="Tools address cells by id (nbformat, JupyterLab, nb2prod's export provenance and SARIF fingerprints); "
            "nbformat silently invents random ids for missing ones, giving noisy diffs.",
            bad='{"cell_type": "code", "source": "x = 1"}',
            good='{"cell_type": "code", "id": "load-data", "source": "x = 1"}',
            fix="`nb2prod lint --fix` adds ids to cells without one and gives duplicates new ones, deterministically "
            "(derived from the cell's position and content).",
        ),
        fixable=True,
    ),
    Rule(
        "NB508",
        "file-name",
        Severity.INFO,
        "Untitled or copied notebook, or a name with spaces or unusual characters",
        check_file_name,
        RuleDoc(
            what="A file named `Untitled*.ipynb`, containing `-Copy`, or with characters outside `A-Z a-z 0-9 _ . -`.",
            why="Default and copy names say nothing about the content; spaces and special characters break shell commands, "
            "imports of exported modules and URLs.",
            bad="Untitled-Copy1.ipynb, My Analysis (v2).ipynb",
            good="train_churn_model.ipynb",
            fix="Rename the file. Not auto-fixable.",
        ),
    ),
    Rule(
        "NB509",
        "little-markdown",
        Severity.INFO,
        "too little markdown per code cell",
        check_markdown_ratio,
        RuleDoc(
            what="Fewer than `min-markdown-ratio` (default 0.3) markdown cells per code cell. Off unless selected.",
            why="A notebook handed over without prose is a script without comments; the receiving engineer cannot tell "
            "intent from accident.",
            bad="# 20 code cells, 1 markdown cell",
            good="# a markdown cell before each step saying what it does and why",
            fix="Explain the steps in markdown cells. Not auto-fixable.",
        ),
        default_on=False,
    ),
    Rule(
        "NB510",
        "kernel",
        Severity.WARNING,
        "no kernelspec, or the language is not Python",
        check_kernel,
        RuleDoc(
            what="A notebook without `metadata.kernelspec`, or whose code is not Python 3: another language, or Python 2. "
            "The language comes from `language_info` (name; for Python its version), then `kernelspec` (language, else "
            "its name or display name), then jupytext's `main_language`; a notebook that states nothing is taken as Python 3.",
            why="Runs need to know which kernel to start; for other languages and Python 2, nb2prod's code rules and ruff do "
            "not apply (they would report every line as a syntax error), so lint runs only the rules that do not read the "
            "code (execution counts, outputs, secrets in known formats, hygiene) and says so in this one finding.",
            bad='"metadata": {}',
            good='"metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}',
            fix="Open the notebook in Jupyter, select a kernel and save; port Python 2 code to Python 3. Not auto-fixable.",
        ),
    ),
)
