"""IPython syntax -> Python, line for line: what is replaced, what is kept, what is bound."""

from __future__ import annotations

import ast

import pytest

from nb2prod.lint.ipython import Magic, transform_cell


def magics(source: str) -> list[tuple[int, str, str, str]]:
    """The magics found in a cell as plain tuples: (line, kind, name, args)."""
    return [(m.line, m.kind, m.name, m.args) for m in transform_cell(source).magics]


@pytest.mark.parametrize(
    ("source", "python"),
    [
        pytest.param("%matplotlib inline\nx = 1", "pass\nx = 1", id="line-magic"),
        pytest.param("!pip install numpy", "pass", id="shell"),
        pytest.param("!!ls", "pass", id="shell-capture"),
        pytest.param("files = !ls *.csv", "files = None", id="shell-assign"),
        pytest.param("a, b = !ls", "a, b = None", id="shell-assign-tuple"),
        pytest.param("self.x = !ls", "self.x = None", id="shell-assign-attribute"),
        pytest.param("names = %who_ls", "names = None", id="magic-assign"),
        pytest.param("df?", "pass", id="help-end"),
        pytest.param("df.head??", "pass", id="help-end-double"),
        pytest.param("?df", "pass", id="help-start"),
        pytest.param("%pinfo df", "pass", id="pinfo"),
        pytest.param("%time y = f(x)", "y = f(x)", id="time-keeps-statement"),
        pytest.param("%timeit -n 10 -r 3 f(x)", "f(x)", id="timeit-options-dropped"),
        pytest.param("%timeit -n10 -r3 -q f(x)", "f(x)", id="timeit-attached-options"),
        pytest.param("%prun -s cumulative -l 5 main()", "main()", id="prun-options-dropped"),
        pytest.param("%time", "pass", id="time-without-statement"),
        pytest.param("%time for i in r: f(i)", "for i in r: f(i)", id="time-compound-one-line"),
        pytest.param("%time f(1,\n2)", "pass\n2)", id="time-statement-must-parse-alone"),
        pytest.param("r = %timeit -o f(x)", "r =            f(x)", id="timeit-assign-keeps-expression-columns"),
        pytest.param("%store -r model scaler", "model = scaler = None", id="store-restore-binds"),
        pytest.param("%store model", "pass", id="store-save-binds-nothing"),
        pytest.param("%sql result << SELECT 1", "result = None", id="sql-target"),
        pytest.param("%R -o frame", "frame = None", id="rpy2-output"),
        pytest.param(
            "for f in files:\n    %time process(f)\n    !echo $f", "for f in files:\n    process(f)\n    pass", id="indented-magics"
        ),
        pytest.param("if ok:\n    x = !ls\n    y? ", "if ok:\n    x = None\n    pass", id="indented-assign-and-help"),
        pytest.param("%pip install a \\\n    b\nx = 1", "pass\n\nx = 1", id="magic-continuation"),
        pytest.param("!ls \\\n  -la", "pass\n", id="shell-continuation"),
        pytest.param("%time x = f(1, \\\n  2)", "x = f(1, \\\n  2)", id="time-continuation-kept"),
        pytest.param("a % b\n'%d' % x\ny = 10 % 3", "a % b\n'%d' % x\ny = 10 % 3", id="modulo-is-not-a-magic"),
        pytest.param("x = {'a': 1,\n%time\n}", "x = {'a': 1,\n%time\n}", id="inside-brackets-not-a-magic"),
        pytest.param("# %matplotlib inline\n# !ls", "# %matplotlib inline\n# !ls", id="comments-not-magics"),
        pytest.param('s = """\n%time x\n!ls\nx?\n"""\n%ls', 's = """\n%time x\n!ls\nx?\n"""\npass', id="triple-quoted-string"),
        pytest.param("s = '''a\\\n%ls'''\n!ls", "s = '''a\\\n%ls'''\npass", id="triple-quoted-single"),
        pytest.param("s = 'a\\\n%ls'\n!ls", "s = 'a\\\n%ls'\npass", id="backslash-continued-string"),
        pytest.param("s = 'why?'", "s = 'why?'", id="question-mark-in-string"),
        pytest.param("x = 1  # really?", "x = 1  # really?", id="question-mark-in-comment"),
        pytest.param("x != 1\nx %= 2", "x != 1\nx %= 2", id="operators-starting-with-escapes"),
        pytest.param("    x = 1\n    y = 2", "x = 1\ny = 2", id="leading-indent-removed"),
        pytest.param(">>> x = 1\n... y = x", "x = 1\ny = x", id="classic-prompt"),
        pytest.param("In [1]: x = 1", "x = 1", id="ipython-prompt"),
        pytest.param("/f a b", "f(a, b)", id="autocall-paren"),
        pytest.param(",f a b", "f()", id="autocall-quote"),
        pytest.param("x = 1\n%%bash\nls", "x = 1\npass\nls", id="cell-magic-below-first-line"),
        pytest.param("x = 1\r\ny = 2\r\n", "x = 1\ny = 2\n", id="crlf"),
    ],
)
def test_transform(source: str, python: str) -> None:
    result = transform_cell(source)
    assert result.python == python
    assert len(result.python.split("\n")) == len(source.split("\n"))


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param("%matplotlib inline", [(1, "line", "matplotlib", "inline")], id="line"),
        pytest.param("x = 1\n!pip install -q x", [(2, "shell", "", "pip install -q x")], id="shell"),
        pytest.param("files = !ls", [(1, "shell", "", "ls")], id="shell-assign"),
        pytest.param("v = %env HOME", [(1, "line", "env", "HOME")], id="magic-assign"),
        pytest.param("df.head?", [(1, "help", "", "df.head")], id="help-end"),
        pytest.param("??df", [(1, "help", "", "df")], id="help-start"),
        pytest.param("%time?", [(1, "help", "", "%time")], id="help-on-magic"),
        pytest.param("%%capture out\nx = 1\n!ls", [(1, "cell", "capture", "out"), (3, "shell", "", "ls")], id="cell-then-body"),
        pytest.param("%pip install a \\\n  b", [(1, "line", "pip", "install a    b")], id="continuation-joined"),
        pytest.param("\n\n%%bash\nls", [(3, "cell", "bash", "")], id="cell-magic-after-blank-lines"),
        pytest.param("/f a", [(1, "autocall", "f", "a")], id="autocall"),
    ],
)
def test_magics_found(source: str, expected: list[tuple[int, str, str, str]]) -> None:
    assert magics(source) == expected


@pytest.mark.parametrize(
    ("source", "bound"),
    [
        pytest.param("x = !ls", (("x", 1),), id="shell-assign"),
        pytest.param("a, (b, *c) = !ls", (("a", 1), ("b", 1), ("c", 1)), id="unpacking"),
        pytest.param("x: list = %sx ls", (("x", 1),), id="annotated"),
        pytest.param("obj.attr = !ls", (), id="attribute-binds-no-name"),
        pytest.param("%%capture out\nprint(1)", (("out", 1),), id="capture"),
        pytest.param("%%capture --no-stderr out\nprint(1)", (("out", 1),), id="capture-with-options"),
        pytest.param("%%capture\nprint(1)", (), id="capture-without-name"),
        pytest.param("x = 1\n%store -r model", (("model", 2),), id="store-restore"),
        pytest.param("%store -d model", (), id="store-delete"),
        pytest.param("%%bash --out listing --err=errors\nls", (("listing", 1), ("errors", 1)), id="script-outputs"),
        pytest.param("%%R -o df,fit -i x\nfit <- lm(y ~ x)", (("df", 1), ("fit", 1)), id="rpy2-outputs"),
        pytest.param("%%sql rows <<\nSELECT 1", (("rows", 1),), id="sql"),
        pytest.param(
            "%%cython\ndef fib(n):\n    pass\ncpdef int twice(int x):\n    return 2 * x\ncdef class Box:\n    pass",
            (("fib", 1), ("twice", 1), ("Box", 1)),
            id="cython",
        ),
        pytest.param("%time y = f()", (), id="time-statement-is-ordinary-code"),
    ],
)
def test_bound_names(source: str, bound: tuple[tuple[str, int], ...]) -> None:
    assert transform_cell(source).bound_names == bound


NON_PYTHON_CELL_MAGICS = ["bash", "sh", "script python", "html", "javascript", "js", "latex", "markdown", "svg", "sql", "R", "perl"]
NON_PYTHON_CELL_MAGICS += ["ruby", "writefile out.py", "python3", "cython", "unknown_magic"]


@pytest.mark.parametrize("magic", NON_PYTHON_CELL_MAGICS)
def test_non_python_cell_bodies_are_blanked(magic: str) -> None:
    result = transform_cell(f"%%{magic}\nx = 1\nfor i in $(ls); do echo $i; done")
    assert not result.analyzable
    assert result.python == "pass\n\n"
    assert result.cell_magic == Magic(1, "cell", magic.split()[0], " ".join(magic.split()[1:]))


@pytest.mark.parametrize("magic", ["time", "timeit", "capture", "capture out", "prun", "debug"])
def test_python_cell_bodies_are_kept(magic: str) -> None:
    result = transform_cell(f"%%{magic}\nx = f()\n!ls")
    assert result.analyzable
    assert result.python == "pass\nx = f()\npass"


def test_cell_magic_body_is_dedented_like_ipython_does() -> None:
    assert transform_cell("%%time\n    x = 1\n    y = 2").python == "pass\nx = 1\ny = 2"


def test_timeit_first_line_statement_is_setup_code() -> None:
    result = transform_cell("%%timeit -n 1 data = load()\nprocess(data)")
    assert result.python == "data = load()\nprocess(data)"
    assert result.timeit_spans == ((1, 2),)
    assert result.original_column(1, 1) == len("%%timeit -n 1 ") + 1


def test_timeit_spans_mark_code_run_in_a_throwaway_function() -> None:
    assert transform_cell("x = 1\n%timeit y = x\n%time z = x").timeit_spans == ((2, 2),)


@pytest.mark.parametrize(
    ("source", "unknown"),
    [("%run helpers.py", True), ("%pylab inline", True), ("%store -r", True), ("%rerun 3", True), ("%store -r x", False), ("%ls", False)],
)
def test_unknown_bindings(source: str, unknown: bool) -> None:
    assert transform_cell(source).unknown_bindings is unknown


def test_columns_map_back_to_the_cell() -> None:
    source = "for i in r:\n    %time y = f(i)"
    result = transform_cell(source)
    tree = ast.parse(result.python)
    call = tree.body[0].body[0].value
    assert result.python.split("\n")[1][call.col_offset :].startswith("f(i)")
    assert result.original_column(2, call.col_offset + 1) == source.split("\n")[1].index("f(i)") + 1


def test_dedent_columns_map_back() -> None:
    result = transform_cell("  x = y")
    assert result.python == "x = y"
    assert result.original_column(1, 5) == 7


def test_plain_python_is_untouched() -> None:
    source = "import os\n\ndef f(a, b=2):\n    '''doc?'''\n    return a % b\n"
    result = transform_cell(source)
    assert result.python == source
    assert result.magics == ()
    assert result.analyzable


def test_help_that_ipython_would_not_accept_is_left_for_the_parser() -> None:
    assert transform_cell("x = 'a'?").python == "x = 'a'?"


def test_empty_and_blank_cells() -> None:
    assert transform_cell("").python == ""
    assert transform_cell("\n  \n").python == "\n  \n"
