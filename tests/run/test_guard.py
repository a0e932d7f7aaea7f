"""``nb2prod.run.guard``'s stderr filter: exactly ipykernel's TCP warning line goes, everything else passes as it comes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from nb2prod.run import guard
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


GUARD = [sys.executable, "-I", guard.__file__]
LINUX_ONLY = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a child subreaper is Linux's")

#: A stand-in kernel: starts a child process, writes both pids to the file named by argv[1], sleeps.
KERNEL = """\
import os, subprocess, sys, time
child = subprocess.Popen(["sleep", "300"])
with open(sys.argv[1], "w") as handle:
    handle.write(f"{os.getpid()} {child.pid}\\n")
time.sleep(300)
"""

#: A stand-in for nb2prod: starts argv[1:] in a new session, as jupyter_client starts a kernel, then sleeps.
LAUNCHER = """\
import subprocess, sys, time
subprocess.Popen(sys.argv[1:], start_new_session=True)
time.sleep(300)
"""


def test_the_guard_exits_with_the_kernels_status_and_filters_its_stderr() -> None:
    script = "import sys; sys.stderr.buffer.write(sys.argv[1].encode() + b'kept\\n'); sys.exit(3)"
    result = subprocess.run([*GUARD, sys.executable, "-c", script, WARNING_LINE.decode()], capture_output=True, timeout=60)
    assert result.returncode == 3 and result.stderr == b"kept\n"


#: The stand-in kernel's child in a session of its own (``start_new_session=True``).
KERNEL_NEW_SESSION = KERNEL.replace('subprocess.Popen(["sleep", "300"])', 'subprocess.Popen(["sleep", "300"], start_new_session=True)')

#: A daemon: the child forks, calls setsid, forks the sleeper and exits, so the sleeper's parent is gone.
KERNEL_DAEMON = """\
import os, sys, time
read, write = os.pipe()
if os.fork() == 0:
    os.setsid()
    pid = os.fork()
    if pid == 0:
        os.execvp("sleep", ["sleep", "300"])
    os.write(write, str(pid).encode())
    os._exit(0)
os.wait()
child = int(os.read(read, 64))
with open(sys.argv[1], "w") as handle:
    handle.write(f"{os.getpid()} {child}\\n")
time.sleep(300)
"""


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads process states from /proc")
@pytest.mark.parametrize(
    "kernel",
    [
        pytest.param(KERNEL, id="child-in-the-group"),
        pytest.param(KERNEL_NEW_SESSION, id="child-in-its-own-session", marks=LINUX_ONLY),
        pytest.param(KERNEL_DAEMON, id="double-forked-daemon", marks=LINUX_ONLY),
    ],
)
def test_the_guard_ends_what_the_kernel_started_when_its_parent_dies(tmp_path: Path, kernel: str) -> None:
    """The guarded process and the child it started end soon after the guard's parent is killed with -9.

    On Linux that includes a child that left the process group (a new session, a daemon's double fork).
    """
    (tmp_path / "kernel.py").write_text(kernel, encoding="utf-8")
    (tmp_path / "launcher.py").write_text(LAUNCHER, encoding="utf-8")
    pids = tmp_path / "pids"
    parent = subprocess.Popen([sys.executable, tmp_path / "launcher.py", *GUARD, sys.executable, tmp_path / "kernel.py", pids])
    started: list[int] = []
    try:
        deadline = time.monotonic() + 30
        while not started and time.monotonic() < deadline:
            time.sleep(0.05)
            text = pids.read_text() if pids.exists() else ""
            started = [int(word) for word in text.split()] if text.endswith("\n") else []
        assert started, "the guarded process never started"
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in started) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(alive(pid) for pid in started), "a guarded process outlived the guard's parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        for pid in started:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def alive(pid: int) -> bool:
    """Whether ``pid`` is a running (not zombie) process."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
