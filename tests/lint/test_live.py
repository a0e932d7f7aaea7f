"""The live rules (NB111-NB114): the saved notebook against a kernel's input history and namespace.

``%nb2prod lint`` collects a ``KernelState`` from IPython; here it is written out by hand, as
``In`` would hold it (``history[n]`` is what ran as ``[n]``), so each case is exact and fast. The
real-kernel path is tests/magics/test_magics.py.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import nb2prod
from nb2prod import KernelState

LOAD = "%load_ext nb2prod"


def code(source: str, count: int | None) -> dict[str, object]:
    return {"source": source, "execution_count": count}


def live(path: Path, history: list[str], names: set[str] = frozenset(), current: int | None = None) -> list[tuple[str, int | None, str]]:
    """(code, cell number, message) of the NB11x findings; the asking cell is the last history entry unless told."""
    state = KernelState(history=("", *history), names=frozenset(names), current=current if current is not None else len(history))
    results = nb2prod.lint([path], select=["NB1"], ruff=False, kernel=state)
    return [(f.code, None if f.cell_index is None else f.cell_index + 1, f.message) for f in results.findings if f.code.startswith("NB11")]


def test_a_name_defined_by_a_deleted_cell_is_kernel_only(make_notebook: Callable[..., Path]) -> None:
    path = make_notebook([code(LOAD, 1), code("a = 1", 2), code("print(a)", 4)])
    history = [LOAD, "a = 1", "helper = {'x': 1}", "print(a)", "%nb2prod lint"]
    found = live(path, history, names={"a", "helper", "_i3", "In"})
    assert [(c, n) for c, n, _ in found] == [("NB111", None)]
    assert "'helper' exists only in the kernel: [3] (\"helper = {'x': 1}\")" in found[0][2]


def test_an_edited_cell_is_reported_with_the_code_the_kernel_ran(make_notebook: Callable[..., Path]) -> None:
    path = make_notebook([code(LOAD, 1), code("threshold = 0.7", 2), code("print(threshold)", 3)])
    history = [LOAD, "threshold = 0.5", "print(threshold)", "%nb2prod lint"]
    found = live(path, history, names={"threshold"})
    assert [(c, n) for c, n, _ in found] == [("NB112", 2)]
    assert "edited since it ran as [2] (the kernel ran 'threshold = 0.5')" in found[0][2]


def test_a_cell_that_used_a_redefined_name_is_stale(make_notebook: Callable[..., Path]) -> None:
    """``b = a * 2`` ran as [3]; the first cell, rewritten to ``a = 3``, ran afterwards as [4]."""
    path = make_notebook([code("a = 3", 4), code("b = a * 2", 3)])
    history = ["import os", "a = 1", "b = a * 2", "a = 3", "%nb2prod lint"]
    found = live(path, history, names={"a", "b", "os"})
    assert ("NB114", 2) in [(c, n) for c, n, _ in found]
    stale = next(m for c, _, m in found if c == "NB114")
    assert "ran as [3] with 'a', which [4] (cell 1 ('a = 3')) has redefined since" in stale
    assert ("NB113", 2) in [(c, n) for c, n, _ in found]  # and cell 2 last ran before cell 1 above it


def test_nb113_replaces_nb101_on_the_same_cell(make_notebook: Callable[..., Path]) -> None:
    path = make_notebook([code("a = 3", 4), code("b = a * 2", 3)])
    state = KernelState(("", "import os", "a = 1", "b = a * 2", "a = 3", "%nb2prod lint"), frozenset({"a", "b", "os"}), 5)
    codes = [f.code for f in nb2prod.lint([path], select=["NB1"], ruff=False, kernel=state).findings]
    assert "NB113" in codes and "NB101" not in codes
    assert "NB101" in [f.code for f in nb2prod.lint([path], select=["NB1"], ruff=False).findings]


def test_a_fresh_kernel_finds_nothing(make_notebook: Callable[..., Path]) -> None:
    """After a restart, only %load_ext and the lint ran; the saved counts [2]..[4] are from the old session."""
    path = make_notebook([code(LOAD, 1), code("import pandas as pd", 2), code("df = pd.DataFrame()", 3), code("x = df", 4)])
    assert live(path, [LOAD, "%nb2prod lint"], names=set()) == []


def test_counts_of_an_earlier_session_are_not_read_as_edits(make_notebook: Callable[..., Path]) -> None:
    """A restarted kernel that ran other code under [2] and [3] does not make cells 2 and 3 "edited"."""
    path = make_notebook([code(LOAD, 1), code("import pandas as pd", 2), code("df = pd.DataFrame()", 3), code("x = df", 4)])
    assert live(path, [LOAD, "y = 1", "z = y", "%nb2prod lint"], names={"y", "z"}) == [
        (
            "NB111",
            None,
            "'y' exists only in the kernel: [2] ('y = 1') defined it, and no cell of the saved notebook does "
            "(a deleted or rewritten cell); Restart & Run All would lose it",
        ),
        (
            "NB111",
            None,
            "'z' exists only in the kernel: [3] ('z = y') defined it, and no cell of the saved notebook does "
            "(a deleted or rewritten cell); Restart & Run All would lose it",
        ),
    ]


def test_the_static_lint_never_reports_live_rules(make_notebook: Callable[..., Path]) -> None:
    path = make_notebook([code("a = 3", 4), code("b = a * 2", 3), code("print(c)", 5)])
    assert not [f for f in nb2prod.lint([path], ruff=False).findings if f.code.startswith("NB11")]


def test_live_rules_are_documented_and_selectable() -> None:
    registry = nb2prod.rules()
    for code in ("NB111", "NB112", "NB113", "NB114"):
        rule = registry[code]
        assert rule.doc.what and rule.doc.fix and "%nb2prod lint" in rule.doc.limits


def test_html_names_each_cell_by_number_and_first_line(make_notebook: Callable[..., Path]) -> None:
    path = make_notebook([code("a = 3", 4), code("b = a * 2\nprint(b)", 3)])
    state = KernelState(("", "a = 1", "b = a * 2\nprint(b)", "a = 3", "%nb2prod lint"), frozenset({"a", "b"}), 4)
    results = nb2prod.lint([path], select=["NB11"], ruff=False, kernel=state)
    page = results._repr_html_()
    assert "<td" in page and 'cell 2 <code style="white-space:nowrap">b = a * 2</code>' in page and "NB114" in page
    assert "NB114" in str(results) and "<td" not in str(results)


def test_scenario_45_a_secret_in_code_the_kernel_ran_is_masked_in_live_findings(make_notebook: Callable[..., Path]) -> None:
    """NB111 and NB112 quote code from the kernel's history, which no report masks for them: they mask it themselves."""
    path = make_notebook([code(LOAD, 1), code('db_password = "changeme"', 2)])
    history = [LOAD, 'db_password = "hunter2hunter2"', 'api_token = "s3cr3t-v4lue-xyz"', "%nb2prod lint"]
    results = nb2prod.lint(
        [path], select=["NB11"], ruff=False, kernel=KernelState(("", *history), frozenset({"db_password", "api_token"}), 4)
    )
    assert sorted(f.code for f in results.findings) == ["NB111", "NB112"]
    for shown in (str(results), results._repr_html_()):
        assert "hunter2hunter2" not in shown and "s3cr3t-v4lue-xyz" not in shown


# --- cells with the same code ---------------------------------------------------------------------

STEP = "log.append(len(log))"


def test_two_cells_with_the_same_code_are_told_apart_by_their_saved_counts(make_notebook: Callable[..., Path]) -> None:
    """Run top to bottom: the two identical cells ran as [3] and [5]; matching by code alone made both [5] and cell 4 "out of order"."""
    path = make_notebook([code(LOAD, 1), code("log = []", 2), code(STEP, 3), code("total = len(log)", 4), code(STEP, 5)])
    history = [LOAD, "log = []", STEP, "total = len(log)", STEP, "%nb2prod lint"]
    assert live(path, history, names={"log", "total"}) == []


def test_identical_cells_run_out_of_order_are_each_reported(make_notebook: Callable[..., Path]) -> None:
    """The lower identical cell ran first ([3]), the upper one last ([5]): both cells below the upper one ran before it."""
    path = make_notebook([code(LOAD, 1), code("log = []", 2), code(STEP, 5), code("total = len(log)", 4), code(STEP, 3)])
    history = [LOAD, "log = []", STEP, "total = len(log)", STEP, "%nb2prod lint"]
    found = live(path, history, names={"log", "total"})
    assert [(c, n) for c, n, _ in found] == [("NB113", 4), ("NB113", 5)]
    assert "last ran as [3], before cell 3 ('log.append(len(log))') above it ran as [5]" in found[1][2]


def test_a_run_of_shared_code_after_the_save_is_not_guessed(make_notebook: Callable[..., Path]) -> None:
    """[6] ran the shared code after the notebook was saved: cell 3 or cell 5, nobody can tell, so nothing is said about them."""
    path = make_notebook([code(LOAD, 1), code("log = []", 2), code(STEP, 3), code("total = len(log)", 4), code(STEP, 5)])
    history = [LOAD, "log = []", STEP, "total = len(log)", STEP, STEP, "%nb2prod lint"]
    assert live(path, history, names={"log", "total"}) == []
