"""NB2 — ready for export and runs: cells that would break ``nb2prod export`` or a parametrised run."""

from __future__ import annotations

import ast
import collections
from collections.abc import Iterator

from ..context import LintContext
from ..ipython import EXPORT_DROPPED_LINE_MAGICS, EXPORT_UNWRAPPED_MAGICS
from ..rule import Hit, Rule, RuleDoc, Severity
from .order import _cells_list, _name_hit

#: Last name of calls that do real work when a module is imported (train, read, plot, print…).
_WORK_CALLS = frozenset(
    {
        "fit", "fit_transform", "fit_predict", "train", "predict", "evaluate", "score", "cross_val_score",
        "read_csv", "read_parquet", "read_json", "read_excel", "read_sql", "read_table", "read_pickle", "read_feather",
        "load", "loadtxt", "genfromtxt", "load_dataset", "load_model", "load_data", "open", "urlopen", "download",
        "plot", "show", "savefig", "imshow", "hist", "scatter", "print", "display", "to_csv", "to_parquet", "save",
        "dump", "connect", "execute", "sleep", "run", "system",
    }
)  # fmt: skip


def _export_cells(ctx: LintContext) -> list[int]:
    return sorted(ctx.export_cells) if ctx.is_python else []


def check_needs_unexported(ctx: LintContext) -> Iterator[Hit]:
    """NB201: an exported cell uses a name only non-exported cells define."""
    if not ctx.export_cells or not ctx.is_python:
        return
    for issue in ctx.flow.defined_only_outside(set(ctx.export_cells)):
        where = _cells_list(issue.defined_in)
        yield _name_hit(issue, f"'{issue.name}' is defined only in {where}, which is not exported: the module would raise NameError")


def check_magic_in_export(ctx: LintContext) -> Iterator[Hit]:
    """NB202: a magic or shell command that export cannot turn into plain Python."""
    for index in _export_cells(ctx):
        for magic in ctx.transformed[index].magics:
            if magic.kind == "line" and magic.name in EXPORT_DROPPED_LINE_MAGICS | EXPORT_UNWRAPPED_MAGICS:
                continue
            if magic.kind == "cell" and magic.name == "time":
                continue
            shown = {"shell": "shell command", "help": "help request", "cell": f"cell magic %%{magic.name}"}.get(
                magic.kind, f"magic %{magic.name}"
            )
            yield Hit(index, f"{shown} in a cell bound for export: a module cannot run it; use plain Python", magic.line)


def _work_call(node: ast.AST) -> str | None:
    todo = collections.deque([node])
    while todo:
        inner = todo.popleft()
        if isinstance(inner, ast.Lambda):
            continue  # its body runs when the lambda is called, not at import
        todo.extend(ast.iter_child_nodes(inner))
        if isinstance(inner, ast.Call):
            func = inner.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
            if name in _WORK_CALLS:
                return name
    return None


def _import_time_work(body: list[ast.stmt]) -> Iterator[tuple[ast.stmt, str]]:
    for node in body:
        if isinstance(node, ast.Expr):
            if isinstance(node.value, ast.Constant):
                continue  # docstrings, `...`
            yield node, "a top-level expression"
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith)):
            yield node, f"a top-level `{type(node).__name__.lower().replace('async', 'async ')}` block"
        elif isinstance(node, ast.If):
            test = node.test
            if (
                isinstance(test, ast.Compare)
                and isinstance(test.left, ast.Name)
                and test.left.id == "__name__"
                and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators)
            ):
                continue
            yield from _import_time_work(node.body + node.orelse)
        elif isinstance(node, ast.Try):
            yield from _import_time_work(node.body + node.orelse + node.finalbody)
            for handler in node.handlers:
                yield from _import_time_work(handler.body)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and node.value is not None:
            name = _work_call(node.value)
            if name:
                yield node, f"a top-level call to {name}()"


def check_import_time_work(ctx: LintContext) -> Iterator[Hit]:
    """NB203: an exported cell does work when the module is imported."""
    for index in _export_cells(ctx):
        tree = ctx.trees.get(index)
        if tree is None:
            continue
        for node, what in _import_time_work(tree.body):
            yield Hit(
                index,
                f"{what} runs whenever the module is imported; put it in a function (or a `main` cell)",
                node.lineno,
                node.col_offset + 1,
            )


def _is_literal(node: ast.expr) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _parameter_cells(ctx: LintContext) -> list[int]:
    return [cell.index for cell in ctx.code_cells() if "parameters" in cell.roles]


def check_parameters_literal(ctx: LintContext) -> Iterator[Hit]:
    """NB204: the parameters cell holds something other than literal assignments."""
    if not ctx.is_python:
        return
    for index in _parameter_cells(ctx):
        magic_lines: set[int] = set()
        for magic in ctx.transformed[index].magics:
            magic_lines.add(magic.line)
            yield Hit(index, "the parameters cell holds IPython syntax; keep only `name = literal` lines", magic.line)
        tree = ctx.trees.get(index)
        if tree is None:
            if ctx.transformed[index].analyzable and not ctx.transformed[index].magics:
                line, column, _ = ctx.flow.cells[index].syntax_error or (1, None, "")
                yield Hit(index, "the parameters cell does not parse as Python", line, column)
            continue
        for node in tree.body:
            if node.lineno in magic_lines:
                continue  # the `pass` or `x = None` a magic became: reported above
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                value: ast.expr | None = node.value
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                value = node.value
            else:
                yield Hit(index, "only `name = literal` assignments belong in the parameters cell", node.lineno, node.col_offset + 1)
                continue
            if value is None:
                yield Hit(index, "a parameter needs a default value", node.lineno, node.col_offset + 1)
            elif not _is_literal(value):
                yield Hit(
                    index,
                    "a parameter's default must be a literal (number, string, bool, None, list, dict) so runs can override and type it",
                    value.lineno,
                    value.col_offset + 1,
                )


def check_several_parameter_cells(ctx: LintContext) -> Iterator[Hit]:
    """NB205: more than one parameters cell."""
    cells = _parameter_cells(ctx)
    for index in cells[1:]:
        yield Hit(index, f"a second parameters cell (the first is cell {cells[0] + 1}); papermill injects after the first only")


#: Last names of calls that set a session up rather than do the notebook's work: a setup section may hold them.
_SETUP_CALLS = frozenset(
    {
        "filterwarnings", "simplefilter", "append", "insert", "set_option", "use", "set", "set_theme", "set_style",
        "set_context", "set_palette", "load_dotenv", "set_printoptions", "basicConfig", "setLevel", "download",
        "seed", "manual_seed", "set_seed", "seed_everything", "set_random_seed", "disable_eager_execution",
        "enable_eager_execution", "register_matplotlib_converters", "init_notebook_mode", "output_notebook",
        "config_context", "set_config", "chdir", "makedirs", "mkdir", "rc", "update", "set_matplotlib_formats",
    }
)  # fmt: skip


def _is_setup_statement(node: ast.stmt) -> bool:
    """An import, a docstring, a magic (``pass`` once transformed), or a call / assignment that sets the session up."""
    if isinstance(node, (ast.Import, ast.ImportFrom, ast.Pass, ast.Assert)):
        return True  # an assert at the top checks versions: `assert sklearn.__version__ >= "1.0"`
    if isinstance(node, ast.Expr):
        value = node.value
        if isinstance(value, ast.Constant):
            return True
        if isinstance(value, ast.Call):
            func = value.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
            return name in _SETUP_CALLS
        return False
    if isinstance(node, ast.Assign):
        # os.environ["X"] = ..., plt.rcParams["figure.dpi"] = ..., pd.options.display.max_rows = ...
        return all(isinstance(target, (ast.Subscript, ast.Attribute)) for target in node.targets)
    if isinstance(node, ast.Try):
        return all(_is_setup_statement(inner) for inner in node.body)  # try: import x / except ImportError
    return False


def check_scattered_imports(ctx: LintContext) -> Iterator[Hit]:
    """NB206: in the cells bound for export, imports after the first cell that does other work; one finding per notebook.

    Only exported cells matter: they become the module, where a late import is a hidden dependency.
    A notebook that exports nothing is not checked: textbooks and courses import where a name is
    first used, on purpose. The setup section at the top is every exported cell before the first
    one that does more than import and set up (``warnings.filterwarnings``, ``sys.path.append``,
    ``os.environ[...] = ...``, magics…), however many cells and markdown cells it spans.
    """
    if not ctx.is_python or not ctx.export_cells:
        return
    started = False
    late: list[tuple[int, list[ast.Import | ast.ImportFrom]]] = []
    for index in sorted(ctx.export_cells):
        tree = ctx.trees.get(index)
        if tree is None:
            continue
        if not started:
            started = not all(_is_setup_statement(node) for node in tree.body)
            continue
        imports = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
        if imports:
            late.append((index, imports))
    if not late:
        return
    index, imports = late[0]
    names = sorted({alias.asname or alias.name for node in imports for alias in node.names})
    shown = ", ".join(names[:4]) + (", …" if len(names) > 4 else "")
    others = [other for other, _ in late[1:]]
    more = f" (and in {_cells_list(others)})" if others else ""
    message = f"import of {shown} below the exported code{more}: gather the module's imports in its first exported cell"
    yield Hit(index, message, imports[0].lineno, 1)


def check_relative_import(ctx: LintContext) -> Iterator[Hit]:
    """NB207: a relative import in an exported cell."""
    for index in _export_cells(ctx):
        tree = ctx.trees.get(index)
        if tree is None:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level:
                target = "." * node.level + (node.module or "")
                message = f"relative import from '{target}': the exported module's package is not known; import absolutely"
                yield Hit(index, message, node.lineno, node.col_offset + 1)


def check_export_syntax(ctx: LintContext) -> Iterator[Hit]:
    """NB208: an exported cell does not parse."""
    for index in _export_cells(ctx):
        error = ctx.flow.cells[index].syntax_error
        if error is not None:
            line, column, message = error
            yield Hit(index, f"does not parse as Python: {message}", line, column)


def check_duplicate_export_names(ctx: LintContext) -> Iterator[Hit]:
    """NB209: two exported cells define the same top-level name."""
    first: dict[str, int] = {}
    for index in _export_cells(ctx):
        flow = ctx.flow.cells[index]
        for name, line in flow.defines.items():
            if name in flow.imports:
                continue
            if name in first:
                message = f"'{name}' is also defined by cell {first[name] + 1}, which is exported too; this later definition wins"
                yield Hit(index, message, line)
            else:
                first[name] = index


RULES: tuple[Rule, ...] = (
    Rule(
        "NB201",
        "export-needs-unexported",
        Severity.ERROR,
        "an exported cell uses a name defined only in cells that are not exported",
        check_needs_unexported,
        RuleDoc(
            what="A cell bound for export uses a name that only non-exported cells define.",
            why="The exported module contains the exported cells only: importing or calling it raises NameError.",
            bad="# cell 1 (not exported)\nimport numpy as np\n# cell 2 (#| export)\ndef scale(x):\n    return np.asarray(x) / 2",
            good="# cell 1 (#| export)\nimport numpy as np\n# cell 2 (#| export)\ndef scale(x):\n    return np.asarray(x) / 2",
            fix="Export the cell that defines the name (often the imports cell), or move the definition into an exported "
            "cell. Not auto-fixable.",
            limits="A name that reaches the module through `from x import *` cannot be seen.",
        ),
    ),
    Rule(
        "NB202",
        "magic-in-export",
        Severity.ERROR,
        "an IPython magic or !shell command in a cell bound for export",
        check_magic_in_export,
        RuleDoc(
            what=(
                "A shell command (`!cmd`), a cell magic or a line magic in a cell bound for export. Display-only magics "
                "(`%matplotlib`, `%load_ext`, `%autoreload`, `%config`) and timing (`%time`, `%timeit`, `%%time`) are not "
                "reported: export drops them or keeps their statement."
            ),
            why="A Python module cannot run IPython syntax; `jupyter nbconvert --to script` turns it into get_ipython() "
            "calls that fail outside IPython.",
            bad="#| export\n!pip install lightgbm\nimport lightgbm",
            good="#| export\nimport lightgbm  # declared as a dependency of the project",
            fix="Replace the magic with Python (subprocess.run for a command), or move it to a cell that is not exported. "
            "Not auto-fixable.",
        ),
    ),
    Rule(
        "NB203",
        "import-time-work",
        Severity.WARNING,
        "an exported cell does work when the module is imported",
        check_import_time_work,
        RuleDoc(
            what="Top-level statements in an exported cell that do work: calls, loops, `with` blocks, assignments from calls "
            "that train, read files, plot or print.",
            why="Everything at the top level runs whenever the module is imported: the entry point's `--help`, a test, "
            "another module's import would all train a model or read data.",
            bad="#| export\ndf = pd.read_csv('data.csv')\nmodel = RandomForestClassifier().fit(df[X], df[y])",
            good="#| export\ndef train(df):\n    return RandomForestClassifier(random_state=0).fit(df[X], df[y])",
            fix="Wrap the work in a function and call it from a `main` cell. Not auto-fixable.",
            limits="A heuristic: an assignment counts as work only if it calls a name from a list (fit, read_csv, load, "
            "open, plot, print…); other expensive calls are missed, and `if __name__ == '__main__':` blocks are allowed.",
        ),
    ),
    Rule(
        "NB204",
        "parameters-not-literal",
        Severity.ERROR,
        "the parameters cell holds anything but simple assignments of literals",
        check_parameters_literal,
        RuleDoc(
            what="A statement in the `parameters` cell that is not `name = literal` (or `name: type = literal`).",
            why="Runs override parameters by name and type them from their defaults; a computed default cannot be typed, "
            "and papermill injects overrides after the cell, so code in it runs with the old values.",
            bad="#| parameters\nseed = 42\noutput_dir = Path('out') / str(seed)",
            good="#| parameters\nseed = 42\noutput_dir = 'out'",
            fix="Keep literal defaults in the parameters cell and compute derived values in the next cell. Not auto-fixable.",
        ),
    ),
    Rule(
        "NB205",
        "several-parameters-cells",
        Severity.ERROR,
        "more than one parameters cell",
        check_several_parameter_cells,
        RuleDoc(
            what="More than one cell tagged or marked `parameters`.",
            why="papermill injects the run's values after the first parameters cell only; a second one silently resets them.",
            bad="#| parameters\nseed = 0\n# … later …\n#| parameters\nlr = 0.1",
            good="#| parameters\nseed = 0\nlr = 0.1",
            fix="Merge the parameters into one cell. Not auto-fixable.",
        ),
    ),
    Rule(
        "NB206",
        "scattered-imports",
        Severity.WARNING,
        "imports scattered through the cells bound for export",
        check_scattered_imports,
        RuleDoc(
            what="In a notebook that exports cells, an import in an exported cell below the first exported cell that does "
            "more than import and set up. One finding per notebook, at the first late import, listing the other cells. "
            "The setup section at the top may span several cells (with markdown between) and hold setup calls "
            "(`warnings.filterwarnings`, `sys.path.append`, `os.environ[...] = ...`, `pd.set_option`, magics).",
            why="The exported module gets its imports in the middle of its code: a dependency hidden below the code that "
            "needs it at import time, missed by a reader and by tools that list a module's imports from its top.",
            bad="# cell 1 (#| export)\nimport pandas as pd\ndf = pd.read_csv(path)\n# cell 5 (#| export)\n"
            "from sklearn.metrics import f1_score",
            good="# cell 1 (#| export)\nimport pandas as pd\nfrom sklearn.metrics import f1_score",
            fix="Move the import to the imports in the first exported cell. Not auto-fixable.",
            limits="Notebooks that export nothing are not checked (importing where a name is first used is how "
            "textbooks and courses are written). Imports inside functions are not reported; a first cell that mixes "
            "imports and code counts as part of the top.",
        ),
    ),
    Rule(
        "NB207",
        "relative-import-in-export",
        Severity.ERROR,
        "a relative import in a cell bound for export",
        check_relative_import,
        RuleDoc(
            what="`from . import x` or `from .mod import y` in a cell bound for export.",
            why="The notebook has no package, so the import fails in the notebook, and in the exported module it depends "
            "on where the module lands in the package.",
            bad="#| export\nfrom .features import scale",
            good="#| export\nfrom mypkg.features import scale",
            fix="Import absolutely, by the package name. Not auto-fixable.",
        ),
    ),
    Rule(
        "NB208",
        "export-syntax-error",
        Severity.ERROR,
        "a cell bound for export does not parse as Python",
        check_export_syntax,
        RuleDoc(
            what="A cell bound for export that is not valid Python once IPython syntax is accounted for.",
            why="The exported module would not import.",
            bad="#| export\ndef f(:\n    pass",
            good="#| export\ndef f():\n    pass",
            fix="Fix the syntax error. Not auto-fixable.",
        ),
    ),
    Rule(
        "NB209",
        "duplicate-export-name",
        Severity.WARNING,
        "two cells bound for export define the same top-level name",
        check_duplicate_export_names,
        RuleDoc(
            what="The same top-level name defined (assigned, def or class) by two exported cells; imports are not counted.",
            why="In the module the later definition silently replaces the earlier one, as in the notebook; usually one of "
            "them is a stale draft.",
            bad="#| export\ndef load(path): ...\n#| export\ndef load(path, sep=','): ...",
            good="#| export\ndef load(path, sep=','): ...",
            fix="Delete or rename one definition. Not auto-fixable.",
        ),
    ),
)
