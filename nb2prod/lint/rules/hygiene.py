"""NB5 — hygiene: what makes a notebook hard to review, diff and hand over."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ...model import source_text
from ..context import LintContext
from ..ipython import PYTHON_CELL_MAGICS
from ..rule import Hit, Rule, RuleDoc, Severity
from .teaching import all_code, is_teaching_error

# A title: an ATX heading of any level, a setext heading (text underlined with === or ---), an HTML
# heading, or a first line in bold (`**Chapter 4 - Training Models**`).
_HEADING = re.compile(
    r"^\s{0,3}#{1,6}[ \t]*[^#\s]|^[ \t]*\S[^\n]*\n[ \t]*(?:=+|-{2,})[ \t]*$|<h[1-6][\s>]|\A\s*(?:\*\*|__)[^*_\n]+(?:\*\*|__)\s*(?:\n|\Z)",
    re.MULTILINE | re.IGNORECASE,
)
# A fenced code block (``` or ~~~, to its closing fence or the end of the cell): its `# ` lines are comments.
_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,}).*?(?:^[ \t]{0,3}\1[ \t]*$|\Z)", re.MULTILINE | re.DOTALL)
_COPY_NAME = re.compile(r"-Copy\d*\.|(?:^|[\s_-])copy(?:\s*\(?\d*\)?)?\.ipynb$|^Copy of ", re.IGNORECASE)
TITLE_WINDOW = 3  # a title must be among this many first cells (setup code cells and empty cells not counted)
MIN_CODE_CELLS_FOR_TITLE = 3  # a notebook with fewer code cells is a script: it needs no title
#: Cell magics whose body is not Python: their length says nothing about a cell's steps.
_NON_PYTHON_CELL_MAGIC = re.compile(r"\A\s*%%(?!(?:" + "|".join(sorted(PYTHON_CELL_MAGICS)) + r")\b)\w")
#: Names that plotting code is called through (matplotlib, seaborn, plotly conventions).
_PLOT_ROOTS = frozenset({"plt", "ax", "axs", "axes", "ax1", "ax2", "fig", "sns", "px", "go", "g", "figure", "subplot"})
_PLOT_PACKAGES = ("matplotlib", "seaborn", "plotly", "bokeh", "altair")


def check_error_outputs(ctx: LintContext) -> Iterator[Hit]:
    """NB501: stored error outputs, unless the notebook shows them on purpose (see ``is_teaching_error``)."""
    raw_cells = ctx.notebook.data["cells"]
    code = None
    failed: list[tuple[int, str]] = []
    for cell in ctx.code_cells():
        for output in cell.raw.get("outputs", ()):
            if output.get("output_type") == "error":
                code = all_code(raw_cells) if code is None else code
                if not is_teaching_error(raw_cells, cell.index, code):
                    failed.append((cell.index, output.get("ename") or "error"))
                break
    if failed:
        (index, name), others = failed[0], [other + 1 for other, _ in failed[1:]]
        shown = ", ".join(map(str, others[:5])) + (", …" if len(others) > 5 else "")
        more = f" (and {len(others)} more: {'cell' if len(others) == 1 else 'cells'} {shown})" if others else ""
        yield Hit(index, f"stored error output ({name}){more}: the saved run failed here", fixable=True)


def is_reported_empty(cells: Sequence[Mapping[str, Any]], index: int) -> bool:
    """Whether the cell at ``index`` (raw cell JSON) is an empty cell NB502 reports (and ``--fix`` removes).

    Whitespace-only cells, except: a markdown cell with attachments (they are its content), a code
    cell with outputs (its code was removed on purpose, as in a solutions sheet), and an empty code
    cell right after a markdown cell (the answer slot of an exercise).
    """
    cell = cells[index]
    if source_text(cell.get("source", "")).strip():
        return False
    kind = cell.get("cell_type")
    if kind not in ("code", "markdown", "raw"):
        return False  # a cell of an unknown type is skipped (the read says so)
    if kind == "markdown" and cell.get("attachments"):
        return False
    if kind == "code":
        if cell.get("outputs"):
            return False
        if index > 0 and cells[index - 1].get("cell_type") == "markdown":
            return False
    return True


def check_empty_cell(ctx: LintContext) -> Iterator[Hit]:
    """NB502: cells with nothing in them (see ``is_reported_empty``); one finding per notebook, listing the others."""
    raw_cells = ctx.notebook.data["cells"]
    empty = [cell for cell in ctx.cells if not cell.source.strip() and is_reported_empty(raw_cells, cell.index)]
    if empty:
        others = [cell.index + 1 for cell in empty[1:]]
        shown = ", ".join(map(str, others[:5])) + (", …" if len(others) > 5 else "")
        more = f" (and {len(others)} more: {'cell' if len(others) == 1 else 'cells'} {shown})" if others else ""
        yield Hit(empty[0].index, f"empty {empty[0].cell_type} cell{more}", fixable=True)


def _statement_lines(tree: ast.Module) -> list[int]:
    """The lines where statements start, nested ones included: a statement spread over several lines (a long
    list literal, a call with one argument per line) counts once; blank lines, comments and docstrings not at all."""
    return sorted(
        {
            node.lineno
            for node in ast.walk(tree)
            if isinstance(node, ast.stmt) and not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
        }
    )


def _is_definition(node: ast.stmt) -> bool:
    """A def, a class, a module constant, or the ``if __name__ == "__main__":`` block of a script."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return True
    if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
        try:
            ast.literal_eval(node.value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return False
        return True
    return isinstance(node, ast.If) and "__name__" in ast.unparse(node.test)


def _is_plotting(ctx: LintContext, node: ast.stmt) -> bool:
    for inner in ast.walk(node):
        if isinstance(inner, ast.Call):
            func = inner.func
            while isinstance(func, (ast.Attribute, ast.Call, ast.Subscript)):
                func = func.func if isinstance(func, ast.Call) else func.value
            if isinstance(func, ast.Name):
                target = ctx.aliases.get(func.id, "")
                return func.id in _PLOT_ROOTS or target.startswith(_PLOT_PACKAGES)
    return False


def _one_step(ctx: LintContext, tree: ast.Module) -> bool:
    """Whether a cell is one thing that cannot be split usefully: definitions only, one block, or one figure."""
    body = [
        node
        for node in tree.body
        if not isinstance(node, (ast.Import, ast.ImportFrom, ast.Pass))
        and not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
    ]
    if not body:
        return True
    if all(_is_definition(node) for node in body) and any(
        isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) for node in body
    ):
        return True  # helper functions, classes and constants: already the units that can be tested
    blocks = (ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef, ast.Try)
    if len(body) == 1 and isinstance(body[0], blocks):
        return True  # a single loop, class or function cannot be split across cells
    plotting = sum(1 for node in body if _is_plotting(ctx, node))
    return plotting >= 0.75 * len(body)  # one figure, drawn call by call


def check_long_cell(ctx: LintContext) -> Iterator[Hit]:
    """NB503: a code cell with more lines of code than the limit that chains several steps."""
    limit = ctx.settings.max_cell_lines
    for cell in ctx.code_cells():
        if cell.source.count("\n") < limit or _NON_PYTHON_CELL_MAGIC.match(cell.source):
            continue  # too short to count, or not Python
        tree = ctx.trees.get(cell.index)
        if tree is None:
            continue  # not Python (or does not parse): its steps cannot be told
        lines = _statement_lines(tree)
        if len(lines) <= limit or _one_step(ctx, tree):
            continue
        yield Hit(
            cell.index,
            f"{len(lines)} lines (limit {limit}): split it into cells or functions that can be tested",
            lines[limit],
        )


def _is_setup(ctx: LintContext, index: int) -> bool:
    """A code cell that only installs, imports or sets up the session (magics, ``!pip``), or is empty."""
    cell = ctx.cells[index]
    if not cell.source.strip():
        return True
    tree = ctx.trees.get(index)
    if tree is None:
        return all(line.lstrip().startswith(("!", "%", "#")) for line in cell.source.splitlines() if line.strip())
    return all(
        isinstance(node, (ast.Import, ast.ImportFrom, ast.Pass)) or (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
        for node in tree.body
    )


def check_title(ctx: LintContext) -> Iterator[Hit]:
    """NB504: no markdown title among the first cells (setup code cells above the title are allowed).

    A notebook that opens with a markdown cell says what it is, heading or not; a script-sized
    notebook (fewer than 3 code cells) needs no title.
    """
    if sum(1 for cell in ctx.code_cells() if cell.source.strip()) < MIN_CODE_CELLS_FOR_TITLE:
        return
    counted = 0
    for cell in ctx.cells:
        if cell.cell_type == "code" and ctx.is_python and _is_setup(ctx, cell.index):
            continue
        if cell.cell_type == "markdown" and ((counted == 0 and cell.source.strip()) or _HEADING.search(_FENCE.sub("", cell.source))):
            return
        if cell.source.strip():
            counted += 1
        if counted >= TITLE_WINDOW:
            break
    yield Hit(None, f"no title: none of the first {TITLE_WINDOW} cells is a markdown cell with a heading")


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
            yield Hit(cell.index, "outputs are stored: strip them (`nb2prod strip`) if this repository keeps notebooks without outputs")


def check_cell_ids(ctx: LintContext) -> Iterator[Hit]:
    """NB507: missing (nbformat 4.5) or duplicated cell ids."""
    if ctx.notebook.is_text or ctx.notebook.nbformat < (4, 5):
        return
    seen: dict[str, int] = {}
    for cell in ctx.cells:
        if cell.cell_type not in ("code", "markdown", "raw"):
            continue  # a cell of an unknown type is skipped (the read says so)
        if cell.id is None:
            yield Hit(cell.index, "cell has no id (nbformat 4.5 requires one)", fixable=True)
        elif cell.id in seen:
            yield Hit(cell.index, f"cell id '{cell.id}' is also the id of cell {seen[cell.id] + 1}", fixable=True)
        else:
            seen[cell.id] = cell.index


def check_file_name(ctx: LintContext) -> Iterator[Hit]:
    """NB508: an Untitled or copied notebook."""
    name = ctx.notebook.path.name
    if name.lower().startswith("untitled"):
        yield Hit(None, f"file name '{name}' is Jupyter's default: name the notebook after what it does")
    elif _COPY_NAME.search(name):
        yield Hit(None, f"file name '{name}' marks a copy: rename it or delete the original")


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
    if not any(cell.source.strip() for cell in ctx.code_cells()):
        return  # nothing to run: which kernel would run it does not matter
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
            what="A code cell whose stored outputs include an error (a traceback), unless the notebook shows it on purpose "
            "(one finding per notebook, at the first such cell, listing the others): "
            "the cell is tagged `raises-exception`, its comments or the markdown just above (at most one code cell "
            "between) or just below it name the error (`ValueError`) or speak of errors (error, exception, raise, fail, "
            'traceback, attempt, "won\'t work"…), or the notebook sets `%xmode` (a notebook about tracebacks).',
            why="The saved run failed: the results after it are not trustworthy, and tracebacks often leak paths and data.",
            bad="df = load()   # output: FileNotFoundError …",
            good="df = load()   # no stored error",
            fix="Fix the cause and rerun; `nb2prod lint --fix` clears stored error outputs, never those shown on purpose. "
            "Tag a deliberate error's cell `raises-exception` to say so (nbval and jupyter-book read the same tag).",
            limits='Heuristic: a real failure under markdown that happens to speak of errors is not reported; "error" as '
            "a quantity (mean squared error, error rate, error bars) does not count.",
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
            what="A cell that holds only whitespace: an empty markdown or raw cell, or an empty code cell after another "
            "code cell or at the top. One finding per notebook, at the first such cell, listing the others (`--fix` "
            "removes them all). Not reported: an empty code cell right after a markdown cell (the answer slot of an "
            "exercise), a code cell with outputs (its code was removed on purpose, as in a solutions sheet) and a "
            "markdown cell with attachments.",
            why="Noise in reviews and diffs; an empty code cell also gets an execution count and makes counts harder to read.",
            bad="x = 1\n# (then a code cell with nothing in it)",
            good="x = 1\n# (the empty cell deleted)",
            fix="`nb2prod lint --fix` removes the empty cells this rule reports, and only those.",
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
            what="A code cell with more than `max-cell-lines` (default 40) lines of code that chains several steps. A "
            "line of code is one where a statement starts: a statement spread over several lines (a long list, a call "
            "with one argument per line) counts once; blank lines, comments and docstrings do not count. Not reported: "
            "cells that do not parse, cells of a non-Python cell magic (`%%writefile`, `%%bash`, `%%html`…), cells that "
            "only define functions and classes, a single loop, `with` block, class or function, and a cell that draws "
            "one figure (most of its statements call matplotlib, seaborn or plotly).",
            why="Long cells mix several steps; they cannot be exported or tested piece by piece and hide where a result comes from.",
            bad="# one 120-line cell that loads, cleans, trains and plots",
            good="# a cell per step, or functions that each do one thing",
            fix="Split the cell or move code into functions. Set `max-cell-lines` in [tool.nb2prod.lint]. Not auto-fixable.",
            limits="Heuristic: a figure is recognised by the names its calls go through (`plt`, `ax`, `fig`, `sns`, "
            "`px`, `go`, or a matplotlib/seaborn/plotly import).",
        ),
    ),
    Rule(
        "NB504",
        "no-title",
        Severity.INFO,
        "no markdown title among the first cells",
        check_title,
        RuleDoc(
            what="None of the first three cells is a markdown cell with a heading: `#` to `######`, a setext heading "
            "(a line underlined with `===` or `---`), an HTML `<h1>`-`<h6>` or a first line in bold. Setup code cells "
            "above the title (installs, imports, magics) and empty cells are not counted. Not reported: a notebook "
            "that opens with a markdown cell (it says what the notebook is, heading or not) and a notebook with fewer "
            "than 3 code cells (a script needs no title).",
            why="The title is what a reader, a notebook index and the exported package's model card start from.",
            bad="import pandas as pd\ndf = pd.read_csv(path)\nmodel = train(df)\nscore(model)",
            good="# Churn model\nTrains and evaluates the churn classifier.",
            fix="Add a markdown cell with a `# Title` at the top. Not auto-fixable.",
            limits="Headings inside fenced code blocks are comments, not titles.",
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
            what="A file named `Untitled*.ipynb` (Jupyter's default), or marked as a copy: `-Copy1` (Jupyter), "
            "`Copy of …` (Colab), `… copy.ipynb` / `… copy 2.ipynb` (Finder, Explorer). Spaces and other characters are "
            "a naming convention of many projects and are not reported.",
            why="Default and copy names say nothing about the content; a copy beside its original means two versions of "
            "the same work, and nobody knows which one is current.",
            bad="Untitled-Copy1.ipynb, analysis-Copy1.ipynb, Copy of analysis.ipynb, analysis copy.ipynb",
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
            what="A notebook with code but without `metadata.kernelspec`, or whose code is not Python 3: another language, "
            "or Python 2. "
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
