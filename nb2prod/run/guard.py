"""The kernel's parent process: it ends the kernel and everything its cells started when nb2prod dies.

jupyter_client starts a kernel in a new session, so the kernel leads its own process group and the
processes its cells start (``subprocess.Popen``, ``multiprocessing``) join that group. ipykernel's
parent poller (armed by ``JPY_PARENT_PID``) makes the kernel exit with ``os._exit`` when its parent
goes away, but it leaves the group's other processes running: after a ``kill -9`` of ``nb2prod
run`` a ``sleep 300`` started by a cell would outlive it, reparented to init.

So nb2prod launches ``python -I guard.py KERNEL_COMMAND...`` instead of the kernel command: this
process becomes the group leader (jupyter_client's new session), starts the kernel in its own
group, and then waits. When the kernel exits, it exits with the kernel's status (jupyter_client sees
the kernel die as before). When its parent (nb2prod) is gone, it kills the whole process group with
SIGKILL: the kernel, the processes its cells started, itself. jupyter_client's signals go to the
group as before (an interrupt reaches the kernel; this process ignores it).

A process a cell starts in a new session of its own (``start_new_session=True``, ``setsid``, a
daemon's double fork) leaves the group. On Linux the guard finds those too: it makes itself a
"child subreaper" (``prctl(PR_SET_CHILD_SUBREAPER)``), so a process whose parent ends is re-parented
to the guard rather than to init, and when nb2prod dies it kills every descendant it finds in
``/proc`` before the group. Elsewhere they stay out of reach, as they are for jupyter_client's own
shutdown. A run that ends normally leaves such processes alone, as jupyter_client does.

The guard also drops exactly one line from the kernel's stderr: ipykernel's startup warning
"Kernel is running over TCP without encryption" (the kernel listens on 127.0.0.1 for nb2prod
alone; the warning reads like a fault to a new user on every run). Everything else passes through.

Standard library only, and run in isolated mode: it must work whatever the kernel's environment is.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading

#: ipykernel's warning line (``[IPKernelApp] WARNING | Kernel is running over TCP without encryption. ...``).
TCP_WARNING = b"[IPKernelApp] WARNING | Kernel is running over TCP without encryption."
_POLL_S = 0.2
_PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h


def main(argv: list[str]) -> int:
    """Run the kernel command ``argv``; return its exit status, or kill the group when the parent dies."""
    if not argv:
        print("usage: guard.py KERNEL_COMMAND...", file=sys.stderr)
        return 2
    parent = os.getppid()
    subreaper = become_subreaper()
    # A handler, not SIG_IGN: an ignored signal stays ignored in the kernel after exec, a handler does not.
    signal.signal(signal.SIGINT, lambda signum, frame: None)
    env = {**os.environ, "JPY_PARENT_PID": str(os.getpid())}  # the kernel's parent poller watches this process
    kernel = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE)
    assert kernel.stderr is not None
    pump = threading.Thread(target=filter_stderr, args=(kernel.stderr.fileno(), sys.stderr.fileno()), daemon=True)
    pump.start()
    ended = threading.Event()
    threading.Thread(target=lambda: (kernel.wait(), ended.set()), daemon=True).start()
    while not ended.wait(_POLL_S):  # a blocking wait in a thread: five wake-ups a second, not a busy loop
        if os.getppid() != parent:
            if subreaper:
                kill_descendants(os.getpid())
            if os.getpgid(0) == os.getpid():  # the group is the kernel's (jupyter_client's new session), not a caller's
                os.killpg(os.getpid(), signal.SIGKILL)  # ends this process too
            kernel.kill()
    status = kernel.returncode
    pump.join(timeout=1)
    return status if status >= 0 else 128 - status


def become_subreaper() -> bool:
    """Make orphaned descendants this process's children (Linux ``PR_SET_CHILD_SUBREAPER``); whether it worked."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def descendants(root: int) -> set[int]:
    """The live (not zombie) processes below ``root``, from the parent pids in ``/proc``."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue  # ended meanwhile
        fields = stat[stat.rfind(b")") + 2 :].split()  # the command name may hold spaces and parentheses
        if fields and fields[0] not in (b"Z", b"X"):
            children.setdefault(int(fields[1]), []).append(int(entry))
    found: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def kill_descendants(root: int) -> None:
    """SIGKILL every process below ``root``, again while new ones appear (a fork racing the kill)."""
    for _ in range(10):
        pids = descendants(root)
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(OSError):  # ended meanwhile
                os.kill(pid, signal.SIGKILL)
        while True:  # reap what was re-parented here, so it leaves /proc
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break


def filter_stderr(source: int, target: int) -> None:
    """Copy ``source`` to ``target`` as it comes, without the lines that start with ``TCP_WARNING``.

    Bytes are held back only while the current line could still be that warning.
    """
    line = b""  # the start of the current line, held while it is a prefix of the warning
    held = True  # whether the current line is still being held
    while True:
        try:
            chunk = os.read(source, 65536)
        except OSError:
            return
        if not chunk:
            if line:
                _write(target, line)
            return
        out = bytearray()
        for piece in chunk.splitlines(keepends=True):
            if held:
                line += piece
                if line.startswith(TCP_WARNING):
                    if line.endswith(b"\n"):
                        line, held = b"", True  # dropped; the next line starts
                    continue
                if TCP_WARNING.startswith(line) and not line.endswith(b"\n"):
                    continue
                out += line
                line, held = b"", line.endswith(b"\n")
            else:
                out += piece
                held = piece.endswith(b"\n")
        if out:
            _write(target, bytes(out))


def _write(target: int, data: bytes) -> None:
    while data:
        try:
            written = os.write(target, data)
        except OSError:
            return
        data = data[written:]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
