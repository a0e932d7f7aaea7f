"""Usage errors name the subcommand that was given: its usage, the unknown option, the closest one (issue #9 item 23)."""

from __future__ import annotations

import argparse

import pytest

from nb2prod.cli import build_parser, main, suggest_option


def subcommands() -> list[tuple[list[str], argparse.ArgumentParser]]:
    """Every (sub)subcommand path and its parser: ``[lint]``, ``[runs, list]``…"""
    found: list[tuple[list[str], argparse.ArgumentParser]] = []

    def walk(path: list[str], parser: argparse.ArgumentParser) -> None:
        nested = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not nested:
            found.append((path, parser))
        for action in nested:
            for name, child in action.choices.items():
                walk([*path, name], child)

    walk([], build_parser())
    return found


def mistyped(option: str) -> str:
    """``--select`` -> ``--slect``: one letter dropped after the dashes and the first letter."""
    return option[:3] + option[4:]


@pytest.mark.parametrize(("path", "parser"), subcommands(), ids=lambda value: " ".join(value) if isinstance(value, list) else "")
def test_a_mistyped_option_shows_the_subcommands_usage_and_a_suggestion(
    path: list[str], parser: argparse.ArgumentParser, capsys: pytest.CaptureFixture[str]
) -> None:
    options = sorted(o for a in parser._actions for o in a.option_strings if o.startswith("--") and len(o) > 6 and o != "--debug")
    if not options:
        pytest.skip(f"nb2prod {' '.join(path)} has no long option to mistype")
    option = options[0]
    # What the subcommand requires, so that only the typo is wrong.
    positionals = [a for a in parser._actions if not a.option_strings and a.required and not isinstance(a, argparse._SubParsersAction)]
    required = [part for a in parser._actions if a.option_strings and a.required for part in (a.option_strings[0], "x")]
    argv = [*path, mistyped(option), *required, *(["x.ipynb"] * len(positionals))]
    with pytest.raises(SystemExit) as exited:
        main(argv)
    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert err.startswith(f"usage: nb2prod {' '.join(path)} "), err
    assert f"nb2prod {' '.join(path)}: error: unrecognized arguments: {mistyped(option)}" in err
    suggested = suggest_option(parser, mistyped(option))
    assert suggested is not None and f"(did you mean {suggested}?)" in err


def test_lint_slect_suggests_select(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["lint", "--slect", "F", "notebook.ipynb"])
    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert err.startswith("usage: nb2prod lint ")
    assert err.rstrip().endswith("nb2prod lint: error: unrecognized arguments: --slect (did you mean --select?)")


def test_an_option_with_a_value_and_an_extra_positional(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["lint", "--formt=json", "a.ipynb"])
    assert "(did you mean --format?)" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["params", "a.ipynb", "b.ipynb"])
    err = capsys.readouterr().err
    assert exited.value.code == 2 and err.startswith("usage: nb2prod params ") and "did you mean" not in err


def test_nothing_close_gives_no_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["strip", "--zzzzzzzz", "a.ipynb"])
    err = capsys.readouterr().err
    assert "unrecognized arguments: --zzzzzzzz" in err and "did you mean" not in err


@pytest.mark.parametrize(
    ("argv", "usage", "suggestion"),
    [
        (["lnt", "x.ipynb"], "usage: nb2prod [", "(did you mean lint?)"),
        (["lint", "--format", "jsn", "x.ipynb"], "usage: nb2prod lint ", "(did you mean json?)"),
        (["runs", "lst"], "usage: nb2prod runs ", "(did you mean list?)"),
    ],
)
def test_a_mistyped_choice_names_the_closest(argv: list[str], usage: str, suggestion: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    err = capsys.readouterr().err
    assert exited.value.code == 2 and err.startswith(usage)
    assert err.rstrip().endswith(suggestion)
