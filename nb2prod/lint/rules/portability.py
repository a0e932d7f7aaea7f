"""NB3 — portability and security: what ties a notebook to one machine, or leaks a credential."""

from __future__ import annotations

import ast
import json
import math
import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ...model import Cell
from ...secrets import TOKEN_FORMATS as TOKEN_FORMATS  # the credential formats live in nb2prod.secrets, shared with run records
from ...secrets import find_tokens
from ..context import LintContext
from ..ipython import Magic
from ..rule import Hit, Rule, RuleDoc, Severity

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_ABSOLUTE_PATH = re.compile(r"/home/|/Users/|/root/|~/|[A-Za-z]:[\\/]|\\\\[^\\/\s]+\\[^\\/\s]+")
_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def cell_column(ctx: LintContext, index: int, node: ast.expr) -> int:
    """The 1-based column of ``node`` in the cell's source (``ast`` counts UTF-8 bytes of the transformed Python)."""
    transformed = ctx.transformed[index]
    lines = transformed.python.split("\n")
    line = lines[node.lineno - 1] if 0 < node.lineno <= len(lines) else ""
    column = len(line.encode("utf-8")[: node.col_offset].decode("utf-8", errors="ignore"))
    return transformed.original_column(node.lineno, column) + 1


def string_literals(nodes: Sequence[ast.AST]) -> Iterator[tuple[str, ast.expr]]:
    """Every string constant, and the leading text of every f-string, with the node to report it at.

    Bare string statements (docstrings) are left out: they document, they do not run.
    """
    skipped = {id(node.value) for node in nodes if isinstance(node, ast.Expr)}
    skipped.update(id(part) for node in nodes if isinstance(node, ast.JoinedStr) for part in node.values)
    for node in nodes:
        if isinstance(node, ast.JoinedStr) and id(node) not in skipped:
            head = node.values[0] if node.values else None
            if isinstance(head, ast.Constant) and isinstance(head.value, str):
                yield head.value, node
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skipped:
            yield node.value, node


def shorten(text: str, limit: int = 60) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis when it was longer."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def mask(secret: str) -> str:
    """A secret as messages may show it: its first 4 characters, then an ellipsis."""
    return secret[:4] + "…"


# --- NB301 ------------------------------------------------------------------------------------------


def check_absolute_path(ctx: LintContext) -> Iterator[Hit]:
    """NB301: string literals that start with a user's home, a drive letter, a UNC share or ``~/``."""
    if not ctx.is_python:
        return
    for index, nodes in sorted(ctx.nodes.items()):
        found = [(node, value) for value, node in string_literals(nodes) if _ABSOLUTE_PATH.match(value)]
        for node, value in sorted(found, key=lambda item: (item[0].lineno, item[0].col_offset)):
            yield Hit(
                index,
                f"hard-coded absolute path '{shorten(value)}': use a path relative to the project, a parameter or an environment variable",
                node.lineno,
                cell_column(ctx, index, node),
            )


# --- NB302 ------------------------------------------------------------------------------------------

_PASSWORD_PARTS = ("password", "passwd", "passphrase")
_KEY_PARTS = ("secret", "credential", "apikey", "accesskey", "privatekey")
_KEY_WORDS = frozenset({"token", "auth", "authorization", "bearer"})
#: A last name part that says the value is about the secret, not the secret (``token_url``, ``password_prompt``).
_NOT_THE_SECRET = frozenset(
    {
        "file", "filename", "path", "dir", "directory", "folder", "url", "uri", "endpoint", "host", "name", "id", "env",
        "var", "variable", "field", "prompt", "label", "type", "kind", "len", "length", "size", "count", "pattern",
        "regex", "format", "column", "col", "hint", "message", "msg", "text", "help", "user", "username", "scope",
    }
)  # fmt: skip
_PLACEHOLDER_MARKERS = ("your", "<", ">", "xxx", "***", "...", "…", "example", "dummy", "placeholder", "changeme", "todo", "${")
#: Every secret-like name contains one of these (case-insensitive).
_SECRET_NAME_HINT = re.compile(r"pass|pwd|secret|credential|key|token|auth|bearer", re.IGNORECASE)
_AUTH_SCHEME = re.compile(r"^(?:bearer|basic|token)\s+", re.IGNORECASE)


def name_words(name: str) -> list[str]:
    """``dbPassword`` / ``DB_PASSWORD`` / ``X-Api-Key`` -> lower-case words."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", spaced)
    return [word for word in re.split(r"[^a-z0-9]+", spaced.lower()) if word]


def secret_kind(name: str) -> str | None:
    """``"password"`` or ``"secret"`` when a name says its value is one, else None."""
    words = name_words(name)
    if not words or words[-1] in _NOT_THE_SECRET:
        return None
    joined = "".join(words)
    if any(part in joined for part in _PASSWORD_PARTS) or "pwd" in words:
        return "password"
    if any(part in joined for part in _KEY_PARTS) or any(word in _KEY_WORDS or word.endswith("token") for word in words):
        return "secret"
    return None


def shannon_entropy(text: str) -> float:
    """Bits per character of ``text``'s character distribution."""
    total = len(text)
    return -sum(n / total * math.log2(n / total) for n in Counter(text).values()) if total else 0.0


def is_placeholder(value: str) -> bool:
    """Whether a literal is a stand-in (empty, one repeated character, ``<your key>``, ``changeme``…)."""
    lowered = value.strip().lower()
    return len(set(lowered)) <= 1 or any(marker in lowered for marker in _PLACEHOLDER_MARKERS)


def looks_like_secret(kind: str, value: str) -> bool:
    """Whether a literal bound to a ``password``- or ``secret``-like name looks like the real thing."""
    if is_placeholder(value) or _URL_SCHEME.match(value) or value.startswith(("/", "~/", "./", "../")):
        return False
    if kind == "password":
        return len(value) >= 4
    bare = _AUTH_SCHEME.sub("", value.strip())
    return len(bare) >= 16 and not any(char.isspace() for char in bare) and shannon_entropy(bare) >= 3.0


def _string_value(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _target_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return _string_value(node.slice) if isinstance(node, ast.Subscript) else None


def _pairs(target: ast.expr, value: ast.expr) -> Iterator[tuple[str | None, ast.expr]]:
    if isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (ast.Tuple, ast.List)) and len(target.elts) == len(value.elts):
        for inner_target, inner_value in zip(target.elts, value.elts, strict=True):
            yield from _pairs(inner_target, inner_value)
    else:
        yield _target_name(target), value


def named_values(nodes: Sequence[ast.AST]) -> Iterator[tuple[str, ast.expr]]:
    """(name, value) for assignments, keyword arguments, dict entries and parameter defaults."""
    for node in nodes:
        pairs: list[tuple[str | None, ast.expr | None]] = []
        if isinstance(node, ast.Assign):
            pairs = [pair for target in node.targets for pair in _pairs(target, node.value)]
        elif isinstance(node, (ast.AnnAssign, ast.NamedExpr)):
            pairs = [(_target_name(node.target), node.value)]
        elif isinstance(node, ast.Call):
            pairs = [(keyword.arg, keyword.value) for keyword in node.keywords]
        elif isinstance(node, ast.Dict):
            pairs = [(_string_value(key), value) for key, value in zip(node.keys, node.values, strict=True)]
        elif isinstance(node, ast.arguments):
            positional = [*node.posonlyargs, *node.args]
            with_defaults = [*zip(positional[len(positional) - len(node.defaults) :], node.defaults, strict=True)]
            pairs = [(arg.arg, default) for arg, default in [*with_defaults, *zip(node.kwonlyargs, node.kw_defaults, strict=True)]]
        for name, value in pairs:
            if name and value is not None:
                yield name, value


def _code_secrets(cell: Cell) -> Iterator[Hit]:
    source = cell.source  # comments, shell commands and cells that do not parse included
    seen: set[str] = set()
    for kind, match in find_tokens(source):
        if match.group() in seen:
            continue  # one finding per token and cell
        seen.add(match.group())
        start = match.start()
        yield Hit(
            cell.index,
            f"{kind} '{mask(match.group())}' in the code: revoke it and read it from the environment or a secret store",
            source.count("\n", 0, start) + 1,
            start - source.rfind("\n", 0, start),
        )


#: A value that names a file (``key.json``, ``secrets/sa.pem``): the name of where a secret is, not the secret.
_FILE_NAME = re.compile(
    r"^[\w.~-][\w .~/\\-]*\.(?:json|pem|p12|pfx|key|crt|cer|der|txt|yaml|yml|toml|ini|cfg|conf|env|pkl|pickle|csv|jks|keystore|gpg|asc)$",
    re.IGNORECASE,
)
#: A value that names an environment variable or a setting (``"DB_PASSWORD"``): a reference, not the secret.
_CONSTANT_NAME = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")


def _names_not_secret(value: str) -> bool:
    """Whether a literal bound to a secret-like name is plainly something else: a file name or an environment variable's name."""
    text = value.strip()
    return bool(_FILE_NAME.match(text) or _CONSTANT_NAME.match(text))


def _named_secrets(ctx: LintContext, cell: Cell) -> Iterator[Hit]:
    index = cell.index
    nodes = ctx.nodes.get(index)
    if nodes is None or not _SECRET_NAME_HINT.search(cell.source):
        return  # no name in the cell can be secret-like: skip the walk
    reported: set[str] = set()  # one finding per literal and cell: the same key used three times is one leak
    for name, value in named_values(nodes):
        if not (isinstance(value, ast.Constant) and isinstance(value.value, str)) or value.value in reported:
            continue  # a call (os.environ[...], getpass()) or an expression: not a literal
        kind = secret_kind(name)
        if kind is None or _names_not_secret(value.value) or not looks_like_secret(kind, value.value):
            continue  # judge the value, not only the name: `GOOGLE_APPLICATION_CREDENTIALS = "key.json"` is a file name
        if next(find_tokens(value.value), None):
            continue  # a token in a known format was already reported by the source scan
        reported.add(value.value)
        yield Hit(
            index,
            f"literal {kind} '{mask(value.value)}' assigned to '{name}': read it from the environment (os.environ) or a secret store",
            value.lineno,
            cell_column(ctx, index, value),
        )


def output_texts(cell: Cell, mimes: tuple[str, ...]) -> Iterator[list[tuple[str, str]]]:
    """For each output of a code cell: (label, text) for its stream text, the given MIME types and error fields."""
    outputs = cell.raw.get("outputs")
    for output in outputs if isinstance(outputs, list) else ():
        if not isinstance(output, Mapping):
            continue
        texts: list[tuple[str, str]] = []
        kind = output.get("output_type")
        if kind == "stream":
            texts.append((f"{output.get('name', 'stream')} output", _as_text(output.get("text"))))
        elif kind == "error":
            texts.append(("error message", _as_text(output.get("evalue"))))
            texts.append(("error traceback", _as_text(output.get("traceback"), "\n")))
        else:
            data = output.get("data")
            if isinstance(data, Mapping):
                texts.extend((f"{mime} output", _as_text(data[mime])) for mime in mimes if mime in data)
        yield [(label, _ANSI.sub("", text) if "\x1b" in text else text) for label, text in texts if text]


def _as_text(value: Any, joiner: str = "") -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        try:
            return joiner.join(value)  # the usual case: a list of lines
        except TypeError:
            return joiner.join(item for item in value if isinstance(item, str))
    if isinstance(value, (dict, int, float, bool)):
        return json.dumps(value, ensure_ascii=False)
    return ""


def _output_secrets(cell: Cell) -> Iterator[Hit]:
    for texts in output_texts(cell, ("text/plain", "text/html", "text/markdown", "application/json")):
        seen: set[str] = set()  # one output often shows the same value as text/plain and text/html
        for label, text in texts:
            for kind, match in find_tokens(text):
                if match.group() not in seen:
                    seen.add(match.group())
                    yield Hit(cell.index, f"{kind} '{mask(match.group())}' in the {label}: clear the output and revoke the secret")


def check_secret(ctx: LintContext) -> Iterator[Hit]:
    """NB302: credentials in code (known formats, literals bound to secret-like names) and in outputs (known formats)."""
    for cell in ctx.code_cells():
        yield from _code_secrets(cell)
        if ctx.is_python:
            yield from _named_secrets(ctx, cell)
        yield from _output_secrets(cell)


# --- NB303 ------------------------------------------------------------------------------------------

_INSTALL_COMMAND = re.compile(
    r"(?:^|[;&|(]\s*)(?:sudo\s+)?(?:(?:\{[^}]*\}|\S*python[\d.]*(?:\.exe)?)\s+-m\s+pip|pip[\d.]*|uv\s+pip|conda|mamba|micromamba)\s+install\b"
)
_INSTALL_MAGICS = frozenset({"pip", "conda", "mamba", "micromamba"})
_SHELL_CELL_MAGICS = frozenset({"bash", "sh", "script"})


def _installs(magic: Magic) -> bool:
    if magic.kind == "shell":
        return bool(_INSTALL_COMMAND.search(magic.args))
    return magic.kind == "line" and magic.name in _INSTALL_MAGICS and magic.args.split()[:1] == ["install"]


#: A condition that holds only on a hosted notebook service (Colab, Kaggle, SageMaker, Binder, Databricks).
_HOSTED = re.compile(r"colab|kaggle|sagemaker|binder|databricks|paperspace|gradient", re.IGNORECASE)


def _hosted_only_lines(tree: ast.Module | None) -> set[int]:
    """Lines that run only on a hosted service: bodies of ``if IS_COLAB:`` / ``if "google.colab" in sys.modules:``
    and of ``try: import google.colab`` blocks."""
    lines: set[int] = set()
    if tree is None:
        return lines
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            hosted = bool(_HOSTED.search(ast.unparse(node.test)))
        elif isinstance(node, ast.Try):
            hosted = any(isinstance(inner, (ast.Import, ast.ImportFrom)) and _HOSTED.search(ast.unparse(inner)) for inner in node.body)
        else:
            continue
        for statement in node.body if hosted else ():
            lines.update(range(statement.lineno, (statement.end_lineno or statement.lineno) + 1))
    return lines


def check_pip_install(ctx: LintContext) -> Iterator[Hit]:
    """NB303: ``!pip install``, ``%pip install``, ``%conda install`` and friends, and installs in ``%%bash`` cells.

    One finding per cell (the first install; the others are the same fix). Installs that run only on a
    hosted notebook service (under ``if IS_COLAB:``, ``if "google.colab" in sys.modules:``…) are not
    reported: they set up a throw-away machine on purpose.
    """
    if not ctx.is_python:
        return
    for cell in ctx.code_cells():
        lines = cell.source.split("\n")
        transformed = ctx.transformed[cell.index]
        found = [
            (magic.line, next((i for i, char in enumerate(lines[magic.line - 1]) if char in "!%"), 0) + 1)
            for magic in transformed.magics
            if _installs(magic) and 0 < magic.line <= len(lines)
        ]
        script = transformed.cell_magic
        if script is not None and script.name in _SHELL_CELL_MAGICS:
            body = enumerate(lines[script.line :], start=script.line + 1)
            found += [(number, len(line) - len(line.lstrip()) + 1) for number, line in body if _INSTALL_COMMAND.search(line.strip())]
        if not found:
            continue
        hosted = _hosted_only_lines(ctx.trees.get(cell.index))
        found = [(line, column) for line, column in sorted(found) if line not in hosted]
        if found:
            line, column = found[0]
            more = f" (and {len(found) - 1} more in this cell)" if len(found) > 1 else ""
            yield Hit(
                cell.index,
                f"package installed from inside the notebook{more}: declare the dependency in requirements.txt or pyproject.toml instead",
                line,
                column,
            )


# --- NB304 ------------------------------------------------------------------------------------------

_USER_PATH = re.compile(r"/home/[^/\s'\"<>:]+/|/Users/[^/\s'\"<>:]+/|[A-Za-z]:(?:\\{1,2}|/)Users(?:\\{1,2}|/)[^\\/\s'\"<>:]+(?:\\{1,2}|/)")


#: Users that name a container or CI image, not a person.
_GENERIC_USERS = frozenset({"jovyan", "runner", "ubuntu", "user", "vscode", "codespace", "ec2-user", "sagemaker-user", "app", "docker"})
#: What follows a home path that sits inside an installed library (a warning's or log line's source file).
_LIBRARY_PATH = re.compile(
    r"site-packages|dist-packages|[\\/]lib[\\/]python|[\\/]Lib[\\/]|conda|[\\/]\.?venv|[\\/]\.cache[\\/]|[\\/]\.keras[\\/]|"
    r"tensorflow_datasets|nltk_data|scikit_learn_data|huggingface|gensim-data|[\\/]\.kaggle[\\/]"
)
#: Outputs where a path is a library's, not the notebook's: warnings and log lines on stderr, traceback frames.
_LIBRARY_LABELS = frozenset({"stderr output", "error traceback"})


def _user_path(text: str) -> str | None:
    """The first home directory of a person in ``text`` that is not the location of an installed library."""
    if "/home/" not in text and "Users" not in text:
        return None
    for match in _USER_PATH.finditer(text):
        user = re.split(r"[\\/]+", match.group().rstrip("\\/"))[-1]
        if user.lower() in _GENERIC_USERS or _LIBRARY_PATH.search(text, match.end() - 1, match.end() + 160):
            continue
        return match.group()
    return None


def check_user_path_in_output(ctx: LintContext) -> Iterator[Hit]:
    """NB304: outputs that show a person's home directory (not inside a library's warning, traceback or install path)."""
    for cell in ctx.code_cells():
        found = (
            (label, _user_path(text))
            for texts in output_texts(cell, ("text/plain", "text/html"))
            for label, text in texts
            if label not in _LIBRARY_LABELS
        )
        label, path = next(((label, path) for label, path in found if path), (None, None))
        if path:
            yield Hit(cell.index, f"{label} shows the local path '{path}': clear the output or print paths relative to the project")


RULES: tuple[Rule, ...] = (
    Rule(
        "NB301",
        "absolute-path",
        Severity.WARNING,
        "a hard-coded absolute path in code",
        check_absolute_path,
        RuleDoc(
            what="String literals in code that start with a home directory (`/home/…`, `/Users/…`, `/root/…`, `~/…`), a "
            "Windows drive (`C:\\…`, `C:/…`) or a UNC share (`\\\\server\\share`). Parts of f-strings count.",
            why="The path exists on the author's machine only: on a colleague's laptop, in CI, in a container or on a "
            "scheduler the notebook fails with FileNotFoundError, or worse, silently reads something else.",
            bad='df = pd.read_csv("/home/alice/projects/churn/data/train.csv")',
            good='DATA_DIR = Path("data")\ndf = pd.read_csv(DATA_DIR / "train.csv")',
            fix="Use a path relative to the project, a `parameters` cell value, or an environment variable. Not auto-fixable.",
            limits="Heuristic: only literals that start with one of those prefixes. Paths built at run time "
            '(`os.path.join("/", "home", user)`), other absolute roots (`/data/…`, `/mnt/…`) and paths in comments or '
            "docstrings are not reported; a parameter's default value is, because it too works on one machine only.",
        ),
    ),
    Rule(
        "NB302",
        "secret",
        Severity.ERROR,
        "a secret in code or in outputs",
        check_secret,
        RuleDoc(
            what="Credentials in code cells or outputs: well-known key and token formats (AWS, GitHub, Slack, Google, "
            "OpenAI, Anthropic, Stripe, Hugging Face, private key blocks, JSON web tokens) anywhere in code or outputs, "
            "and literals bound to names like `password`, `token`, `secret`, `api_key`, `auth`, `credential` in code.",
            why="Notebooks are committed, shared and rendered on the web with their outputs. A leaked key gives anyone "
            "with the file your access; git history keeps it even after the cell is edited.",
            bad='DB_PASSWORD = "hunter2!"\nconn = connect(host, password=DB_PASSWORD)',
            good='DB_PASSWORD = os.environ["DB_PASSWORD"]\nconn = connect(host, password=DB_PASSWORD)',
            fix="Revoke the credential first, then read it from the environment, a `.env` file kept out of git or a "
            "secret store, and clear outputs that show it. Not auto-fixable.",
            limits="Heuristic. Name-based: a password-like name with a literal of 4+ characters, or a key/token/secret-like "
            "name with a literal of 16+ characters, no whitespace and at least 3 bits of entropy per character; "
            "placeholders (`<your key>`, `changeme`, `xxx`, `dummy`…), paths and URLs are skipped. Secrets under other "
            "names, built from parts, or in formats not listed are missed; outputs are checked for the known formats only.",
        ),
    ),
    Rule(
        "NB303",
        "pip-install-in-notebook",
        Severity.WARNING,
        "a package installed from inside the notebook",
        check_pip_install,
        RuleDoc(
            what="`!pip install`, `%pip install`, `!python -m pip install`, `%conda install`, `%mamba install`, "
            "`!uv pip install` and the like in a code cell, and install commands in `%%bash` cells. One finding per "
            'cell. Installs that run only on a hosted service are not reported: under `if IS_COLAB:`, `if "google.colab" '
            "in sys.modules:`, `if IN_KAGGLE:` (any condition naming Colab, Kaggle, SageMaker, Binder, Databricks) or "
            "in a `try:` block that imports `google.colab`.",
            why="The environment the notebook ran in is then defined by whatever the cells installed that day, in no lock "
            "file; a run next month or on another machine gets other versions, and installing at run time needs network "
            "access a scheduler may not have.",
            bad="%pip install lightgbm\nimport lightgbm as lgb",
            good="# requirements.txt: lightgbm==4.3.0\nimport lightgbm as lgb",
            fix="Declare the dependency (pinned) in requirements.txt or pyproject.toml and install it before the run; "
            "`nb2prod export` pins what the notebook imports. Not auto-fixable.",
            limits="Installs through `subprocess` or `os.system` are not seen. A hosted-service guard is recognised by "
            "its wording only; `else:` branches of such guards are reported.",
        ),
    ),
    Rule(
        "NB304",
        "user-path-in-output",
        Severity.INFO,
        "outputs contain local paths or user names",
        check_user_path_in_output,
        RuleDoc(
            what="Outputs (stdout, text/plain, text/html, error message) that show a person's home directory: "
            "`/home/<user>/`, `/Users/<user>/`, `C:\\Users\\<user>\\`. One finding per cell. Not reported: paths in "
            "stderr (library warnings and log lines) and traceback frames, inside an installed library or a library's "
            "data cache (`site-packages`, a conda or virtual environment, `.cache`, `.keras`, `tensorflow_datasets`, "
            "`nltk_data`…), and generic users of containers and CI (`jovyan`, `runner`, `ubuntu`…).",
            why="They reveal user names and the layout of a machine in a shared file, and usually mean the code behind "
            "them uses machine-specific paths.",
            bad="print(model_path)\n# output:\n# /home/alice/models/churn.pkl",
            good="print(model_path.relative_to(PROJECT_ROOT))\n# output:\n# models/churn.pkl",
            fix="Clear the output (`nb2prod strip`) or print paths relative to the project. Not auto-fixable.",
            limits="Only the three home-directory forms are recognised; a user's path printed to stderr by the "
            "notebook's own code is not reported.",
        ),
    ),
)
