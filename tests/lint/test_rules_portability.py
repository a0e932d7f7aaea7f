"""NB3 rules: absolute paths, secrets, installs from inside the notebook, user paths in outputs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from lint_helpers import AWKWARD_FRAGMENTS, assert_hits_inside, cell_sources

from nb2prod.lint.context import LintContext
from nb2prod.lint.rule import Hit, Rule
from nb2prod.lint.rules import portability
from nb2prod.lint.rules.portability import RULES, is_placeholder, looks_like_secret, secret_kind, shannon_entropy
from nb2prod.notebook import read_notebook

DATA = Path(__file__).parent.parent / "data" / "lint"
BY_CODE: dict[str, Rule] = {rule.code: rule for rule in RULES}
Where = tuple[int | None, int | None, int | None]

# Credentials are assembled at run time so this file holds no string a secret scanner would flag.
AWS_KEY = "AKIA" + "Z7Q2" * 4
GITHUB = "ghp_" + "a1B2c3D4e5" * 3 + "F6g7H8"
GITHUB_PAT = "github_pat_" + "11ABCDEFG0" * 3 + "_" + "xYz9" * 10
SLACK = "xoxb-" + "1234567890-" * 2 + "AbCdEfGhIjKlMnOp"
GOOGLE = "AIza" + "Sy" + "B1c2D3e4F5" * 3 + "g6H"
OPENAI = "sk-" + "T3Bl" + "bkFJ" * 10
OPENAI_PROJECT = "sk-proj-" + "Ab3_dE6-" * 6
ANTHROPIC = "sk-ant-api03-" + "Xy7_Wv5-" * 5
STRIPE = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"
HUGGING_FACE = "hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEf"
PRIVATE_KEY = "-----BEGIN RSA " + "PRIVATE KEY-----"
JWT = "eyJ" + "hbGciOiJIUzI1NiJ9" + ".eyJ" + "zdWIiOiIxMjM0NTY3ODkwIn0" + "." + "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"


def hits(ctx: LintContext, code: str) -> list[Hit]:
    """Run one rule over a context."""
    return list(BY_CODE[code].check(ctx))


def where(found: list[Hit]) -> list[Where]:
    """(cell, line, column) of each hit."""
    return [(hit.cell_index, hit.line, hit.column) for hit in found]


def stream(text: str, name: str = "stdout") -> dict[str, Any]:
    return {"output_type": "stream", "name": name, "text": text}


def display(data: dict[str, Any]) -> dict[str, Any]:
    return {"output_type": "display_data", "data": data, "metadata": {}}


def error(evalue: str, traceback: list[str]) -> dict[str, Any]:
    return {"output_type": "error", "ename": "ValueError", "evalue": evalue, "traceback": traceback}


def with_outputs(*outputs: dict[str, Any], source: str = "show()") -> dict[str, Any]:
    return {"source": source, "outputs": list(outputs), "execution_count": 1}


# --- fixtures on disk ---------------------------------------------------------------------------

FIXTURE_CASES = [
    ("nb301_absolute_path", "NB301", [(1, 3, 18), (2, 1, 13), (2, 2, 9)]),
    ("nb301_clean", "NB301", []),
    ("nb302_secret_in_code", "NB302", [(0, 3, 44), (1, 1, 15)]),
    ("nb302_secret_in_output", "NB302", [(0, None, None), (1, None, None)]),
    ("nb302_clean", "NB302", []),
    ("nb303_pip_install", "NB303", [(0, 1, 1), (1, 2, 1), (2, 1, 1)]),
    ("nb303_clean", "NB303", []),
    ("nb304_user_path_in_output", "NB304", [(0, None, None)]),  # cell 2's path is in a traceback frame
    ("nb304_clean", "NB304", []),
    ("nb302_credentials_file_name_not_secret", "NB302", []),
    ("nb303_install_under_hosted_guard", "NB303", []),
    ("nb304_library_warning_paths_not_reported", "NB304", []),
]


def test_secret_literal_reported_once_per_cell(context_for: Callable[..., LintContext]) -> None:
    """What NB302 still finds: a real-looking key, once per cell however often the cell uses it."""
    key = "AZOB7Q2LXK9PM4RT"
    cell = f"api_key = '{key}'\nts = TimeSeries(key='{key}')\nfd = Fundamentals(api_key='{key}')"
    assert where(hits(context_for([cell]), "NB302")) == [(0, 1, 11)]


def test_install_outside_the_hosted_guard_still_reported(context_for: Callable[..., LintContext]) -> None:
    """What NB303 still finds: an install in the `else:` branch of a Colab guard, or with no guard."""
    cells = ["import sys\nif 'google.colab' in sys.modules:\n    %pip install a\nelse:\n    %pip install b", "!pip install c"]
    assert where(hits(context_for(cells), "NB303")) == [(0, 5, 5), (1, 1, 1)]


@pytest.mark.parametrize(("name", "code", "expected"), FIXTURE_CASES, ids=[case[0] for case in FIXTURE_CASES])
def test_fixture_notebooks(name: str, code: str, expected: list[Where]) -> None:
    ctx = LintContext(read_notebook(DATA / f"{name}.ipynb"))
    assert where(hits(ctx, code)) == expected


def test_fixture_messages_are_specific_and_mask_secrets() -> None:
    code_secrets = hits(LintContext(read_notebook(DATA / "nb302_secret_in_code.ipynb")), "NB302")
    assert code_secrets[0].message.startswith("AWS access key id 'AKIA…'")
    assert "'DB_PASSWORD'" in code_secrets[1].message and "s3cr3t" not in code_secrets[1].message
    output_secrets = hits(LintContext(read_notebook(DATA / "nb302_secret_in_output.ipynb")), "NB302")
    assert "stdout output" in output_secrets[0].message and "JSON web token 'eyJh…'" in output_secrets[0].message
    assert "text/plain output" in output_secrets[1].message
    user_paths = hits(LintContext(read_notebook(DATA / "nb304_user_path_in_output.ipynb")), "NB304")
    assert "'/home/alice/'" in user_paths[0].message and "stdout" in user_paths[0].message
    assert len(user_paths) == 1  # C:\Users\bob\ is in a traceback frame: not reported


# --- NB301 --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('p = "/home/alice/x.csv"', [(0, 1, 5)]),
        ('p = "/Users/bob/Desktop/x.csv"', [(0, 1, 5)]),
        ('p = "/root/models"', [(0, 1, 5)]),
        ('p = "~/data"', [(0, 1, 5)]),
        ('p = r"C:\\data\\x.csv"', [(0, 1, 5)]),
        ('p = "d:/data/x.csv"', [(0, 1, 5)]),
        ('p = r"\\\\fileserver\\share\\x.csv"', [(0, 1, 5)]),
        ('p = f"/home/alice/{name}.csv"', [(0, 1, 5)]),
        ('é = "é"; p = "/home/alice"', [(0, 1, 14)]),  # columns count characters, not UTF-8 bytes
        ('a = "/home/a"\nb = ("x", "/Users/b")', [(0, 1, 5), (0, 2, 11)]),
        ('p = "data/x.csv"', []),
        ('p = "/data/x.csv"', []),
        ('p = "https://host/home/alice"', []),
        ('p = f"{root}/home/alice"', []),
        ('p = "see /home/alice"', []),
        ("# /home/alice/data\np = 1", []),
        ('def f():\n    """/home/alice is where it was."""', []),
        ('p = b"/home/alice"', []),
    ],
)
def test_absolute_path(context_for: Callable[..., LintContext], source: str, expected: list[Where]) -> None:
    assert where(hits(context_for([source]), "NB301")) == expected


def test_absolute_path_ignores_markdown_and_names_the_path(context_for: Callable[..., LintContext]) -> None:
    ctx = context_for([("markdown", "Data: /home/alice/data"), 'load("/home/alice/data")'])
    [hit] = hits(ctx, "NB301")
    assert (hit.cell_index, hit.line) == (1, 1)
    assert "'/home/alice/data'" in hit.message


# --- NB302 --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "kind"),
    [
        (AWS_KEY, "AWS access key id"),
        ("ASIA" + "Q3R4" * 4, "AWS access key id"),
        (GITHUB, "GitHub token"),
        ("gho_" + GITHUB[4:], "GitHub token"),
        ("ghs_" + GITHUB[4:], "GitHub token"),
        (GITHUB_PAT, "GitHub token"),
        (SLACK, "Slack token"),
        (GOOGLE, "Google API key"),
        (OPENAI, "OpenAI API key"),
        (OPENAI_PROJECT, "OpenAI API key"),
        (ANTHROPIC, "Anthropic API key"),
        (STRIPE, "Stripe live key"),
        ("rk_live_" + STRIPE[8:], "Stripe live key"),
        (HUGGING_FACE, "Hugging Face token"),
        (PRIVATE_KEY, "private key"),
        ("-----BEGIN OPENSSH " + "PRIVATE KEY-----", "private key"),
        (JWT, "JSON web token"),
    ],
)
def test_secret_token_formats_in_code(context_for: Callable[..., LintContext], token: str, kind: str) -> None:
    [hit] = hits(context_for([f'client = Client("{token}")']), "NB302")
    assert (hit.cell_index, hit.line, hit.column) == (0, 1, 18)
    assert hit.message.startswith(f"{kind} '{token[:4]}…'")
    assert token[4:12] not in hit.message


@pytest.mark.parametrize(
    "text",
    [
        "AKIA" + "Z7Q2" * 3,  # too short
        "XAKIA" + "Z7Q2" * 4,  # part of a longer word
        "ghp_short",
        "sk-learn-is-not-a-key-but-a-name",
        "sk-ant",
        "sk_test_" + "4eC39HqLyjWDarjtT1zdp7dc",
        "hf_" + "transformersmodelcachedirectory",  # one case only: a name, not a token
        "-----BEGIN PUBLIC KEY-----",
        "eyJhbGciOiJIUzI1NiJ9",
    ],
)
def test_secret_token_look_alikes(context_for: Callable[..., LintContext], text: str) -> None:
    assert hits(context_for([f'value = "{text}"']), "NB302") == []


def test_secret_token_in_comment_magic_and_unparsable_cell(context_for: Callable[..., LintContext]) -> None:
    curl = f"!curl -H 'Authorization: token {GITHUB}' https://api.github.com"
    ctx = context_for([f"# old key: {AWS_KEY}", curl, f"def (:\n    '{STRIPE}'"])
    assert where(hits(ctx, "NB302")) == [(0, 1, 12), (1, 1, 32), (2, 2, 6)]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('password = "hunter22"', [(0, 1, 12)]),
        ('DB_PASSWORD = "hunter22"', [(0, 1, 15)]),
        ('dbPassword = "hunter22"', [(0, 1, 14)]),
        ('pwd = "hunter22"', [(0, 1, 7)]),
        ('passwd: str = "hunter22"', [(0, 1, 15)]),
        ('connect(host="db", password="hunter22")', [(0, 1, 29)]),
        ('cfg = {"password": "hunter22"}', [(0, 1, 20)]),
        ('cfg["db_password"] = "hunter22"', [(0, 1, 22)]),
        ('settings.password = "hunter22"', [(0, 1, 21)]),
        ('user, pwd = "bob", "hunter22"', [(0, 1, 20)]),
        ('def connect(password="hunter22"): ...', [(0, 1, 22)]),
        ('def connect(*, password="hunter22"): ...', [(0, 1, 25)]),
        ('if (pwd := "hunter22"): ...', [(0, 1, 12)]),
        ('API_KEY = "q8Zr2Lw9Xv4Tn6Bp"', [(0, 1, 11)]),
        ('apiKey = "q8Zr2Lw9Xv4Tn6Bp"', [(0, 1, 10)]),
        ('client_secret = "q8Zr2Lw9Xv4Tn6Bp"', [(0, 1, 17)]),
        ('aws_secret_access_key = "q8Zr2Lw9Xv4Tn6Bp/Yk3"', [(0, 1, 25)]),
        ('access_token = "q8Zr2Lw9Xv4Tn6Bp"', [(0, 1, 16)]),
        ('headers = {"Authorization": "Bearer q8Zr2Lw9Xv4Tn6Bp"}', [(0, 1, 29)]),
        ('headers = {"X-Api-Key": "q8Zr2Lw9Xv4Tn6Bp"}', [(0, 1, 25)]),
        ('credentials = "q8Zr2Lw9Xv4Tn6Bp"', [(0, 1, 15)]),
        ('AUTH = "q8Zr2Lw9Xv4Tn6Bp"', [(0, 1, 8)]),
        ('private_key = "q8Zr2Lw9Xv4Tn6Bp"', [(0, 1, 15)]),
        ('é = 1; token = "q8Zr2Lw9Xv4Tn6Bp"', [(0, 1, 16)]),
    ],
)
def test_secret_literal_bound_to_secret_name(context_for: Callable[..., LintContext], source: str, expected: list[Where]) -> None:
    assert where(hits(context_for([source]), "NB302")) == expected


@pytest.mark.parametrize(
    "source",
    [
        'password = os.environ["DB_PASSWORD"]',
        'password = os.getenv("DB_PASSWORD")',
        "password = getpass.getpass()",
        'password = f"{prefix}-pass"',
        'password = ""',
        'password = "abc"',  # shorter than 4
        'password = "********"',
        'password = "<your password>"',
        'password = "YOUR_PASSWORD"',
        'password = "changeme"',
        'password = "xxx-xxx"',
        'password = "..."',
        'password = "dummy-pass"',
        'password = "example123"',
        'password = "placeholder"',
        'password = "TODO: fill in"',
        'password = "${DB_PASSWORD}"',
        'password_file = "/etc/db/secret.txt"',
        'password_prompt = "Enter the password: "',
        'token_url = "https://login.example.com/oauth2/token"',
        'secret_name = "prod/db/credentials"',
        'token_type = "bearer"',
        'author = "Jane Q. Public"',
        'tokenizer = "bert-base-uncased-tokenizer"',
        'api_key = "q8Zr2Lw9Xv4Tn6B"',  # 15 characters
        'api_key = "aaaabbbbccccdddd"',  # 16 characters, 2 bits per character
        'api_key = "correct horse battery staple"',  # words, not a token
        'secret = "/run/secrets/db"',
        'key = "q8Zr2Lw9Xv4Tn6Bp"',  # a bare "key" is too common a name
        'print("password", "hunter22")',
    ],
)
def test_secret_not_reported(context_for: Callable[..., LintContext], source: str) -> None:
    assert hits(context_for([source]), "NB302") == []


def test_secret_reported_once_when_format_and_name_both_match(context_for: Callable[..., LintContext]) -> None:
    [hit] = hits(context_for([f'GITHUB_TOKEN = "{GITHUB}"']), "NB302")
    assert (hit.line, hit.column) == (1, 17) and hit.message.startswith("GitHub token")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0.0),
        ("aaaa", 0.0),
        ("ab", 1.0),
        ("abcd", 2.0),
        ("abcdefgh", 3.0),
        ("aabbccddeeffgghh", 3.0),
    ],
)
def test_shannon_entropy(text: str, expected: float) -> None:
    assert shannon_entropy(text) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("value", "secret"),
    [
        ("aabbccddeeffgghh", True),  # 16 characters, exactly 3.0 bits: reported
        ("aabbccddeeffggh", False),  # 15 characters
        ("aaabbccddeeffggh", False),  # 16 characters, just under 3.0 bits
        ("Bearer aabbccddeeffgghh", True),
        ("aabbccddeeffgghh ", True),  # surrounding space is not part of the value
        ("aabbcc ddeeffgghh", False),
    ],
)
def test_entropy_threshold(value: str, secret: bool) -> None:
    assert looks_like_secret("secret", value) is secret


@pytest.mark.parametrize(
    ("value", "placeholder"),
    [("", True), ("     ", True), ("zzzz", True), ("<token>", True), ("Your-Key", True), ("***", True), ("s3cr3t!", False)],
)
def test_placeholders(value: str, placeholder: bool) -> None:
    assert is_placeholder(value) is placeholder


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("password", "password"),
        ("DB_PASS_WORD", "password"),
        ("pass_through", None),
        ("dbpassword", "password"),
        ("userPwd", "password"),
        ("pwd_dir", None),
        ("SECRET_KEY", "secret"),
        ("githubToken", "secret"),
        ("HFTOKEN", "secret"),
        ("apikey", "secret"),
        ("OpenAIApiKey", "secret"),
        ("author", None),
        ("tokenizer", None),
        ("max_tokens", None),
        ("key", None),
        ("auth_url", None),
    ],
)
def test_secret_names(name: str, kind: str | None) -> None:
    assert secret_kind(name) == kind


@pytest.mark.parametrize(
    ("output", "label"),
    [
        (stream(f"key={AWS_KEY}\n"), "stdout output"),
        (stream(f"warning {GITHUB}\n", "stderr"), "stderr output"),
        ({"output_type": "stream", "name": "stdout", "text": ["a\n", f"{SLACK}\n"]}, "stdout output"),
        (display({"text/plain": f"'{OPENAI}'"}), "text/plain output"),
        (display({"text/html": [f"<td>{GOOGLE}</td>"]}), "text/html output"),
        (display({"text/markdown": f"`{HUGGING_FACE}`"}), "text/markdown output"),
        (display({"application/json": {"auth": {"token": JWT}}}), "application/json output"),
        (display({"application/json": f'"{ANTHROPIC}"'}), "application/json output"),
        (error(f"bad key {STRIPE}", []), "error message"),
        (error("boom", ["\x1b[0;31mTraceback\x1b[0m", f"\x1b[1m{PRIVATE_KEY}\x1b[0m"]), "error traceback"),
        ({"output_type": "execute_result", "execution_count": 1, "data": {"text/plain": f"'{GITHUB_PAT}'"}}, "text/plain output"),
    ],
)
def test_secret_in_outputs(context_for: Callable[..., LintContext], output: dict[str, Any], label: str) -> None:
    [hit] = hits(context_for([with_outputs(output)]), "NB302")
    assert (hit.cell_index, hit.line, hit.column) == (0, None, None)
    assert f"in the {label}:" in hit.message


def test_secret_in_outputs_counts_occurrences(context_for: Callable[..., LintContext]) -> None:
    same_value_twice = display({"text/plain": AWS_KEY, "text/html": f"<b>{AWS_KEY}</b>"})
    two_values = stream(f"{AWS_KEY} {GITHUB}\n")
    ctx = context_for([with_outputs(same_value_twice, two_values, stream(f"{AWS_KEY}\n"))])
    assert [hit.message.split("'")[1] for hit in hits(ctx, "NB302")] == ["AKIA…", "AKIA…", "ghp_…", "AKIA…"]


@pytest.mark.parametrize(
    "output",
    [
        stream('password = "hunter22"\n'),  # name-based detection is for code only
        display({"image/png": AWS_KEY}),  # binary outputs are not text
        display({"text/latex": AWS_KEY}),
        stream("all good\n"),
    ],
)
def test_secret_not_in_outputs(context_for: Callable[..., LintContext], output: dict[str, Any]) -> None:
    assert hits(context_for([with_outputs(output)]), "NB302") == []


def test_secret_not_in_markdown(context_for: Callable[..., LintContext]) -> None:
    assert hits(context_for([("markdown", f"key: {AWS_KEY}"), ("raw", f"password = 'hunter22' {GITHUB}")]), "NB302") == []


# --- NB303 --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("!pip install pandas", [(0, 1, 1)]),
        ("!pip3 install -q pandas", [(0, 1, 1)]),
        ("!python -m pip install pandas", [(0, 1, 1)]),
        ("!python3 -m pip install -U pandas", [(0, 1, 1)]),
        ("import sys\n!{sys.executable} -m pip install pandas", [(0, 2, 1)]),
        ("%pip install pandas", [(0, 1, 1)]),
        ("%conda install -y pandas", [(0, 1, 1)]),
        ("%mamba install pandas", [(0, 1, 1)]),
        ("!conda install -y pandas", [(0, 1, 1)]),
        ("!mamba install pandas", [(0, 1, 1)]),
        ("!uv pip install pandas", [(0, 1, 1)]),
        ("!cd /tmp && pip install pandas", [(0, 1, 1)]),
        ("if True:\n    !pip install pandas", [(0, 2, 5)]),
        ("out = !pip install pandas", [(0, 1, 7)]),
        ("!pip install a\n%pip install b", [(0, 1, 1)]),  # one finding per cell
    ],
)
def test_pip_install(context_for: Callable[..., LintContext], source: str, expected: list[Where]) -> None:
    found = hits(context_for([source]), "NB303")
    assert where(found) == expected
    assert all("requirements.txt or pyproject.toml" in hit.message for hit in found)


@pytest.mark.parametrize(
    "source",
    [
        "!pip list",
        "!pip uninstall -y pandas",
        "!pip freeze > requirements.txt",
        "%pip show pandas",
        "%conda list",
        "!echo pip install",
        "!pipx list",
        "# !pip install pandas",
        'print("!pip install pandas")',
        "!ls",
        "%matplotlib inline",
    ],
)
def test_pip_install_not_reported(context_for: Callable[..., LintContext], source: str) -> None:
    assert hits(context_for([source]), "NB303") == []


# --- NB304 --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "shown"),
    [
        (stream("saved to /home/alice/models/m.pkl\n"), "/home/alice/"),
        (stream("/Users/bob/Library/x\n", "stdout"), "/Users/bob/"),
        (display({"text/plain": "WindowsPath('C:/Users/carol/data')"}), "C:/Users/carol/"),
        (display({"text/plain": "'C:\\\\Users\\\\carol\\\\data'"}), "C:\\\\Users\\\\carol\\\\"),
        (display({"text/html": "<a href='/home/dave/x.html'>x</a>"}), "/home/dave/"),
        (error("[Errno 2] No such file: '/home/erin/data.csv'", []), "/home/erin/"),
    ],
)
def test_user_path_in_output(context_for: Callable[..., LintContext], output: dict[str, Any], shown: str) -> None:
    [hit] = hits(context_for([with_outputs(output)]), "NB304")
    assert (hit.cell_index, hit.line, hit.column) == (0, None, None)
    assert f"'{shown}'" in hit.message


def test_user_path_one_hit_per_cell(context_for: Callable[..., LintContext]) -> None:
    cell = with_outputs(stream("/home/alice/a\n/home/bob/b\n"), display({"text/plain": "/Users/carol/c"}))
    ctx = context_for([cell, with_outputs(stream("ok\n")), cell])
    found = hits(ctx, "NB304")
    assert [hit.cell_index for hit in found] == [0, 2]
    assert "'/home/alice/'" in found[0].message


@pytest.mark.parametrize(
    "output",
    [
        stream("models/churn.pkl\n"),
        stream("/home\n"),
        stream("/usr/lib/python3/site-packages/x.py\n"),
        error("boom", ["File \x1b[0;32m/home/frank/nb.py\x1b[0m, line 3"]),  # a traceback frame
        stream("Downloading mnist to /Users/ageron/tensorflow_datasets/mnist/3.0.1\n", "stdout"),  # a library's data cache
        display({"text/plain": "['/Users/ageron/.keras/datasets/quickdraw/eval.tfrecord-00000']"}),
        stream("/Users/x/miniconda3/lib/python3.10/site-packages/sklearn/_logistic.py:444: ConvergenceWarning\n", "stderr"),
        stream("checkpoint: /home/jovyan/work/ckpt\n", "stdout"),
        display({"text/markdown": "/home/alice/x"}),  # not one of the kinds NB304 reads
        display({"image/png": "/home/alice/x"}),
    ],
)
def test_user_path_not_reported(context_for: Callable[..., LintContext], output: dict[str, Any]) -> None:
    assert hits(context_for([with_outputs(output)]), "NB304") == []


def test_user_path_in_code_is_not_an_output_finding(context_for: Callable[..., LintContext]) -> None:
    assert hits(context_for(['p = "/home/alice/x"']), "NB304") == []


# --- every rule -----------------------------------------------------------------------------------


def example_cell(example: str) -> dict[str, Any]:
    """A code cell from a RuleDoc example; lines after ``# output:`` become its stream output."""
    code, _, output = example.partition("\n# output:\n")
    text = "".join(line.removeprefix("# ") + "\n" for line in output.splitlines())
    return {"source": code, "outputs": [stream(text)] if text else [], "execution_count": 1 if text else None}


@pytest.mark.parametrize("rule", RULES, ids=[rule.code for rule in RULES])
def test_rule_doc_is_complete_and_examples_behave(context_for: Callable[..., LintContext], rule: Rule) -> None:
    doc = rule.doc
    assert all(part.strip() for part in (doc.what, doc.why, doc.bad, doc.good, doc.fix)), rule.code
    assert doc.limits.strip() and "auto-fixable" in doc.fix
    assert not rule.fixable and rule.default_on
    assert rule.code.startswith("NB3")
    assert list(rule.check(context_for([example_cell(doc.bad)]))), f"{rule.code}: the bad example is not reported"
    assert not list(rule.check(context_for([example_cell(doc.good)]))), f"{rule.code}: the good example is reported"


def test_rules_survive_unparsable_cells_magics_and_odd_outputs(context_for: Callable[..., LintContext]) -> None:
    cells: list[Any] = [
        "def broken(:\n    '/home/alice'",
        "%matplotlib inline\n!ls /home\nx = !pip list\nmodel?",
        "%%bash\npip install pandas\necho /home/alice/x",
        "%%time\np = '/home/alice/x'",
        ("markdown", "# Title /home/alice"),
        ("raw", "!pip install x"),
        "",
        "\x00",
        {"source": "x", "outputs": [{"output_type": "stream"}, {"output_type": "display_data", "data": None}, {"output_type": "?"}]},
        {"source": "x", "outputs": [{"output_type": "error", "evalue": None, "traceback": [1, None]}, {"output_type": "display_data"}]},
    ]
    ctx = context_for(cells)
    for rule in RULES:
        assert isinstance(list(rule.check(ctx)), list)
    assert where(hits(ctx, "NB301")) == [(3, 2, 5)]


def test_non_python_notebook_skips_code_rules_but_checks_outputs(context_for: Callable[..., LintContext]) -> None:
    metadata = {"kernelspec": {"name": "ir", "display_name": "R", "language": "R"}, "language_info": {"name": "R"}}
    ctx = context_for([with_outputs(stream("/home/alice/x\n"), source='p <- "/home/alice/x"\npassword <- "hunter22"')], metadata=metadata)
    assert hits(ctx, "NB301") == [] and hits(ctx, "NB303") == []
    assert [hit.line for hit in hits(ctx, "NB304")] == [None]
    assert hits(ctx, "NB302") == []


def test_module_exposes_rules_only() -> None:
    assert portability.RULES == RULES and {rule.code for rule in RULES} == {"NB301", "NB302", "NB303", "NB304"}


FRAGMENTS = [
    f"k = '{AWS_KEY}'",
    "password = 'hunter22'",
    "p = '/home/alice/x'",
    "!pip install x",
    "%pip install x",
    "%%bash\npip install x",
    *AWKWARD_FRAGMENTS,
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cell_sources(FRAGMENTS))
def test_rules_never_raise_on_generated_cells(context_for: Callable[..., LintContext], sources: list[str]) -> None:
    assert_hits_inside(context_for(sources), RULES, len(sources))
