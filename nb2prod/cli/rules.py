"""``nb2prod rules``: list the lint rules, or explain one."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from .. import UsageError

if TYPE_CHECKING:
    from .. import Rule


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add the ``rules`` subcommand."""
    parser = subparsers.add_parser(
        "rules",
        parents=parents,
        help="list lint rules or explain one",
        description="Without a code: the table of notebook rules. With a code: what it finds, why it matters, examples, the fix.",
    )
    parser.add_argument("code", nargs="?", help="a rule code, e.g. NB104")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.set_defaults(handler=run)


def page(rule: Rule) -> str:
    """The text page of one rule."""
    doc = rule.doc
    default = "on by default" if rule.default_on else "off unless selected"
    fixable = "yes" if rule.fixable else "no"
    parts = [
        f"{rule.code} {rule.name} [{rule.severity.name.lower()}, {default}, fixable: {fixable}]",
        "",
        rule.summary[:1].upper() + rule.summary[1:] + ".",
        "",
        "What it finds",
        _indent(doc.what),
        "",
        "Why it matters in production",
        _indent(doc.why),
        "",
        "Bad",
        _indent(doc.bad),
        "",
        "Good",
        _indent(doc.good),
        "",
        "How to fix",
        _indent(doc.fix),
    ]
    if doc.limits:
        parts += ["", "Limits", _indent(doc.limits)]
    return "\n".join(parts)


def _indent(text: str) -> str:
    return "\n".join("    " + line if line else "" for line in text.splitlines())


def _json(rule: Rule) -> dict[str, Any]:
    doc = rule.doc
    return {
        "code": rule.code,
        "name": rule.name,
        "severity": rule.severity.name.lower(),
        "summary": rule.summary,
        "default": rule.default_on,
        "fixable": rule.fixable,
        "what": doc.what,
        "why": doc.why,
        "bad": doc.bad,
        "good": doc.good,
        "fix": doc.fix,
        "limits": doc.limits,
    }


def run(args: argparse.Namespace) -> int:
    """Print the table or one rule's page."""
    from .. import rules as registry

    rules = registry()
    if args.code:
        code = args.code.upper()
        if code not in rules:
            raise UsageError(f"no rule {args.code}", hint="`nb2prod rules` lists them; ruff's rules are explained by `ruff rule CODE`")
        rule = rules[code]
        print(json.dumps(_json(rule), indent=2) if args.format == "json" else page(rule))
        return 0
    if args.format == "json":
        print(json.dumps([_json(rules[code]) for code in rules], indent=2))
        return 0
    width = max(len(rules[code].name) for code in rules)
    for code in rules:
        rule = rules[code]
        marks = ("" if rule.default_on else " (off)") + (" [*]" if rule.fixable else "")
        print(f"{code}  {rule.severity.letter}  {rule.name:<{width}}  {rule.summary}{marks}")
    print("\n[*] fixable with `nb2prod lint --fix`; (off) runs only when selected. `nb2prod rules CODE` explains one.")
    return 0
