"""The audit trail (``nb2prod.audit``): the hash chain, concurrent appends from real processes, tampering, crashes."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nb2prod import audit
from nb2prod.cli import main

WRITER = textwrap.dedent(
    """
    import sys
    from nb2prod import audit
    name, count = sys.argv[2], int(sys.argv[3])
    for i in range(count):
        audit.append(sys.argv[1], "run", {"run": {"id": f"{name}-{i}"}, "decision": "ok"})
    """
)


def fill(runs: Path, count: int = 5) -> list[bytes]:
    for i in range(count):
        audit.append(runs, "run", {"run": {"id": f"r{i}", "notebook": "train.ipynb"}, "decision": "ok"})
    return (runs / audit.AUDIT_FILE).read_bytes().splitlines(keepends=True)


def rewrite(runs: Path, lines: list[bytes]) -> None:
    (runs / audit.AUDIT_FILE).write_bytes(b"".join(lines))


def verify_cli(runs: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["audit", "--verify", "--runs-dir", str(runs)])
    return code, capsys.readouterr().out


def test_each_line_links_to_the_one_before(tmp_path: Path) -> None:
    fill(tmp_path / "runs", 3)
    lines = audit.read_lines(tmp_path / "runs")
    assert [line.entry["seq"] for line in lines] == [1, 2, 3]
    assert lines[0].entry["prev_sha256"] == audit.GENESIS
    assert lines[1].entry["prev_sha256"] == lines[0].digest and lines[2].entry["prev_sha256"] == lines[1].digest
    assert all(line.entry["actor"]["user"] and line.entry["actor"]["host"] for line in lines)
    assert audit.verify(tmp_path / "runs").ok


def test_two_processes_appending_at_once_keep_the_chain(tmp_path: Path) -> None:
    """Real subprocesses, 300 lines each, interleaving: every line there once, seq 1..600, the chain verifies."""
    runs = tmp_path / "runs"
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(runs), name, "300"]) for name in ("a", "b")]
    assert [writer.wait(timeout=120) for writer in writers] == [0, 0]
    entries = audit.entries(runs)
    assert [entry["seq"] for entry in entries] == list(range(1, 601))
    ids = [entry["run"]["id"] for entry in entries]
    assert sorted(ids) == sorted([f"a-{i}" for i in range(300)] + [f"b-{i}" for i in range(300)])
    assert [i for i in ids if i.startswith("a")] == [f"a-{i}" for i in range(300)]  # each writer's lines in its order
    result = audit.verify(runs)
    assert result.ok and result.lines == 600 and not result.warnings
    assert audit.read_head(runs) == audit.Head(600, entries[-1]["sha256"]), "the head follows the last append of either process"
    switches = sum(1 for left, right in itertools.pairwise(ids) if left[0] != right[0])
    assert switches > 1  # the writers really interleaved


def test_an_edited_line_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = tmp_path / "runs"
    lines = fill(runs)
    lines[2] = lines[2].replace(b'"decision":"ok"', b'"decision":"no"')
    rewrite(runs, lines)
    code, out = verify_cli(runs, capsys)
    assert code == 1
    assert out.strip() == f"{runs / 'audit.jsonl'}:3: error: edited: its content does not match its hash"


def test_an_edited_line_with_its_hash_recomputed_is_named_by_the_next(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Recomputing the edited line's own hash is not enough: the next line recorded the old one."""
    runs = tmp_path / "runs"
    lines = fill(runs)
    entry = json.loads(lines[1])
    entry["decision"] = "forged"
    del entry["sha256"]
    body = json.dumps(entry, separators=(",", ":"))
    import hashlib

    lines[1] = (body[:-1] + f',"sha256":"{hashlib.sha256(body.encode()).hexdigest()}"}}\n').encode()
    rewrite(runs, lines)
    code, out = verify_cli(runs, capsys)
    assert code == 1 and ":3: error: the line before it was replaced" in out


def test_a_deleted_line_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = tmp_path / "runs"
    lines = fill(runs)
    del lines[1]
    rewrite(runs, lines)
    code, out = verify_cli(runs, capsys)
    assert code == 1 and out.strip().endswith(":2: error: seq 2 removed before this line")


def test_a_reordered_line_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = tmp_path / "runs"
    lines = fill(runs)
    lines[1], lines[2] = lines[2], lines[1]
    rewrite(runs, lines)
    code, out = verify_cli(runs, capsys)
    assert code == 1 and ":2: error: out of order: seq 3 before seq 2 (lines moved)" in out
    lines = fill(tmp_path / "other")
    lines.append(lines.pop(0))  # the first line moved to the end
    rewrite(tmp_path / "other", lines)
    result = audit.verify(tmp_path / "other")
    assert result.bad_line == 1 and result.problem == "out of order: seq 2 before seq 1 (lines moved)"


def test_verify_json_and_an_empty_trail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--verify", "--runs-dir", str(tmp_path), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["lines"] == 0
    lines = fill(tmp_path)
    rewrite(tmp_path, [*lines[:2], b"not json\n", *lines[3:]])
    assert main(["audit", "--verify", "--runs-dir", str(tmp_path), "--format", "json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["ok"] is False and document["bad_line"] == 3 and document["problem"] == "not a JSON audit line"


def test_a_crash_mid_append_is_survived(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A process killed while writing its line leaves a fragment: verify warns (exit 0), the next append removes it."""
    runs = tmp_path / "runs"
    fill(runs, 2)
    crash = textwrap.dedent(
        """
        import os, sys
        from nb2prod import audit
        real = audit._write_all
        def half(fd, data):
            real(fd, data[: len(data) // 2])
            os._exit(9)
        audit._write_all = half
        audit.append(sys.argv[1], "run", {"run": {"id": "killed"}})
        """
    )
    assert subprocess.run([sys.executable, "-c", crash, str(runs)], timeout=60).returncode == 9
    assert not (runs / "audit.jsonl").read_bytes().endswith(b"\n")
    code = main(["audit", "--verify", "--runs-dir", str(runs)])
    captured = capsys.readouterr()
    assert code == 0 and "2 lines, chain intact" in captured.out
    assert "line 3: unfinished (an append interrupted by a crash)" in captured.err
    audit.append(runs, "run", {"run": {"id": "after"}})
    assert [e["run"]["id"] for e in audit.entries(runs)] == ["r0", "r1", "after"]
    result = audit.verify(runs)
    assert result.ok and result.lines == 3 and not result.warnings


def test_a_whole_last_line_that_lost_only_its_newline_is_kept(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    lines = fill(runs, 2)
    rewrite(runs, [lines[0], lines[1].rstrip(b"\n")])
    audit.append(runs, "run", {"run": {"id": "next"}})
    assert [e["run"]["id"] for e in audit.entries(runs)] == ["r0", "r1", "next"] and audit.verify(runs).ok


def test_a_damaged_last_line_refuses_to_append(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    lines = fill(runs, 2)
    rewrite(runs, [lines[0], b"garbage\n"])
    with pytest.raises(audit.RecordError, match="last line is damaged"):
        audit.append(runs, "run", {"run": {"id": "x"}})
    assert (runs / "audit.jsonl").read_bytes() == lines[0] + b"garbage\n"


def test_secret_values_never_reach_a_line(tmp_path: Path) -> None:
    line = audit.append(tmp_path, "run", {"run": {"note": "key=hunter2-secret-value"}}, secrets=["hunter2-secret-value"])
    assert "hunter2" not in (tmp_path / "audit.jsonl").read_text() and "hunter2" not in json.dumps(line)


def test_listing_text_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NB2PROD_ACTOR", "ci-bot")
    fill(tmp_path, 3)
    audit.append(tmp_path, "export", {"out": "build/pkg", "files": {"a.py": "0" * 64}, "written": ["a.py"]})
    assert main(["audit", "--runs-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "run r0 of train.ipynb" in out and "ci-bot@" in out and "1 of 1 files written to build/pkg" in out
    assert main(["audit", "--runs-dir", str(tmp_path), "--format", "json", "--event", "run", "--limit", "2"]) == 0
    assert [e["run"]["id"] for e in json.loads(capsys.readouterr().out)] == ["r1", "r2"]


def test_listing_names_lines_it_cannot_show(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = fill(tmp_path, 2)
    rewrite(tmp_path, [lines[0], b"{broken\n", lines[1]])
    assert main(["audit", "--runs-dir", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "1 line(s) are not audit lines and are not listed (run `nb2prod audit --verify`)" in captured.err
    assert "run r0" in captured.out and "run r1" in captured.out


# --- the head: lines cut off the end --------------------------------------------------------------


def test_lines_cut_off_the_end_are_caught_and_counted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = tmp_path / "runs"
    lines = fill(runs, 5)
    rewrite(runs, lines[:3])  # a valid, shorter chain
    code, out = verify_cli(runs, capsys)
    assert code == 1
    assert out.strip() == (
        f"{runs / 'audit.jsonl'}:4: error: 2 lines missing at the end: the trail ends at seq 3 "
        "but audit.head records seq 5 (lines cut off the end)"
    )
    rewrite(runs, [])
    result = audit.verify(runs)
    assert result.bad_line == 1 and result.problem is not None and result.problem.startswith("5 lines missing at the end")
    (runs / "audit.jsonl").unlink()
    assert audit.verify(runs).problem == result.problem, "a deleted trail is caught by its head too"


def test_no_append_after_a_cut_off_end(tmp_path: Path) -> None:
    """A new line and head would make a cut-off end verify: the append refuses, the trail is left as it is."""
    runs = tmp_path / "runs"
    lines = fill(runs, 5)
    rewrite(runs, lines[:3])
    with pytest.raises(audit.RecordError, match=r"ends at seq 3 but audit\.head records seq 5: lines were cut off its end"):
        audit.append(runs, "run", {"run": {"id": "hides-it"}})
    assert (runs / "audit.jsonl").read_bytes() == b"".join(lines[:3])
    assert audit.read_head(runs) is not None and audit.read_head(runs).seq == 5


def test_a_cut_off_end_with_forged_lines_after_it_is_caught(tmp_path: Path) -> None:
    """Lines cut and others chained on by hand, up to the head's seq and beyond: the head's line is not the one it recorded."""
    runs = tmp_path / "runs"
    lines = fill(runs, 4)
    head = (runs / "audit.head").read_bytes()
    rewrite(runs, lines[:2])
    (runs / "audit.head").unlink()
    for i in range(3):  # what someone who can run nb2prod could do: append after removing the head
        audit.append(runs, "run", {"run": {"id": f"forged-{i}"}})
    (runs / "audit.head").write_bytes(head)  # then put the old head back
    result = audit.verify(runs)
    assert result.bad_line == 4 and result.problem == (
        "not the line audit.head recorded as seq 4 (the end of the trail was cut off and other lines appended)"
    )


def test_a_crash_between_the_line_and_the_head_is_a_warning_not_tampering(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Killed after its line is on disk, before the head is updated: exactly one line behind, said so; the next append repairs it."""
    runs = tmp_path / "runs"
    fill(runs, 2)
    crash = textwrap.dedent(
        """
        import os, sys
        from nb2prod import audit
        audit.Log._write_head = lambda self, seq, digest: os._exit(9)
        audit.append(sys.argv[1], "run", {"run": {"id": "killed-before-head"}})
        """
    )
    assert subprocess.run([sys.executable, "-c", crash, str(runs)], timeout=60).returncode == 9
    assert audit.read_head(runs).seq == 2 and len(audit.entries(runs)) == 3
    code = main(["audit", "--verify", "--runs-dir", str(runs)])
    captured = capsys.readouterr()
    assert code == 0 and "3 lines, chain intact" in captured.out
    assert "audit.head is one line behind (seq 2 of 3): the last append was interrupted between writing its line" in captured.err
    assert "(a crash), not tampering" in captured.err
    audit.append(runs, "run", {"run": {"id": "after"}})
    result = audit.verify(runs)
    assert result.ok and result.lines == 4 and not result.warnings and audit.read_head(runs).seq == 4


def test_a_head_several_lines_behind_is_a_warning(tmp_path: Path) -> None:
    """An nb2prod older than the head appended lines without updating it: only additions, so a warning."""
    runs = tmp_path / "runs"
    fill(runs, 2)
    head = (runs / "audit.head").read_bytes()
    fill(runs, 3)
    (runs / "audit.head").write_bytes(head)
    result = audit.verify(runs)
    assert result.ok and result.lines == 5
    assert result.warnings == [
        "audit.head is 3 lines behind (seq 2 of 5): lines were appended without updating it "
        "(by an nb2prod older than the head, or appends that could not write it); the next append updates it"
    ]


def test_a_trail_without_a_head_verifies_as_before_with_a_note(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = tmp_path / "runs"
    lines = fill(runs, 3)
    (runs / "audit.head").unlink()  # a trail written before nb2prod kept a head
    code = main(["audit", "--verify", "--runs-dir", str(runs)])
    captured = capsys.readouterr()
    assert code == 0 and "3 lines, chain intact" in captured.out
    assert "warning: no audit.head (a trail from before nb2prod kept one): lines cut off the end cannot be detected" in captured.err
    audit.append(runs, "run", {"run": {"id": "next"}})
    assert audit.read_head(runs) == audit.Head(4, audit.entries(runs)[-1]["sha256"])
    assert (runs / "audit.jsonl").read_bytes().startswith(b"".join(lines)) and not audit.verify(runs).warnings


def test_a_damaged_head_fails_verify_and_refuses_to_append(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    fill(runs, 2)
    (runs / "audit.head").write_text('{"schema": "nb2prod.audit-head/1", "seq": "two"}\n')
    result = audit.verify(runs)
    assert result.bad_line == 3 and result.problem == "audit.head damaged: no valid seq and sha256: the end of the trail cannot be checked"
    with pytest.raises(audit.RecordError, match=r"audit\.head is damaged"):
        audit.append(runs, "run", {"run": {"id": "x"}})
