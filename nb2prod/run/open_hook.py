"""Runs inside an ipykernel kernel before its first cell: notes every file the kernel opens, for the run record.

nb2prod starts an ipykernel kernel with ``--IPKernelApp.code_to_run`` running this file (through
``runpy.run_path``, in a namespace of its own: nothing is added to the notebook's). It installs a
Python audit hook (``sys.addaudithook``); the ``open`` event (raised by ``open``, ``io.open``,
``os.open`` and everything built on them: pandas, numpy, pickle, joblib) gives the path, the mode and
the flags. The hook appends ``r PATH`` or ``w PATH`` (absolute) to the log file named by
``NB2PROD_OPENED_LOG`` (set by ``run_path``'s globals), once per path and mode, and does nothing
else: no hashing, no stat. nb2prod reads the log when the run ends (``nb2prod.run.opened``).

The hook is on the path of every audited operation of the kernel, so it returns at once for any
other event, skips file descriptors, the interpreter's own files (``sys.prefix``) and source files
read by the import system or for a traceback (``linecache``), looks at a path and mode once, and
swallows every error: it must never fail or slow down a run. Paths only, never contents.

Standard library only: the kernel may run in another environment than nb2prod.
"""

import os
import sys

#: Where the standard library reads source code: the import system (when it is not frozen), linecache's ``tokenize.open``.
_CODE_READERS = ("_bootstrap_external.py", "tokenize.py", "linecache.py")


def install(log: str) -> None:
    """Install the audit hook writing to ``log`` (created by nb2prod); nothing when it cannot be opened."""
    if not hasattr(sys, "addaudithook"):  # a kernel on Python < 3.8: nothing is recorded
        return
    try:
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return
    prefixes = {os.path.join(os.path.realpath(p), "") for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)}
    prefixes |= {os.path.join(p, "") for p in (sys.prefix, sys.base_prefix)}
    skipped = tuple(p for p in prefixes if os.path.dirname(p.rstrip(os.sep)) != p.rstrip(os.sep))  # never "/": it would skip all
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
    seen: set = set()
    getcwd, join, normpath, isabs = os.getcwd, os.path.join, os.path.normpath, os.path.isabs
    fspath, fsdecode, write, getframe = os.fspath, os.fsdecode, os.write, sys._getframe

    def hook(event: str, args: tuple) -> None:
        if event != "open":
            return
        try:
            path, mode, flags = args
            if isinstance(path, int):
                return
            path = fspath(path)
            if isinstance(path, bytes):
                path = fsdecode(path)
            if not isabs(path):
                path = join(getcwd(), path)
            path = normpath(path)
            written = isinstance(mode, str) and ("w" in mode or "a" in mode or "x" in mode or "+" in mode)
            written = written or bool((flags or 0) & write_flags)
            key = (path, written)
            if key in seen:
                return
            seen.add(key)
            if path.startswith(skipped) or path == log or "\n" in path:
                return
            caller = getframe(1).f_code.co_filename  # the Python code that called open (open itself is C)
            if caller.startswith("<frozen importlib") or caller.endswith(_CODE_READERS):
                return  # an import or a traceback reading source code: code, not data (git records it)
            write(fd, (("w " if written else "r ") + path + "\n").encode("utf-8", "surrogateescape"))
        except Exception:  # a failing hook would fail the notebook's open()
            pass

    sys.addaudithook(hook)


if "NB2PROD_OPENED_LOG" in globals():
    install(globals()["NB2PROD_OPENED_LOG"])
