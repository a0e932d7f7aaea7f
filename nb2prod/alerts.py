"""Alerts: POST a decision to a webhook, without ever letting the alert change the decision.

The URL comes from an environment variable named on the command line (``--webhook-env
NB2PROD_WEBHOOK``), never from the command line itself: a webhook URL usually holds its token
(Slack, Teams, a generic receiver), and command lines end up in shell histories, CI logs and
``ps``. The URL is never printed; messages name the variable instead.

``post_json`` returns None on success or one line saying what went wrong (the variable is unset,
the receiver answered an error status, the connection failed or timed out). Callers print it as a
warning; the exit code and the audit line stay what the check decided.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

DEFAULT_TIMEOUT = 5.0


def webhook_url(variable: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The URL in environment variable ``variable`` (None when it is unset or empty)."""
    value = (os.environ if environ is None else environ).get(variable, "").strip()
    return value or None


def post_json(url: str, document: Any, *, timeout: float = DEFAULT_TIMEOUT, label: str = "the webhook") -> str | None:
    """POST ``document`` as JSON to ``url`` within ``timeout`` seconds; None on a 2xx answer, else a one-line warning.

    ``label`` names the webhook in the warning (the environment variable, never the URL). Only
    http and https URLs are accepted. Redirects are not followed (a POST redirected elsewhere
    would carry the decision to a host nobody configured).
    """
    import urllib.error
    import urllib.request
    from urllib.parse import urlsplit

    if urlsplit(url).scheme not in ("http", "https"):
        return f"{label}: not an http(s) URL; nothing sent"
    body = json.dumps(document, ensure_ascii=True, allow_nan=False).encode("ascii")
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json", "User-Agent": "nb2prod"})
    opener = urllib.request.build_opener(_no_redirect()())
    try:
        with opener.open(request, timeout=timeout) as answer:
            status = answer.status
    except urllib.error.HTTPError as exc:
        return f"{label}: the receiver answered HTTP {exc.code}; the decision stands"
    except TimeoutError:
        return f"{label}: no answer within {timeout:g} s; the decision stands"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        kind = "no answer in time" if isinstance(reason, TimeoutError) else f"cannot reach it ({type(reason).__name__})"
        return f"{label}: {kind}; the decision stands"
    if not 200 <= status < 300:
        return f"{label}: the receiver answered HTTP {status}; the decision stands"
    return None


def _no_redirect() -> Any:
    """A urllib handler class that refuses redirects (built here so that importing this module stays free of urllib.request)."""
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    return NoRedirect
