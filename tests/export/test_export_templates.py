"""User templates (``--template-dir``) are rendered in Jinja's sandbox; a template that includes itself is a clear error.

reliability.md scenario 57.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from nb2prod.errors import ExportError
from nb2prod.export.templates import render_template, template_environment

TAGGED = [
    ("markdown", "# Tiny model", []),
    ("code", "n = 3", ["parameters"]),
    ("code", "def total(k: int) -> int:\n    return sum(range(k))", ["export"]),
    ("code", "print(total(n))", ["main"]),
]

#: Templates that reach Python's internals through Jinja's object access; each would run or read arbitrary code unsandboxed.
ATTACKS = {
    "subclasses": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "cycler_globals": "{{ cycler.__init__.__globals__.os.getcwd() }}",
    "lipsum_globals": "{{ lipsum.__globals__['os'].getcwd() }}",
    "plan_module": "{{ plan.__class__.__init__.__globals__ }}",
    "format_escape": "{{ '{0.__class__}'.format(plan) }}",
    "list_mutation": "{% set names = plan.notebooks | list %}{{ names.append('x') }}",
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_scenario_57_an_attack_template_is_refused_and_nothing_is_written(
    attack: str, make_notebook: Callable[..., Path], run_export: Callable[..., tuple[int, str, str]], workdir: Path
) -> None:
    make_notebook("tiny.ipynb", TAGGED)
    (workdir / "mine").mkdir()
    (workdir / "mine" / "README.md.j2").write_text(f"# Card\n\n{ATTACKS[attack]}\n")
    code, _out, err = run_export("tiny.ipynb", "--template-dir", "mine", "-o", "out")
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mine/README.md.j2:line 3: error: template error: "), err
    assert "unsafe" in lines[0] and "Traceback" not in err
    assert lines[0].endswith("(templates render in Jinja's sandbox: use the values nb2prod passes them, not Python's internals)")
    assert not (workdir / "out").exists()


def test_scenario_57_a_template_that_includes_itself_is_a_clear_error(
    make_notebook: Callable[..., Path], run_export: Callable[..., tuple[int, str, str]], workdir: Path
) -> None:
    make_notebook("tiny.ipynb", TAGGED)
    (workdir / "mine").mkdir()
    (workdir / "mine" / "README.md.j2").write_text('# Card\n{% include "README.md.j2" %}\n')
    code, _out, err = run_export("tiny.ipynb", "--template-dir", "mine", "-o", "out")
    assert code == 2
    assert err.strip() == (
        "mine/README.md.j2: error: template README.md.j2 includes itself (README.md.j2 -> README.md.j2) "
        "(break the cycle; an override reaches the built-in template it replaces as nb2prod/README.md.j2)"
    )
    assert not (workdir / "out").exists()


#: A user template's mistake -> (the file it is in, what the error says), for ``template error:`` lines.
TEMPLATE_MISTAKES = {
    "syntax error": (
        {"README.md.j2": "# Card\n\n{% if plan %}\nno end\n"},
        "mine/README.md.j2:line 4: error: template syntax error: Unexpected end of template.",
        "(fix the template)",
    ),
    "undefined name": (
        {"README.md.j2": "# Card\n\n{{ no_such_value }}\n"},
        "mine/README.md.j2:line 3: error: template error: 'no_such_value' is undefined",
        "(fix the template)",
    ),
    "syntax error in an included template": (
        {"README.md.j2": '# Card\n{% include "part.j2" %}\n', "part.j2": "ok\n{{ broken( }}\n"},
        "mine/part.j2:line 2: error: template syntax error: unexpected '}'",
        "(fix the template)",
    ),
    "undefined attribute in an included template": (
        {"README.md.j2": '# Card\n{% include "part.j2" %}\n', "part.j2": "ok\n\n{{ plan.no_such_field.name }}\n"},
        "mine/part.j2:line 3: error: template error: ",
        "(fix the template)",
    ),
    "missing include": (
        {"README.md.j2": '# Card\n\n{% include "nopart.j2" %}\n'},
        "mine/README.md.j2:line 3: error: no such template: nopart.j2",
        "(add nopart.j2 to the template folder or fix the name)",
    ),
    "rendered Python that does not compile": (
        {"package/cli.py.j2": "def broken(:\n"},
        "mine/package/cli.py.j2: error: the generated src/tiny/cli.py does not compile: line 1: ",
        "(check the templates (--template-dir))",
    ),
    "rendered TOML that does not parse": (
        {"pyproject.toml.j2": "[project\n"},
        "mine/pyproject.toml.j2: error: the generated pyproject.toml is not valid TOML: ",
        "(check the templates (--template-dir))",
    ),
    "rendered module that does not compile": (
        {"package/module.py.j2": "{{ module.name }}(\n"},
        "mine/package/module.py.j2: error: the generated tiny.py does not compile: ",
        "(check the templates (--template-dir))",
    ),
    "module template": (
        {"package/module.py.j2": "{{ module.name }}\n{% for x in %}\n"},
        "mine/package/module.py.j2:line 2: error: template syntax error: ",
        "(fix the template)",
    ),
}


@pytest.mark.parametrize("mistake", sorted(TEMPLATE_MISTAKES))
def test_a_template_error_names_the_template_file_and_line_first(
    mistake: str, make_notebook: Callable[..., Path], run_export: Callable[..., tuple[int, str, str]], workdir: Path
) -> None:
    """The command contract: ``path: error: what (what to do)``, the path being the failing template and its line."""
    files, start, end = TEMPLATE_MISTAKES[mistake]
    make_notebook("tiny.ipynb", TAGGED)
    for name, text in files.items():
        (workdir / "mine" / name).parent.mkdir(parents=True, exist_ok=True)
        (workdir / "mine" / name).write_text(text)
    code, _out, err = run_export("tiny.ipynb", "--template-dir", "mine", "-o", "out")
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(start) and lines[0].endswith(end), err
    assert "Traceback" not in err
    assert not (workdir / "out").exists()


def test_templates_that_include_each_other_name_the_cycle(tmp_path: Path) -> None:
    (tmp_path / "README.md.j2").write_text('{% include "part.j2" %}\n')
    (tmp_path / "part.j2").write_text('{% if true %}{% include "other.j2" %}{% endif %}\n')
    (tmp_path / "other.j2").write_text('{% extends "README.md.j2" %}\n')
    with pytest.raises(ExportError) as caught:
        render_template(template_environment(tmp_path), "README.md.j2", {})
    assert caught.value.message == "template README.md.j2 includes itself (README.md.j2 -> part.j2 -> other.j2 -> README.md.j2)"


def test_an_override_may_include_the_builtin_template_it_replaces(tmp_path: Path) -> None:
    (tmp_path / "part.j2").write_text("{{ name | upper }} and {{ items | join(', ') }}\n")
    (tmp_path / "README.md.j2").write_text('{% include "part.j2" %}{% for item in items %}-{{ loop.index }}{% endfor %}\n')
    assert render_template(template_environment(tmp_path), "README.md.j2", {"name": "x", "items": ["a", "b"]}) == "X and a, b\n-1-2\n"


def test_the_builtin_templates_are_sandboxed_too() -> None:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    assert isinstance(template_environment(None), ImmutableSandboxedEnvironment)


def test_the_sandbox_keeps_the_compiled_template_cache_apart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A second environment loads the sandbox's compiled code from the cache; code an ordinary environment compiled is never loaded."""
    import tempfile

    import jinja2

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "README.md.j2").write_text("{{ name }}\n")
    assert render_template(template_environment(tmp_path / "templates"), "README.md.j2", {"name": "x"}) == "x\n"
    cached = sorted(path.name for path in (tmp_path / "tmp").rglob("nb2prod-*.cache"))
    assert cached and all(name.startswith("nb2prod-sandbox-") for name in cached)
    compiled: list[str] = []
    real = jinja2.Environment.compile

    def spy(self: jinja2.Environment, *args: object, **kwargs: object) -> object:
        compiled.append(str(args[1] if len(args) > 1 else kwargs.get("name")))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", spy)
    assert render_template(template_environment(tmp_path / "templates"), "README.md.j2", {"name": "y"}) == "y\n"
    assert compiled == []
