"""Secrets: which parameters hold one, which texts look like one, and masking them in any text.

nb2prod promises that a secret given to a run never reaches a record, a saved notebook or a
message. This module is the one place that decides what a secret is, so that records, runs, run,
verify and lint agree. It imports nothing else of nb2prod.

- **By name** (``is_secret_name``): a parameter whose name says it holds a secret. The name is
  split into lower-case words (``DB_PASSWORD``, ``dbPassword`` and ``db-password`` are the same
  words). It is secret when

  - its words, joined, contain ``password``, ``passwd``, ``passphrase``, ``secret``,
    ``credential``, ``apikey``, ``accesskey`` or ``privatekey`` (``client_secret``,
    ``gcp_credentials``, ``OPENAI_APIKEY``, ``aws_access_key_id``);
  - a word is ``token`` or ends in ``token`` (``hf_token``, ``authtoken``), or is ``auth``,
    ``authorization``, ``bearer`` or ``cookie``, except the special tokens of NLP tokenizers
    (``pad_token``, ``eos_token``…);
  - its last word is ``pwd``, ``pw`` or ``pass`` after another word (``db_pass``; ``two_pass`` too,
    but a boolean is never redacted);
  - its last word is ``key`` or ``keys`` (``api_key``, ``openai_key``, ``aws_access_key``,
    ``private_key``, a bare ``key``), unless the word before says what kind of key it is and that
    kind is not a secret: ``sort_key``, ``primary_key``, ``public_key``, ``rng_key``… A bare
    ``keys`` is not secret;

  and it is never secret when its last word says the value is *about* the secret, not the secret:
  ``token_url``, ``password_file``, ``secret_name``, ``credentials_path``, ``api_key_env``.
  Plurals and derived words are not the word: ``max_tokens``, ``n_tokens``, ``tokenizer_name``,
  ``keyboard``, ``key_column``, ``monkey``, ``turkey`` are not secret. These decisions trade a
  secret's safety against a record that still says which settings produced a result (an LLM's
  ``max_tokens`` is a setting that matters); ``tests/test_secrets.py`` holds the table.

- **By value** (``find_tokens``): a text in a well-known credential format (AWS, GitHub, Slack,
  Google, Anthropic, OpenAI, Stripe, Hugging Face, private key blocks, JSON web tokens) is a
  secret whatever the name it is given under. Lint's NB302 uses the same formats.

- **Masking** (``Masker``): given the secret values of a run, replace every occurrence of them, and
  of any credential in a known format, by ``***`` in a text or in JSON-like data (a notebook, a
  record). A value is also found in the forms it takes when printed as a Python ``repr``, as JSON,
  URL-quoted or HTML-escaped (and those escaped once more), and when ANSI colour codes (IPython's
  tracebacks) are interleaved with it. Values shorter than ``MIN_MASKED`` characters are redacted
  as parameters but not searched for in text, and values shorter than ``WHOLE_WORD_BELOW`` are
  masked only where they stand as a word of their own: a secret parameter's default of ``"none"``
  must not turn ``nonexistent`` into ``***xistent``. Longer values are masked wherever they are
  (``"Bearer" + token`` too), and also where they are encoded: in hexadecimal, and in base64 (standard
  and URL-safe) wherever the value stands in the encoded bytes, so ``Authorization: Basic …`` built
  from ``user:password`` shows no part that decodes to the password. Only the characters that encode
  the value alone are masked; the one or two on each side that mix it with its neighbours stay.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import quote

REDACTED = "***"
#: Secret values shorter than this are not searched for in text (``"ab"`` would mask half the words).
MIN_MASKED = 4
#: Secret values shorter than this are masked only as words of their own (not inside ``nonexistent``).
WHOLE_WORD_BELOW = 10

# --- by name --------------------------------------------------------------------------------------

_SECRET_PARTS = ("password", "passwd", "passphrase", "secret", "credential", "apikey", "accesskey", "privatekey")
_SECRET_WORDS = frozenset({"auth", "authorization", "bearer", "cookie"})
_LAST_SECRET_WORDS = frozenset({"pwd", "pw", "pass"})
#: The special tokens of NLP tokenizers: ``pad_token="[PAD]"`` is a setting, not a credential.
_TOKENIZER_TOKENS = frozenset({"pad", "eos", "bos", "unk", "mask", "sep", "cls", "start", "end", "stop", "special"})
#: Kinds of keys that are not secrets: ``sort_key``, ``primary_key``, ``public_key``, ``rng_key``…
_HARMLESS_KEYS = frozenset(
    {
        "sort", "group", "groupby", "join", "merge", "primary", "foreign", "partition", "shard", "cache", "rng", "prng",
        "random", "seed", "label", "target", "index", "column", "col", "field", "dict", "lookup", "row", "feature",
        "metric", "s3", "object", "public", "hash", "order", "query", "attention", "state", "layer", "map",
    }
)  # fmt: skip
#: A last word that says the value is about the secret, not the secret (``token_url``, ``password_file``).
_ABOUT_THE_SECRET = frozenset(
    {
        "path", "file", "filename", "dir", "directory", "folder", "url", "uri", "endpoint", "host", "env", "var",
        "variable", "name", "prompt", "type", "kind", "length", "len", "count", "size", "format", "pattern", "regex",
        "hint", "help", "label", "column", "col", "field", "scope", "mode", "method", "scheme", "provider",
    }
)  # fmt: skip


def name_words(name: str) -> list[str]:
    """``dbPassword`` / ``DB_PASSWORD`` / ``X-Api-Key`` -> lower-case words."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", spaced)
    return [word for word in re.split(r"[^a-z0-9]+", spaced.lower()) if word]


def is_secret_name(name: str) -> bool:
    """Whether a parameter's name says it holds a secret (the rule is in the module docstring)."""
    words = name_words(name)
    if not words or words[-1] in _ABOUT_THE_SECRET:
        return False
    joined = "".join(words)
    if any(part in joined for part in _SECRET_PARTS):
        return True
    for index, word in enumerate(words):
        if word in _SECRET_WORDS or (word.endswith("token") and word != "token"):
            return True
        if word == "token" and (index == 0 or words[index - 1] not in _TOKENIZER_TOKENS):
            return True
    last = words[-1]
    if last in _LAST_SECRET_WORDS and len(words) > 1:
        return True
    if last == "key" and len(words) == 1:
        return True
    return last in ("key", "keys") and len(words) > 1 and words[-2] not in _HARMLESS_KEYS


# --- by value -------------------------------------------------------------------------------------

#: Well-known credential formats: (what it is, substrings one of which it must contain, pattern).
TOKEN_FORMATS: tuple[tuple[str, tuple[str, ...], re.Pattern[str]], ...] = (
    ("AWS access key id", ("AKIA", "ASIA"), re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![A-Za-z0-9])")),
    ("GitHub token", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"), re.compile(r"(?<![A-Za-z0-9])gh[pousr]_[A-Za-z0-9]{36}(?![A-Za-z0-9])")),
    ("GitHub token", ("github_pat_",), re.compile(r"(?<![A-Za-z0-9])github_pat_[A-Za-z0-9_]{22,}")),
    ("Slack token", ("xox",), re.compile(r"(?<![A-Za-z0-9])xox[baprs]-[A-Za-z0-9-]{10,}")),
    ("Google API key", ("AIza",), re.compile(r"(?<![A-Za-z0-9])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])")),
    ("Anthropic API key", ("sk-ant-",), re.compile(r"(?<![A-Za-z0-9])sk-ant-[A-Za-z0-9_-]{20,}")),
    ("OpenAI API key", ("sk-",), re.compile(r"(?<![A-Za-z0-9])sk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,}|(?!ant-)[A-Za-z0-9]{32,})")),
    ("Stripe live key", ("k_live_",), re.compile(r"(?<![A-Za-z0-9])[sr]k_live_[A-Za-z0-9]{16,}")),
    ("Hugging Face token", ("hf_",), re.compile(r"(?<![A-Za-z0-9])hf_(?=[a-z]*[A-Z])(?=[A-Z]*[a-z])[A-Za-z]{30,}(?![A-Za-z0-9])")),
    ("private key", ("PRIVATE KEY",), re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY(?: BLOCK)?-----")),
    ("JSON web token", ("eyJ",), re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}")),
)

#: A whole private key block (masking only its BEGIN line would leave the key itself).
_PRIVATE_KEY_BLOCK = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY(?: BLOCK)?-----.*?(?:-----END [A-Z ]*PRIVATE KEY(?: BLOCK)?-----|\Z)", re.DOTALL
)


def find_tokens(text: str) -> Iterator[tuple[str, re.Match[str]]]:
    """Every well-known credential in ``text``, as (kind, match), in order of position."""
    present = [(kind, pattern) for kind, markers, pattern in TOKEN_FORMATS if any(marker in text for marker in markers)]
    if not present:  # substring tests are far faster than a regular expression over a long output
        return
    found = [(match.start(), kind, match) for kind, pattern in present for match in pattern.finditer(text)]
    for _, kind, match in sorted(found, key=lambda item: item[0]):
        yield kind, match


def _strings(value: Any) -> Iterator[str]:
    """Every string in a JSON-like value (dict keys included); numbers as their text."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield repr(value)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)


def is_secret_value(value: Any) -> bool:
    """Whether a value holds a text in a well-known credential format (anywhere in it, lists and dicts included)."""
    return any(next(find_tokens(text), None) is not None for text in _strings(value) if isinstance(text, str))


def is_secret(name: str, value: Any) -> bool:
    """Whether the parameter ``name`` with ``value`` is a secret: by its name or by the shape of its value.

    None, booleans and the empty string carry nothing and are never secret.
    """
    if value is None or isinstance(value, bool) or value == "":
        return False
    return is_secret_name(name) or is_secret_value(value)


def redact(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """``parameters`` with the value of each secret (by name or by value) replaced by ``***``."""
    return {name: (REDACTED if is_secret(name, value) else value) for name, value in parameters.items()}


def secret_values(parameters: Mapping[str, Any]) -> set[str]:
    """The texts to mask for a run: every string (and number) inside the value of each secret parameter."""
    return {text for name, value in parameters.items() if is_secret(name, value) for text in _strings(value) if text != REDACTED}


# --- masking --------------------------------------------------------------------------------------

#: Texts at least this long that hold no secret are remembered (at most ``_REMEMBERED_COUNT`` of them).
_REMEMBERED = 1024
_REMEMBERED_COUNT = 100_000
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")
#: Output data stored base64 in a notebook: a secret cannot appear in them as text, and masking would break them.
_BINARY_PREFIXES = ("image/", "audio/", "video/", "application/pdf", "application/octet-stream")


def _escapes(text: str) -> set[str]:
    """``text`` as a Python repr, JSON (ASCII and not), URL-quoted and HTML-escaped shows it, without quotes."""
    return {
        repr(text)[1:-1],
        json.dumps(text)[1:-1],
        json.dumps(text, ensure_ascii=False)[1:-1],
        quote(text, safe=""),
        html.escape(text),
        html.escape(text, quote=False),
    }


def forms(secret: str) -> set[str]:
    """The texts ``secret`` can show up as: itself, escaped once (repr, JSON, URL, HTML), and escaped twice."""
    once = {secret} | _escapes(secret)
    twice = {form for text in once for form in (repr(text)[1:-1], json.dumps(text)[1:-1])}
    return once | twice


def encoded_forms(secret: str) -> set[str]:
    """``secret``'s UTF-8 bytes in hexadecimal (both cases) and in base64 at each of the three byte offsets.

    Base64 turns 3 bytes into 4 characters, so a value inside a longer encoded text (``user:password``
    in a Basic authorization header) is spelt one of three ways depending on where it starts; each
    spelling keeps only the characters that the value's bits alone decide.
    """
    raw = secret.encode("utf-8", "surrogatepass")
    found = {binascii.hexlify(raw).decode(), binascii.hexlify(raw).decode().upper()}
    for offset in range(3):
        encoded = base64.b64encode(bytes(offset) + raw).decode()
        first = -(-8 * offset // 6)  # the first character made of the value's bits only
        last = (8 * (offset + len(raw))) // 6  # the characters before it hold no bit of what follows
        part = encoded[first:last]
        found |= {part, part.replace("+", "-").replace("/", "_")}
    return found


class Masker:
    """Replaces a run's secret values, and any credential in a known format, by ``***``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        groups = []
        self._exact = {s for s in secrets if isinstance(s, str) and len(s.strip()) >= MIN_MASKED}
        for secret in self._exact:
            shown = sorted(forms(secret), key=len, reverse=True)
            anchor = _common_prefix(shown)
            groups.append((anchor if len(anchor) >= 2 else "", shown, len(secret) < WHOLE_WORD_BELOW))
            if len(secret) >= WHOLE_WORD_BELOW:  # encoded: each form its own anchor (they share no prefix)
                groups += [(form, [form], False) for form in encoded_forms(secret)]
        self._groups = groups
        # Long texts already searched: papermill saves the whole notebook after every cell, the earlier outputs unchanged.
        self._clean: set[str] = set()

    def text(self, text: str) -> str:
        """``text`` with every secret masked; ANSI escape sequences inside a masked span are kept."""
        if not text:
            return text
        if "\x1b" not in text:
            spans = self._spans(text)
            return _replace(text, spans, None) if spans else text
        clean, where = _without_ansi(text)
        spans = self._spans(clean)
        return _replace(text, spans, where) if spans else text

    def finds(self, text: str) -> bool:
        """Whether ``text`` shows a secret (what ``text`` would mask)."""
        if not text or text in self._clean:
            return False
        found = bool(self._spans(_without_ansi(text)[0] if "\x1b" in text else text))
        if not found and len(text) >= _REMEMBERED:
            if len(self._clean) >= _REMEMBERED_COUNT:
                self._clean.clear()
            self._clean.add(text)
        return found

    def data(self, value: Any) -> Any:
        """A copy of JSON-like ``value`` with every string masked (dict keys too), and numbers equal to a secret.

        A list of strings (a notebook's multi-line text) is also checked as one text, so a secret
        split across its lines is found; binary output data (``image/png``…) is left as it is.
        """
        if isinstance(value, str):
            return value if len(value) >= _REMEMBERED and not self.finds(value) else self.text(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return REDACTED if repr(value) in self._exact else value  # a metric equal to a numeric secret
        if isinstance(value, list):
            if value and all(isinstance(item, str) for item in value):
                whole = "".join(value)
                if not self.finds(whole):
                    return list(value)  # the common case: one search over the whole text
                items = [self.text(item) for item in value]
                if self.finds("".join(items)):  # a secret across lines: mask the text as one, then split it again
                    return self.text(whole).splitlines(keepends=True)
                return items
            return [self.data(item) for item in value]
        if isinstance(value, dict):
            return {
                (self.text(key) if isinstance(key, str) else key): (item if _is_binary(key) else self.data(item))
                for key, item in value.items()
            }
        return value

    def _spans(self, text: str) -> list[tuple[int, int]]:
        spans = []
        for anchor, shown, whole_word in self._groups:
            if anchor and anchor not in text:
                continue
            for form in shown:
                start = text.find(form)
                while start != -1:
                    end = start + len(form)
                    if not (whole_word and _inside_a_word(text, start, end)):
                        spans.append((start, end))
                    start = text.find(form, start + 1)
        spans += [match.span() for _, match in find_tokens(text)]
        if "PRIVATE KEY" in text:
            spans += [match.span() for match in _PRIVATE_KEY_BLOCK.finditer(text)]
        return _merged(spans)


def mask_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with ``secrets`` and any credential in a known format replaced by ``***``."""
    return Masker(secrets).text(text)


def _is_binary(key: Any) -> bool:
    return isinstance(key, str) and key.startswith(_BINARY_PREFIXES) and not key.startswith("image/svg")


def _word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def _inside_a_word(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` continues a word on either side (``none`` in ``nonexistent``)."""
    before = start > 0 and _word_char(text[start - 1]) and _word_char(text[start])
    after = end < len(text) and _word_char(text[end]) and _word_char(text[end - 1])
    return before or after


def _common_prefix(texts: list[str]) -> str:
    first, last = min(texts), max(texts)
    size = 0
    while size < len(first) and first[size] == last[size]:
        size += 1
    return first[:size]


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _without_ansi(text: str) -> tuple[str, list[int]]:
    """``text`` without ANSI escape sequences, and for each of its characters the index it had in ``text``."""
    kept: list[str] = []
    where: list[int] = []
    position = 0
    for match in _ANSI.finditer(text):
        kept.append(text[position : match.start()])
        where.extend(range(position, match.start()))
        position = match.end()
    kept.append(text[position:])
    where.extend(range(position, len(text)))
    return "".join(kept), where


def _replace(text: str, spans: list[tuple[int, int]], where: list[int] | None) -> str:
    """``text`` with each span (in ``where``'s clean coordinates when given) replaced by ``***``."""
    parts = []
    position = 0
    for start, end in spans:
        if where is not None:
            start, end = where[start], where[end - 1] + 1
        parts.append(text[position:start])
        parts.append(REDACTED + "".join(_ANSI.findall(text, start, end)))  # colour codes inside the span keep the terminal's state
        position = end
    parts.append(text[position:])
    return "".join(parts)
