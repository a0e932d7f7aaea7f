"""Definition/use analysis of cells and notebooks (the ground of NB104, NB105, NB201 and export)."""

from __future__ import annotations

import pickle
import subprocess
import sys
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nb2prod.lint.dataflow import (
    BUILTIN_NAMES,
    IPYTHON_NAMES,
    NameIssue,
    Use,
    analyze_cell,
    analyze_notebook,
    is_predefined,
)
from nb2prod.lint.ipython import transform_cell

needs_type_statement = pytest.mark.skipif(sys.version_info < (3, 12), reason="`type` statements parse from Python 3.12")


def free(source: str, deferred: bool = False) -> set[str]:
    """The cell's free reads of non-builtin names, immediate or deferred."""
    return {use.name for use in analyze_cell(source).uses if use.deferred is deferred and use.name not in BUILTIN_NAMES}


# (source, defines, immediate free reads, deferred free reads)
CONSTRUCTS = [
    # imports
    pytest.param("import a.b", {"a"}, set(), set(), id="import-dotted-binds-head"),
    pytest.param("import a.b as c", {"c"}, set(), set(), id="import-as"),
    pytest.param("from x import y as z, w", {"z", "w"}, set(), set(), id="from-import"),
    pytest.param("from . import sibling", {"sibling"}, set(), set(), id="relative-import"),
    pytest.param("from x import *", set(), set(), set(), id="star-import"),
    # assignments
    pytest.param("a, (b, *c) = d", {"a", "b", "c"}, {"d"}, set(), id="unpacking-and-starred"),
    pytest.param("[a, b] = d", {"a", "b"}, {"d"}, set(), id="list-target"),
    pytest.param("a = b = c", {"a", "b"}, {"c"}, set(), id="chained"),
    pytest.param("a.b = 1", set(), {"a"}, set(), id="attribute-target-uses"),
    pytest.param("a[i] = 1", set(), {"a", "i"}, set(), id="subscript-target-uses"),
    pytest.param("x += 1", {"x"}, {"x"}, set(), id="augmented-uses-and-defines"),
    pytest.param("x = 0\nx += 1", {"x"}, set(), set(), id="augmented-after-binding"),
    pytest.param("a.total += n", set(), {"a", "n"}, set(), id="augmented-attribute"),
    pytest.param("x: Model", set(), {"Model"}, set(), id="annotation-without-value-binds-nothing"),
    pytest.param("x: Model = make()", {"x"}, {"Model", "make"}, set(), id="annotated-assignment"),
    pytest.param("from __future__ import annotations\nx: Model = 1", {"annotations", "x"}, set(), set(), id="postponed-annotations"),
    pytest.param("if (n := size(a)) > 1:\n    pass", {"n"}, {"size", "a"}, set(), id="walrus"),
    pytest.param("[y := f(v) for v in data]", {"y"}, {"f", "data"}, set(), id="walrus-in-comprehension-binds-module"),
    pytest.param("print(x := 1, x)", {"x"}, set(), set(), id="walrus-then-read"),
    # functions
    pytest.param(
        "def f(p=default, *args, q: Ann = 2, **kw) -> Ret:\n    return p + q + args + kw + free_name",
        {"f"},
        {"default", "Ann", "Ret"},
        {"free_name"},
        id="function-definition-time-vs-body",
    ),
    pytest.param("@deco(arg)\ndef f():\n    pass", {"f"}, {"deco", "arg"}, set(), id="decorator"),
    pytest.param("def f():\n    local = 1\n    return local", {"f"}, set(), set(), id="function-locals"),
    pytest.param("def f():\n    print(late)\n    late = 1", {"f"}, set(), set(), id="local-anywhere-in-function"),
    pytest.param("def f():\n    global counter\n    counter = 1", {"f", "counter"}, set(), set(), id="global-defines"),
    pytest.param("def f():\n    global counter\n    return counter", {"f"}, set(), {"counter"}, id="global-read"),
    pytest.param(
        "def outer():\n    v = 1\n    def inner():\n        nonlocal v\n        v = 2\n        return v + w\n    return inner",
        {"outer"},
        set(),
        {"w"},
        id="nonlocal-and-closure",
    ),
    pytest.param("async def f():\n    async for i in src():\n        await i", {"f"}, set(), {"src"}, id="async-function"),
    pytest.param("def f():\n    import os\n    return os", {"f"}, set(), set(), id="import-in-function-is-local"),
    pytest.param("f = lambda a, b=dflt: a + b + g", {"f"}, {"dflt"}, {"g"}, id="lambda"),
    pytest.param("f = lambda: (y := 1) + y", {"f"}, set(), set(), id="walrus-in-lambda-is-local"),
    pytest.param("def f():\n    return later\nlater = 1", {"f", "later"}, set(), set(), id="deferred-read-of-name-bound-later"),
    # classes
    pytest.param(
        "class C(Base, metaclass=Meta):\n    attr = value\n    other = attr\n    def m(self):\n        return attr",
        {"C"},
        {"Base", "Meta", "value"},
        {"attr"},
        id="class-body-runs-now-methods-later",
    ),
    pytest.param("class C:\n    a = 1\n    b = [a for _ in range(2)]", {"C"}, {"a"}, set(), id="class-scope-invisible-in-comprehension"),
    pytest.param("class C:\n    a = 1\n    b = [x for x in a]", {"C"}, set(), set(), id="class-scope-first-iterable"),
    pytest.param("class C:\n    x = C", {"C"}, {"C"}, set(), id="class-name-bound-after-body"),
    # comprehensions
    pytest.param("[i * k for i in items if i]", set(), {"k", "items"}, set(), id="list-comprehension"),
    pytest.param("[j for i in rows for j in i]", set(), {"rows"}, set(), id="nested-comprehension"),
    pytest.param("{k: v for k, v in pairs}", set(), {"pairs"}, set(), id="dict-comprehension"),
    pytest.param("{s for s in words}", set(), {"words"}, set(), id="set-comprehension"),
    pytest.param("total = sum(x for x in xs)", {"total"}, {"xs"}, set(), id="generator-expression"),
    pytest.param("[i for i in range(3)]\nprint(i)", set(), {"i"}, set(), id="comprehension-variable-does-not-leak"),
    # loops and blocks
    pytest.param("for i, (j, k) in pairs:\n    pass", {"i", "j", "k"}, {"pairs"}, set(), id="for-targets"),
    pytest.param("for i in r:\n    pass\nelse:\n    done = True", {"i", "done"}, {"r"}, set(), id="for-else"),
    pytest.param("async for i in src:\n    pass", {"i"}, {"src"}, set(), id="async-for"),
    pytest.param("for i in r:\n    if i:\n        print(prev)\n    prev = i", {"i", "prev"}, {"r"}, set(), id="loop-carried"),
    pytest.param("while cond():\n    z = 1", {"z"}, {"cond"}, set(), id="while"),
    pytest.param("while n < 3:\n    n = n + 1", {"n"}, {"n"}, set(), id="while-test-runs-first"),
    pytest.param("with open(p) as fh, lock:\n    pass", {"fh"}, {"p", "lock"}, set(), id="with"),
    pytest.param("with ctx() as (a, b):\n    pass", {"a", "b"}, {"ctx"}, set(), id="with-tuple-target"),
    pytest.param("async with ctx() as c:\n    pass", {"c"}, {"ctx"}, set(), id="async-with"),
    pytest.param("try:\n    risky()\nexcept ValueError as err:\n    log(err)", set(), {"risky", "log"}, set(), id="except-as-is-deleted"),
    pytest.param("try:\n    pass\nexcept E as err:\n    pass\nprint(err)", set(), {"E", "err"}, set(), id="except-name-gone-after-block"),
    pytest.param(
        "try:\n    a = 1\nexcept E:\n    b = 2\nelse:\n    c = 3\nfinally:\n    d = 4\nprint(a, b, c, d)",
        {"a", "b", "c", "d"},
        {"E"},
        set(),
        id="try-except-else-finally",
    ),
    pytest.param("if flag:\n    x = 1\nelse:\n    y = 2\nprint(x, y)", {"x", "y"}, {"flag"}, set(), id="if-any-branch-binds"),
    pytest.param("if flag:\n    x = 1\nelif other:\n    x = 2", {"x"}, {"flag", "other"}, set(), id="elif"),
    pytest.param(
        "match cmd:\n"
        "    case [x, *rest]:\n        pass\n"
        "    case {'k': v, **others}:\n        pass\n"
        "    case Point(x=px) | Color.RED:\n        pass\n"
        "    case _ as whole if whole > limit:\n        pass",
        {"x", "rest", "v", "others", "px", "whole"},
        {"cmd", "Point", "Color", "limit"},
        set(),
        id="match",
    ),
    pytest.param("x = 1\ndel x", set(), set(), set(), id="del-unbinds"),
    pytest.param("del df", set(), {"df"}, set(), id="del-reads"),
    pytest.param("del a.b, c[0]", set(), {"a", "c"}, set(), id="del-attribute-and-item"),
    pytest.param("x = 1\nif flag:\n    del x", {"x"}, {"flag"}, set(), id="del-in-branch-may-keep"),
    pytest.param("print(x); x = 1", {"x"}, {"x"}, set(), id="use-before-own-binding"),
    pytest.param("x = 1; print(x)", {"x"}, set(), set(), id="use-after-own-binding"),
    pytest.param("print(len(x), __name__)", set(), {"x"}, set(), id="builtins"),
    pytest.param("", set(), set(), set(), id="empty"),
    # IPython syntax
    pytest.param("files = !ls\nprint(files)", {"files"}, set(), set(), id="shell-assign"),
    pytest.param("%%capture out\nx = compute()", {"out", "x"}, {"compute"}, set(), id="capture"),
    pytest.param("%%capture out\nprint(out)", {"out"}, {"out"}, set(), id="capture-binds-after-body"),
    pytest.param("%store -r model\nmodel.predict(X)", {"model"}, {"X"}, set(), id="store-restore"),
    pytest.param("%time y = f()", {"y"}, {"f"}, set(), id="time-statement"),
    pytest.param("%%time\nq = k()", {"q"}, {"k"}, set(), id="time-cell"),
    pytest.param("%prun r = main()", {"r"}, {"main"}, set(), id="prun-statement"),
    pytest.param("%timeit w = h()", set(), {"h"}, set(), id="timeit-binds-nothing"),
    pytest.param("%%timeit setup = s()\nz = g(setup)", set(), {"s", "g"}, set(), id="timeit-cell-binds-nothing"),
    pytest.param("res = %timeit -o f(data)", {"res"}, {"f", "data"}, set(), id="timeit-result"),
    pytest.param("%matplotlib inline\n!pip install x\ndf?", set(), set(), set(), id="magics-bind-and-use-nothing"),
    pytest.param("%%bash\necho $x\nls", set(), set(), set(), id="bash-not-analyzed"),
    pytest.param("%%bash --out listing\nls", {"listing"}, set(), set(), id="bash-out"),
    pytest.param("for f in files:\n    %time process(f)\n    !echo $f", {"f"}, {"files", "process"}, set(), id="magics-in-blocks"),
    pytest.param("if ok:\n    !echo hi\n    done = True", {"done"}, {"ok"}, set(), id="shell-in-if"),
]


@pytest.mark.parametrize(("source", "defines", "immediate", "deferred"), CONSTRUCTS)
def test_construct(source: str, defines: set[str], immediate: set[str], deferred: set[str]) -> None:
    flow = analyze_cell(source)
    assert flow.syntax_error is None
    assert set(flow.defines) == defines
    assert free(source) == immediate
    assert free(source, deferred=True) == deferred


@needs_type_statement
def test_type_alias() -> None:
    source = "type Vec[T] = list[T] | Other"
    assert set(analyze_cell(source).defines) == {"Vec"}
    assert free(source) == set()
    assert free(source, deferred=True) == {"Other"}


@needs_type_statement
def test_generic_function_type_parameters() -> None:
    assert free("def first[T: Bound](xs: list[T]) -> T:\n    return xs[0]", deferred=True) == {"Bound"}
    assert free("def first[T: Bound](xs: list[T]) -> T:\n    return xs[0]") == set()


def test_uses_carry_position_and_order() -> None:
    flow = analyze_cell("a = 1\nprint(b, a)\n\ndef f():\n    return b + c\nb = 2")
    assert flow.uses == (Use("print", 2, 1, False), Use("b", 2, 7, False), Use("c", 5, 16, True))


def test_first_use_per_name_only() -> None:
    assert [u.line for u in analyze_cell("print(x)\nprint(x)").uses if u.name == "x"] == [1]


def test_columns_are_characters_in_the_cell() -> None:
    assert analyze_cell("é = 1; print(ü)").uses[-1] == Use("ü", 1, 14, False)
    assert analyze_cell("  %time y = f(x)").uses == (Use("f", 1, 13, False), Use("x", 1, 15, False))


def test_defines_first_line_and_imports() -> None:
    flow = analyze_cell("import os\nx = 1\nx = 2\ndef f(): pass")
    assert flow.defines == {"os": 1, "x": 2, "f": 4}
    assert flow.imports == {"os": 1}


def test_deletes() -> None:
    flow = analyze_cell("a = b = 1\ndel a\nif c:\n    del b\ndef f():\n    x = 1\n    del x")
    assert flow.deletes == ("a", "b")
    assert set(flow.defines) == {"b", "f"}


@pytest.mark.parametrize(
    ("source", "star", "unknown"),
    [
        ("from pylab import *", True, True),
        ("%run helpers.py", False, True),
        ("%store -r", False, True),
        ("exec('x = 1')", False, True),
        ("globals()['x'] = 1", False, True),
        ("globals().update(params)", False, True),
        ("value = globals().get('x')", False, False),
        ("import pylab", False, False),
    ],
)
def test_bindings_nobody_can_list(source: str, star: bool, unknown: bool) -> None:
    flow = analyze_cell(source)
    assert (flow.star_import, flow.unknown_bindings) == (star, unknown)


@pytest.mark.parametrize(
    ("source", "location"),
    [("x = (", (1, 5)), ("x = 1\nif x\n    y", (2, 5)), ("  %time ok = 1\n  x = = 2", (2, 7)), ("a = 1\nb = '\x00'", (2, 6))],
)
def test_syntax_error_contributes_nothing(source: str, location: tuple[int, int]) -> None:
    flow = analyze_cell(source)
    assert flow.syntax_error is not None
    assert flow.syntax_error[:2] == location
    assert (flow.defines, flow.uses) == ({}, ())


def test_warnings_do_not_make_valid_code_a_syntax_error() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        flow = analyze_cell("pattern = '\\d+'\nsame = x is 1")
    assert flow.syntax_error is None
    assert set(flow.defines) == {"pattern", "same"}


def test_non_python_cell_is_not_analyzable() -> None:
    flow = analyze_cell("%%html\n<b>{x}</b>")
    assert not flow.analyzable
    assert flow.uses == ()
    assert flow.magics[0].name == "html"


def test_ipython_names_and_history_are_predefined() -> None:
    for name in ["display", "get_ipython", "In", "Out", "exit", "quit", "_", "__", "_3", "_i3", "print", "__name__", "__builtins__"]:
        assert is_predefined(name), name
    assert not is_predefined("__file__")
    assert "display" in IPYTHON_NAMES
    assert "display" not in BUILTIN_NAMES


# -- notebook level ------------------------------------------------------------------------------


def test_nb104_use_before_a_later_definition() -> None:
    flow = analyze_notebook(["print(x)", "x = 1", "x = 2"])
    assert flow.used_before_defined() == [NameIssue("x", 0, 1, 7, (1, 2))]
    assert flow.undefined() == []


def test_nb104_not_when_an_earlier_cell_defines() -> None:
    assert analyze_notebook(["x = 0", "print(x)", "x = 1"]).used_before_defined() == []


def test_nb104_not_for_function_reading_a_global_from_a_later_cell() -> None:
    flow = analyze_notebook(["def f():\n    return cfg", "cfg = 1", "f()"])
    assert flow.used_before_defined() == []
    assert flow.undefined() == []


def test_nb104_not_for_a_builtin_redefined_later() -> None:
    assert analyze_notebook(["print(list('ab'))", "list = [1]"]).used_before_defined() == []


def test_nb104_not_for_a_name_bound_later_in_the_same_cell_only() -> None:
    assert analyze_notebook(["print(x); x = 1"]).used_before_defined() == []


def test_name_defined_in_a_branch_counts() -> None:
    flow = analyze_notebook(["flag = True", "if flag:\n    x = 1", "print(x)"])
    assert flow.used_before_defined() == []
    assert flow.undefined() == []


def test_annotation_forward_reference_and_postponed_annotations() -> None:
    later = ["def f(x: Later):\n    pass", "class Later:\n    pass"]
    assert [i.name for i in analyze_notebook(later).used_before_defined()] == ["Later"]
    assert analyze_notebook(["from __future__ import annotations", *later]).used_before_defined() == []


def test_execution_order() -> None:
    flow = analyze_notebook(["print(x)", "x = 1", "# never run"], [2, 1, None])
    assert flow.in_execution_order() == [1, 0]
    assert flow.used_before_defined() == [NameIssue("x", 0, 1, 7, (1,))]
    assert flow.used_before_defined(order="execution") == []


def test_execution_order_skips_cells_that_did_not_run() -> None:
    flow = analyze_notebook(["x = 1", "print(x)", ""], [None, 1, None])
    assert flow.in_execution_order() == [1]
    assert flow.used_before_defined(order="execution") == []


def test_execution_order_can_find_what_top_down_does_not() -> None:
    flow = analyze_notebook(["x = 1", "print(y)", "y = x"], [1, 2, 3])
    assert flow.used_before_defined(order="execution") == [NameIssue("y", 1, 1, 7, (2,))]


def test_no_execution_counts_means_no_execution_order() -> None:
    flow = analyze_notebook(["x = 1"])
    assert flow.in_execution_order() == []
    assert flow.used_before_defined(order="execution") == []


def test_nb105_undefined_once_per_cell() -> None:
    flow = analyze_notebook(["", "print(y)\nprint(y, z)", "def f():\n    return y"])
    assert flow.undefined() == [
        NameIssue("y", 1, 1, 7, ()),
        NameIssue("z", 1, 2, 10, ()),
        NameIssue("y", 2, 2, 12, ()),
    ]


def test_nb105_builtins_and_ipython_names() -> None:
    flow = analyze_notebook(
        ["print(len([]))", "display(In, Out, _, _3, _i2, __name__)", "get_ipython().run_line_magic('ls', '')", "open(__file__)"]
    )
    assert flow.undefined() == [NameIssue("__file__", 3, 1, 6, ())]


@pytest.mark.parametrize("binder", ["from pylab import *", "%run setup.py", "%pylab inline", "%store -r", "exec(code)"])
def test_nb105_suppressed_by_bindings_nobody_can_list(binder: str) -> None:
    assert analyze_notebook(["plot(x)", binder]).undefined() == []


@pytest.mark.parametrize(
    "definer", ["files = !ls", "%%capture files\nprint(1)", "%store -r files", "%time files = list()", "%%bash --out files\nls"]
)
def test_names_bound_by_ipython_syntax(definer: str) -> None:
    flow = analyze_notebook([definer, "print(files)"])
    assert flow.undefined() == []
    assert flow.used_before_defined() == []


def test_timeit_bindings_are_thrown_away() -> None:
    assert [i.name for i in analyze_notebook(["%%timeit\nz = 1", "print(z)"]).undefined()] == ["z"]


def test_except_name_does_not_survive_its_cell() -> None:
    assert [i.name for i in analyze_notebook(["try:\n    pass\nexcept Exception as err:\n    pass", "print(err)"]).undefined()] == ["err"]


def test_syntax_error_cell_hides_undefined_names_below_it() -> None:
    """A cell that does not parse may define anything: reads below it are not undefined, reads above it are."""
    flow = analyze_notebook(["print(y)", "x = (", "print(x)"])
    assert flow.cells[1].syntax_error is not None and flow.cells[1].defines == {}
    assert flow.first_unparsed == 1
    assert flow.undefined() == [NameIssue("y", 0, 1, 7, ())]


def test_nb201_defined_only_outside_the_selection() -> None:
    flow = analyze_notebook(
        [
            "import pandas as pd\nTHRESHOLD = 0.9",
            "THRESHOLD = 0.5",
            "def score(x):\n    return pd.cut(x) > THRESHOLD + len(x)",
            "df = pd.read_csv('x.csv')\nscore(df)",
        ]
    )
    assert flow.defined_only_outside({1, 2}) == [NameIssue("pd", 2, 2, 12, (0,))]
    assert flow.defined_only_outside({0, 1, 2}) == []
    assert flow.defined_only_outside({3}) == [NameIssue("pd", 3, 1, 6, (0,)), NameIssue("score", 3, 2, 1, (2,))]


def test_nb201_ignores_names_nobody_defines_and_builtins() -> None:
    flow = analyze_notebook(["len = 3", "print(len(x), undefined_name)"])
    assert flow.defined_only_outside({1}) == []


def test_nb201_ignores_indices_outside_the_notebook() -> None:
    assert analyze_notebook(["x = 1"]).defined_only_outside({5, -1}) == []


def test_notebook_flow_pickles_for_worker_processes() -> None:
    flow = analyze_notebook(["import os\nx = !ls", "print(x, y)"], [1, 2])
    assert pickle.loads(pickle.dumps(flow)) == flow


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="execution counts"):
        analyze_notebook(["x = 1"], [1, 2])
    with pytest.raises(ValueError, match="order"):
        analyze_notebook(["x = 1"]).used_before_defined(order="random")  # type: ignore[arg-type]


def test_import_is_light() -> None:
    heavy = "{'IPython', 'jupytext', 'nbformat', 'nbconvert', 'papermill'}"
    code = f"import sys, nb2prod.lint.dataflow; print(sorted({heavy} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


# -- never crash -----------------------------------------------------------------------------------

PYTHON_LINES = [
    "x = 1",
    "import os",
    "from m import *",
    "def f(a, b=c):",
    "    return a + b",
    "class K(Base):",
    "lambda q: q + r",
    "for i in range(3):",
    "with open(p) as fh:",
    "try:",
    "except E as e:",
    "finally:",
    "if x:",
    "else:",
    "match v:",
    "    case [a, *b]:",
    "global g",
    "del x",
    "[y := i for i in z]",
    's = """',
    "'''",
    "x = (",
    ")",
    "a \\",
    "x += y",
    "print(x)",
    "async def h(): await k",
    "type T = int",
    "@decorator",
]
IPYTHON_LINES = st.one_of(
    st.sampled_from(["%", "%%", "!", "?", "??", ",", ";", "/", "%%capture out", "%%timeit", "%%bash", "%time", "%store -r"]),
    st.builds(lambda magic, args: f"%{magic} {args}", st.text(min_size=1, max_size=8), st.text(max_size=10)),
    st.builds(lambda magic, args: f"%%{magic} {args}", st.text(max_size=8), st.text(max_size=10)),
    st.builds(lambda cmd: f"!{cmd}", st.text(max_size=15)),
    st.builds(lambda target, cmd: f"{target} = !{cmd}", st.sampled_from(["a", "a, b", "a.b", "(", ""]), st.text(max_size=10)),
    st.builds(lambda target, cmd: f"{target} = %{cmd}", st.sampled_from(["a", "x[0]", "*"]), st.text(max_size=10)),
    st.builds(lambda name: f"{name}?", st.text(max_size=10)),
    st.builds(lambda name: f"%time {name}", st.sampled_from(PYTHON_LINES)),
    st.builds(lambda name: f"%timeit -n 3 {name}", st.sampled_from(PYTHON_LINES)),
)
LINES = st.builds(
    lambda indent, text: indent + text,
    st.sampled_from(["", "    ", "        ", "\t", "  "]),
    st.one_of(st.sampled_from(PYTHON_LINES), IPYTHON_LINES, st.text(max_size=20)),
)
CELLS = st.one_of(st.lists(LINES, max_size=10).map("\n".join), st.text(max_size=60))


@settings(max_examples=300, deadline=None)
@given(
    sources=st.lists(CELLS, max_size=6),
    counts=st.lists(st.one_of(st.none(), st.integers(min_value=0, max_value=10)), max_size=6),
    selected=st.sets(st.integers(min_value=-1, max_value=7)),
)
def test_never_crashes_and_keeps_lines(sources: list[str], counts: list[int | None], selected: set[int]) -> None:
    for source in sources:
        cell = transform_cell(source)
        assert len(cell.python.split("\n")) == len(source.split("\n"))
        assert len(cell.column_offsets) == len(source.split("\n"))
        assert all(1 <= magic.line <= len(source.split("\n")) for magic in cell.magics)
    counts = (counts + [None] * len(sources))[: len(sources)]
    flow = analyze_notebook(sources, counts)
    assert len(flow.cells) == len(sources)
    for cell_flow, source in zip(flow.cells, sources, strict=True):
        for use in cell_flow.uses:
            assert 1 <= use.line <= len(source.split("\n"))
            assert use.column >= 1
    flow.used_before_defined()
    flow.used_before_defined(order="execution")
    flow.undefined()
    flow.defined_only_outside(selected)
