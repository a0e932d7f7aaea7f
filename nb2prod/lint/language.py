"""Which language a notebook's code cells are written in, decided once per notebook.

Lint's code rules (and ruff) read cells as Python 3. A notebook whose kernel runs another language
(R, Julia, PowerShell, Scala…) or Python 2 (``print x``, ``xrange``) would give one syntax error or
"undefined name" per line, all wrong. So lint decides the language first and, for anything but
Python 3, runs only the rules that do not read code as Python (execution counts, outputs, secrets in
known formats, hygiene) and says so once (NB510 and a note).

The evidence, strongest first:

1. ``metadata.language_info`` — written by the kernel itself when the notebook ran: ``name``, and
   for Python its ``version`` (``2.7.18``), ``codemirror_mode.version`` or ``pygments_lexer``
   (``ipython2``);
2. ``metadata.kernelspec`` — ``language``, else what ``name`` / ``display_name`` say (``python2``,
   ``Python 2``, ``ir``, ``julia-1.9``…);
3. ``metadata.jupytext.main_language`` — jupytext's record of a text notebook's language (a
   Markdown notebook of ``powershell`` code blocks);
4. nothing: Python 3 (as Jupyter, ruff and jupytext assume).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: Builtins of Python 2 that Python 3 removed: defined in a Python 2 kernel, though Python 3's parser reads the code.
PYTHON2_BUILTINS = frozenset(
    {
        "xrange", "unicode", "basestring", "long", "unichr", "raw_input", "reduce", "file", "execfile", "cmp", "buffer",
        "apply", "intern", "coerce", "reload",
    }
)  # fmt: skip
#: Language names that mean Python, as kernels and jupytext write them.
PYTHON_NAMES = frozenset({"python", "python3", "python2", "ipython", "ipython3", "ipython2", "py", "pyspark"})
_PYTHON2_NAME = re.compile(r"python\s*2|ipython2|py2\b|python2\.\d", re.IGNORECASE)
_PYTHON3_NAME = re.compile(r"python\s*3|ipython3|py3\b", re.IGNORECASE)
#: Kernel names whose language is not in the kernelspec but is well known.
_KERNEL_LANGUAGES = (
    (re.compile(r"^ir$|^r$|^ir[-_]"), "r"),
    (re.compile(r"^julia"), "julia"),
    (re.compile(r"pwsh|powershell"), "powershell"),
    (re.compile(r"^\.net-csharp|csharp"), "c#"),
    (re.compile(r"^\.net-fsharp|fsharp"), "f#"),
    (re.compile(r"^bash$|^calysto_bash"), "bash"),
    (re.compile(r"scala|^spylon|^toree"), "scala"),
    (re.compile(r"^sql|^xsql"), "sql"),
    (re.compile(r"^javascript|^tslab|^deno"), "javascript"),
    (re.compile(r"^gophernotes|^go$"), "go"),
    (re.compile(r"^rust|^evcxr"), "rust"),
    (re.compile(r"^xcpp|^c\+\+"), "c++"),
    (re.compile(r"^octave"), "octave"),
    (re.compile(r"^matlab|^imatlab"), "matlab"),
    (re.compile(r"^python|^py"), "python"),
)


@dataclass(frozen=True)
class Language:
    """A notebook's code language: ``name`` (lower-case, None when nothing says) and whether it is Python 2."""

    name: str | None
    python2: bool = False
    evidence: str = ""  # where the decision comes from, for messages
    label: str = ""  # the name as the notebook writes it ("PowerShell"), for messages

    @property
    def is_python(self) -> bool:
        """Python of either major version (or unknown, taken as Python)."""
        return self.name is None or self.name in PYTHON_NAMES

    @property
    def is_python3(self) -> bool:
        """What lint's code rules and ruff can read: Python 3 (or unknown)."""
        return self.is_python and not self.python2

    @property
    def shown(self) -> str:
        """How messages name it: ``Python 2``, ``PowerShell``-like names as written, ``unknown``."""
        if self.python2:
            return "Python 2"
        return self.label or self.name or "unknown"


def notebook_language(metadata: Mapping[str, Any]) -> Language:
    """Decide the code language of a notebook from its metadata (see the module docstring)."""
    info = _mapping(metadata.get("language_info"))
    kernelspec = _mapping(metadata.get("kernelspec"))
    jupytext = _mapping(metadata.get("jupytext"))
    kernel_name = _text(kernelspec.get("name"))
    display = _text(kernelspec.get("display_name"))
    name, evidence, label = None, "", ""
    for value, where in (
        (info.get("name"), "language_info"),
        (kernelspec.get("language"), "kernelspec"),
        (jupytext.get("main_language"), "jupytext main_language"),
        (_kernel_language(kernel_name), "kernel name"),
    ):
        if isinstance(value, str) and value.strip():
            name, evidence, label = value.strip().lower(), where, value.strip()
            break
    if name is not None and name not in PYTHON_NAMES:
        return Language(name, evidence=evidence, label=label)
    if _is_python2(info, kernel_name, display):
        return Language("python", python2=True, evidence=evidence or "kernelspec")
    return Language(name, evidence=evidence)


def _is_python2(info: Mapping[str, Any], kernel_name: str, display: str) -> bool:
    version = info.get("version")
    if isinstance(version, str) and version.strip():
        return version.strip().startswith("2.")
    mode = info.get("codemirror_mode")
    if isinstance(mode, Mapping) and mode.get("version") in (2, "2"):
        return True
    lexer = _text(info.get("pygments_lexer"))
    if lexer:
        return lexer == "ipython2"
    if _PYTHON3_NAME.search(kernel_name) or _PYTHON3_NAME.search(display):
        return False
    return bool(_PYTHON2_NAME.search(kernel_name) or _PYTHON2_NAME.search(display))


def _kernel_language(kernel_name: str) -> str | None:
    lowered = kernel_name.lower()
    return next((language for pattern, language in _KERNEL_LANGUAGES if pattern.search(lowered)), None) if lowered else None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
