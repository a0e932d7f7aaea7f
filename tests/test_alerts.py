"""Webhook alerts (``nb2prod.alerts``) against a real HTTP server on loopback: success, HTTP 500, a timeout.

Whatever the receiver does, ``nb2prod drift`` decides the same and exits with the same code, and
the URL (which holds a token) is never printed.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nb2prod import audit
from nb2prod.alerts import post_json
from nb2prod.cli import main

TOKEN = "T0KEN-9f8e7d6c5b4a"


class Receiver(http.server.BaseHTTPRequestHandler):
    """Answers with the server's ``status`` after ``delay`` seconds and keeps the bodies it got."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.bodies.append((self.path, self.headers["Content-Type"], json.loads(body)))  # type: ignore[attr-defined]
        time.sleep(self.server.delay)  # type: ignore[attr-defined]
        self.send_response(self.server.status)  # type: ignore[attr-defined]
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[http.server.ThreadingHTTPServer]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    httpd.bodies, httpd.status, httpd.delay = [], 200, 0.0  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def url(httpd: http.server.ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{httpd.server_address[1]}/hook/{TOKEN}"


def test_post_json_success_500_and_timeout(server: http.server.ThreadingHTTPServer) -> None:
    assert post_json(url(server), {"decision": "fail"}) is None
    assert server.bodies == [(f"/hook/{TOKEN}", "application/json", {"decision": "fail"})]  # type: ignore[attr-defined]
    server.status = 500  # type: ignore[attr-defined]
    warning = post_json(url(server), {"decision": "fail"}, label="webhook $HOOK")
    assert warning == "webhook $HOOK: the receiver answered HTTP 500; the decision stands"
    server.status, server.delay = 200, 2.0  # type: ignore[attr-defined]
    started = time.monotonic()
    warning = post_json(url(server), {"decision": "fail"}, timeout=0.3, label="webhook $HOOK")
    assert time.monotonic() - started < 1.5 and warning == "webhook $HOOK: no answer within 0.3 s; the decision stands"


def test_unreachable_and_non_http_urls_are_warnings() -> None:
    assert "cannot reach it" in (post_json("http://127.0.0.1:9/x", {}, timeout=1) or "")
    assert post_json(f"file:///etc/{TOKEN}", {}) == "the webhook: not an http(s) URL; nothing sent"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(7)
    pd.DataFrame({"age": rng.normal(40, 10, 3000)}).to_csv("train.csv", index=False)
    pd.DataFrame({"age": rng.normal(40, 10, 2000)}).to_csv("same.csv", index=False)
    pd.DataFrame({"age": rng.normal(48, 10, 2000)}).to_csv("shifted.csv", index=False)
    assert main(["profile", "train.csv", "-o", "profile.json"]) == 0
    return tmp_path


@pytest.mark.parametrize(("status", "delay"), [(200, 0.0), (500, 0.0), (200, 3.0)], ids=["success", "500", "timeout"])
def test_the_webhook_never_changes_the_decision_or_exit_code(
    project: Path,
    server: http.server.ThreadingHTTPServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    status: int,
    delay: float,
) -> None:
    server.status, server.delay = status, delay  # type: ignore[attr-defined]
    monkeypatch.setenv("NB2PROD_WEBHOOK", url(server))
    hook = ["--webhook-env", "NB2PROD_WEBHOOK", "--webhook-timeout", "0.5"]
    assert main(["drift", "profile.json", "shifted.csv", *hook]) == 1
    assert main(["drift", "profile.json", "same.csv", *hook]) == 0
    captured = capsys.readouterr()
    assert TOKEN not in captured.out + captured.err  # the URL is never printed
    decisions = [entry["decision"] for entry in audit.entries("runs")]
    assert decisions == ["fail", "pass"]  # the audit trail records the same decisions
    posted = [body for _, _, body in server.bodies]  # type: ignore[attr-defined]
    assert [body["decision"] for body in posted] == ["fail", "pass"]  # the receiver got the audit lines, even when slow or failing
    assert posted[0]["sha256"] == audit.entries("runs")[0]["sha256"]
    if status == 500:
        assert captured.err.count("webhook $NB2PROD_WEBHOOK: the receiver answered HTTP 500; the decision stands") == 2
    elif delay:
        assert captured.err.count("no answer within 0.5 s; the decision stands") == 2
    else:
        assert "warning" not in captured.err


def test_an_unset_variable_is_a_warning_not_an_error(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NB2PROD_WEBHOOK", raising=False)
    assert main(["drift", "profile.json", "shifted.csv", "--webhook-env", "NB2PROD_WEBHOOK"]) == 1
    assert "environment variable NB2PROD_WEBHOOK is not set; no alert sent" in capsys.readouterr().err
