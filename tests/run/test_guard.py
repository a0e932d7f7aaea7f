"""``nb2prod.run.guard``'s stderr filter: exactly ipykernel's TCP warning line goes, everything else passes as it comes."""

from __future__ import annotations

import os
import threading
import time

import pytest

from nb2prod.run.execute import guarded
from nb2prod.run.guard import TCP_WARNING, filter_stderr

WARNING_LINE = TCP_WARNING + b" All communication (including code and outputs) is sent in plain text.\n"


def filtered(*chunks: bytes) -> bytes:
    """What ``filter_stderr`` lets through when the kernel writes ``chunks`` one after the other."""
    source_read, source_write = os.pipe()
    target_read, target_write = os.pipe()

    def write() -> None:
        for chunk in chunks:
            os.write(source_write, chunk)
            time.sleep(0.02)  # separate reads on the other side
        os.close(source_write)

    writer = threading.Thread(target=write)
    writer.start()
    filter_stderr(source_read, target_write)
    writer.join()
    os.close(source_read)
    os.close(target_write)
    with os.fdopen(target_read, "rb") as handle:
        return handle.read()


def test_the_tcp_warning_line_is_dropped() -> None:
    assert filtered(b"before\n" + WARNING_LINE + b"after\n") == b"before\nafter\n"


def test_the_warning_split_across_reads_is_dropped() -> None:
    assert filtered(WARNING_LINE[:5], WARNING_LINE[5:40], WARNING_LINE[40:], b"next\n") == b"next\n"


@pytest.mark.parametrize(
    "chunks",
    [
        (b"[IPKernelApp] WARNING | something else\n",),
        (b"[IPKernel", b"App] ERROR | a real problem\n"),
        (b"progress 10%\r", b"progress 20%\r"),
        (b"text without a newline at the end",),
        (b"a line quoting " + WARNING_LINE,),  # the warning only counts at the start of a line
        ("non-ASCII é 日本\n".encode(),),
    ],
)
def test_everything_else_passes_through(chunks: tuple[bytes, ...]) -> None:
    assert filtered(*chunks) == b"".join(chunks)


def test_output_is_not_held_back_when_it_cannot_be_the_warning() -> None:
    source_read, source_write = os.pipe()
    target_read, target_write = os.pipe()
    worker = threading.Thread(target=filter_stderr, args=(source_read, target_write), daemon=True)
    worker.start()
    os.write(source_write, b"partial progress")
    os.set_blocking(target_read, True)
    assert os.read(target_read, 100) == b"partial progress"  # before any newline or end of stream
    os.close(source_write)
    worker.join(timeout=5)
    for fd in (source_read, target_read, target_write):
        os.close(fd)


@pytest.mark.skipif(os.name != "posix", reason="the guard exists where process groups do")
def test_the_kernel_command_runs_under_the_guard() -> None:
    command = guarded(["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"])
    assert command[1] == "-I" and command[2].endswith("guard.py")
    assert command[3:] == ["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"]
