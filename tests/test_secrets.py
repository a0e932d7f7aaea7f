"""``nb2prod.secrets``: the secret-name rule (a table: narrowing the rule fails a test), credential-shaped values, masking."""

from __future__ import annotations

import base64
import html
import json
from urllib.parse import quote

import pytest

from nb2prod.secrets import (
    MIN_MASKED,
    REDACTED,
    Masker,
    is_secret,
    is_secret_name,
    is_secret_value,
    mask_text,
    redact,
    secret_values,
)

OPENAI = "sk-proj-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z"
HF = "hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh"

SECRET_NAMES = [
    # the list
    "openai_key", "aws_access_key", "api_key", "api_token", "hf_token", "db_password", "client_secret", "private_key",
    # spellings of the same words
    "API_KEY", "apiKey", "OpenAIKey", "HF_TOKEN", "hfToken", "dbPassword", "x-api-key", "apikey", "OPENAI_APIKEY",
    # other secrets
    "key", "token", "password", "passwd", "passphrase", "secret", "secret_key", "aws_secret_access_key",
    "aws_access_key_id", "access_token", "refresh_token", "authtoken", "github_token", "slack_bot_token",
    "encryption_key", "signing_key", "ssh_key", "license_key", "wandb_key", "api_keys", "openai_keys",
    "gcp_credentials", "credentials", "service_account_credentials_json", "auth", "auth_header", "authorization",
    "bearer", "session_cookie", "db_pwd", "db_pass", "smtp_pw", "token_budget", "api_key_id",
]  # fmt: skip

HARMLESS_NAMES = [
    # the list: plurals and words that merely contain "key" or "token"
    "keyboard", "key_column", "n_tokens", "monkey", "turkey", "keys", "tokenizer_name", "max_tokens",
    # counts and settings about tokens, tokenizer special tokens
    "num_tokens", "max_new_tokens", "tokens_per_second", "tokenizer", "tokenize", "token_count", "pad_token",
    "eos_token", "bos_token", "unk_token", "mask_token", "eos_token_id",
    # kinds of keys that are not secrets
    "sort_key", "group_key", "primary_key", "foreign_key", "partition_key", "cache_key", "rng_key", "public_key",
    "s3_key", "label_key", "join_key", "key_id", "hotkeys",
    # names about a secret, not the secret
    "token_url", "password_file", "secret_name", "credentials_path", "api_key_env", "password_prompt", "token_type",
    "auth_method", "secret_dir",
    # nothing secret at all
    "seed", "learning_rate", "n_estimators", "data_path", "name", "author", "passes", "compass", "bypass",
    "pass_rate", "private_mode", "",
]  # fmt: skip


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_secret_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize("name", HARMLESS_NAMES)
def test_harmless_names(name: str) -> None:
    assert not is_secret_name(name)


@pytest.mark.parametrize(
    "value",
    [OPENAI, HF, "AKIA" + "ABCDEFGHIJKLMNOP", "ghp_" + "a" * 36, f"Bearer {OPENAI}", [1, OPENAI], {"auth": {"key": HF}}],
)
def test_credential_shaped_values_are_secrets_whatever_the_name(value: object) -> None:
    assert is_secret_value(value) and is_secret("name", value)
    assert redact({"name": value, "seed": 1}) == {"name": REDACTED, "seed": 1}


@pytest.mark.parametrize("value", ["world", "sk-short", 42, 0.5, [1, 2], {"a": "b"}, None, True])
def test_ordinary_values_under_harmless_names_are_not_secrets(value: object) -> None:
    assert not is_secret("name", value)


@pytest.mark.parametrize("value", [None, True, False, ""])
def test_empty_values_of_secret_names_carry_nothing(value: object) -> None:
    assert not is_secret("api_key", value)
    assert redact({"api_key": value}) == {"api_key": value}


def test_secret_values_of_a_run() -> None:
    parameters = {"api_key": "abc12345", "name": OPENAI, "seed": 3, "db_password": 123456, "hf_token": None, "label": "x"}
    assert secret_values(parameters) == {"abc12345", OPENAI, "123456"}


SECRET = "Zq8\"Core'\\λ-77"


@pytest.mark.parametrize(
    "shown",
    [
        SECRET,
        repr(SECRET),
        json.dumps(SECRET),
        json.dumps(SECRET, ensure_ascii=False),
        quote(SECRET, safe=""),
        html.escape(SECRET),
        json.dumps(repr(SECRET)),
        repr({"token": [SECRET]}),
        json.dumps({"token": SECRET}),
    ],
)
def test_masker_finds_a_value_in_its_escaped_forms(shown: str) -> None:
    masked = Masker([SECRET]).text(f"before {shown} after")
    assert "Core" not in masked and masked.startswith("before ") and masked.endswith(" after")


def test_masker_sees_through_ansi_colour_codes_and_keeps_them() -> None:
    coloured = "\x1b[0;31mValueError\x1b[0m: bad token \x1b[1mZq8\"Co\x1b[0mre'\\λ-77\x1b[0m"
    masked = Masker([SECRET]).text(coloured)
    assert masked == "\x1b[0;31mValueError\x1b[0m: bad token \x1b[1m***\x1b[0m\x1b[0m"
    assert mask_text(f"\x1b[32m{OPENAI}\x1b[0m") == "\x1b[32m***\x1b[0m"  # the pattern's word boundary sees through the colour


def test_masker_masks_credentials_in_known_formats_without_being_told() -> None:
    assert mask_text(f"key={OPENAI}, hf {HF}.") == "key=***, hf ***."
    pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nabc\n-----END RSA PRIVATE KEY-----\n"
    assert mask_text("key:\n" + pem) == "key:\n***\n"


def test_short_values_mask_whole_words_only_and_tiny_ones_not_at_all() -> None:
    masker = Masker(["none", "ab", "  x  "])
    assert masker.text('api_token = "none"  # nonexistent, none_x, ab') == 'api_token = "***"  # nonexistent, none_x, ab'
    assert len("ab") < MIN_MASKED
    assert Masker(["s3cretvalue1"]).text("Bearers3cretvalue1x") == "Bearer***x"  # a long value: wherever it is


def test_masker_data_masks_keys_values_and_lines_but_not_binary_outputs() -> None:
    masker = Masker([SECRET, "-----BEGIN-multi\nline-secret-----"])
    data = {
        "evalue": f"bad {SECRET}",
        SECRET: 1,
        "nested": [{"x": [SECRET, 2]}],
        "text": ["one -----BEGIN-multi\n", "line-secret----- two\n"],  # split across a notebook's lines
        "image/png": "WnE4IkNvcmUnXM67LTc3" + SECRET,
    }
    masked = masker.data(data)
    assert masked == {
        "evalue": "bad ***",
        "***": 1,
        "nested": [{"x": ["***", 2]}],
        "text": ["one *** two\n"],
        "image/png": data["image/png"],
    }
    assert data["evalue"] == f"bad {SECRET}"  # a copy: the input is unchanged
    assert Masker(["123456"]).data({"pin": 123456, "n": 12345, "ok": True}) == {"pin": "***", "n": 12345, "ok": True}


@pytest.mark.parametrize("prefix", ["", "u:", "us:", "use:", "a-much-longer-user-name:"])
def test_scenario_45_a_secret_inside_base64_is_masked_at_every_byte_offset(prefix: str) -> None:
    """A Basic authorization header (base64 of ``user:password``) printed by a cell shows no part that decodes to the password."""
    password = "hunter2-correct-horse"
    header = base64.b64encode(f"{prefix}{password}".encode()).decode()
    masked = Masker([password]).text(f"Authorization: Basic {header}\n")
    left = masked.removeprefix("Authorization: Basic ").strip()
    assert left.count("***") == 1
    # What stays is the user name's characters, the padding, and at most one character on each side
    # that mixes the password's edge bits with its neighbour's.
    assert len(left.replace("***", "")) <= len(base64.b64encode(prefix.encode()).rstrip(b"=")) + 1 + 3


def test_a_secret_in_hex_and_url_safe_base64_is_masked() -> None:
    password = "hunter2-correct+horse?/"
    masker = Masker([password])
    assert masker.text("digest " + password.encode().hex()) == "digest ***"
    assert masker.text("HEX " + password.encode().hex().upper()) == "HEX ***"
    urlsafe = base64.urlsafe_b64encode(b"??" + password.encode()).decode()
    assert "***" in masker.text(urlsafe) and password not in masker.text(urlsafe)


def test_short_secrets_are_not_searched_encoded() -> None:
    """Under ``WHOLE_WORD_BELOW`` characters an encoded form is a few characters that ordinary base64 holds by chance."""
    assert Masker(["abcde"]).text(base64.b64encode(b"xabcdex").decode()) == base64.b64encode(b"xabcdex").decode()
