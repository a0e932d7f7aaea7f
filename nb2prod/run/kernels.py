"""Kernels started ahead of the runs that use them: the next run's kernel boots while the current run executes.

Starting a Python kernel takes most of a short run's time (about 0.8 s of a 1 s papermill run of a
trivial notebook: the kernel process imports IPython and ipykernel, then answers its first
request). A sweep runs many notebooks one after another in each worker; ``WarmKernels`` launches
the kernel of the next run as soon as the current run has taken its own, so the boot overlaps the
current run's execution. Every run still gets a fresh kernel that has executed nothing: a warm
kernel is used by exactly one run and shut down with it.

A warm kernel is launched exactly as nbclient would launch it (the same kernel command under
``nb2prod.run.guard``, the same history option, the run's working folder), in the thread and event
loop that will run the notebook. ``run_notebook(..., kernels=warm)`` takes one when the run's
kernel name and working folder are those the warm kernels were started for; otherwise the run
starts its own as usual.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jupyter_client.manager import AsyncKernelManager

#: What nbclient passes an ipykernel kernel it starts (``NotebookClient.ipython_hist_file``): no history database on disk.
HISTORY_OPTION = "--HistoryManager.hist_file=:memory:"


def manager_class() -> type[AsyncKernelManager]:
    """The kernel manager runs use: jupyter_client's, launching the kernel under the guard and remembering its clients.

    A run that did not start its kernel itself (a warm kernel) must close the clients nbclient made,
    which nbclient leaves open for a kernel manager it was given.
    """
    global _MANAGER_CLASS
    if _MANAGER_CLASS is None:
        from jupyter_client.manager import AsyncKernelManager

        from .execute import guarded
        from .opened import with_open_hook

        class GuardedKernelManager(quick_reaping(AsyncKernelManager)):  # type: ignore[misc]
            """jupyter_client's kernel manager; the kernel is started under ``nb2prod.run.guard``."""

            def __init__(self, **kwargs: Any) -> None:
                super().__init__(**kwargs)
                self.clients: list[Any] = []
                self.opened_logs: list[str] = []  # the open hook's logs (nb2prod.run.opened), read by the run that takes the kernel
                self.client_factory = prompt_client()  # jupyter_client's configurable: the class ``client()`` makes

            def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
                """The kernel's command, started under ``nb2prod.run.guard`` (which ends it when nb2prod dies), with the open hook."""
                return guarded(with_open_hook(super().format_kernel_cmd(extra_arguments), self.opened_logs))

            def client(self, **kwargs: Any) -> Any:
                """A client of this kernel, remembered so that its channels can be closed."""
                made = super().client(**kwargs)
                self.clients.append(made)
                return made

        _MANAGER_CLASS = GuardedKernelManager
    return _MANAGER_CLASS


_MANAGER_CLASS: Any = None


def prompt_client() -> type:
    """jupyter_client's asynchronous client, with a readiness handshake that does not end with 0.2 s of waiting.

    jupyter_client's ``wait_for_ready`` asks for ``kernel_info`` until the reply comes and a message
    shows on IOPub (so the subscription is connected), then reads IOPub until it has been silent for
    0.2 s: a fixed 0.2 s per kernel, a fifth of a small notebook's run. This one waits for the
    kernel to say it is idle after answering its own ``kernel_info_request`` (ipykernel publishes
    busy and idle around every request): then IOPub is connected and nothing of the handshake is
    left on it, which is what the silence stood for. The request is sent again, as jupyter_client
    does, when the reply does not come within a second (the kernel still boots) or the idle status
    within 0.2 s of it (the IOPub subscription was not connected yet when the kernel said it).
    """
    global _PROMPT_CLIENT
    if _PROMPT_CLIENT is not None:
        return _PROMPT_CLIENT
    from queue import Empty

    from jupyter_client.asynchronous import AsyncKernelClient

    class PromptKernelClient(AsyncKernelClient):
        """An asynchronous kernel client whose ``wait_for_ready`` ends when the kernel has answered and gone idle."""

        async def wait_for_ready(self, timeout: float | None = None) -> None:  # type: ignore[override]
            """Return once the kernel answered ``kernel_info`` and said idle on IOPub; ``RuntimeError`` past ``timeout`` or if it died."""
            deadline = time.monotonic() + (timeout if timeout is not None else float("inf"))
            while True:
                request = self.kernel_info()
                reply = await self._reply(self.shell_channel, request, 1.0, "kernel_info_reply")
                if reply is not None and await self._reply(self.iopub_channel, request, 0.2, "status", "idle") is not None:
                    self._handle_kernel_info_reply(reply)
                    return
                if not await self.is_alive():
                    raise RuntimeError("Kernel died before replying to kernel_info")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Kernel didn't respond in {timeout:g} seconds")

        async def _reply(self, channel: Any, request: str, wait: float, kind: str, state: str | None = None) -> dict[str, Any] | None:
            """The first message of type ``kind`` (and execution ``state``) on ``channel`` answering ``request``; None after ``wait`` s."""
            ends = time.monotonic() + wait
            while (left := ends - time.monotonic()) > 0:
                try:
                    message = await channel.get_msg(timeout=left)
                except Empty:
                    return None
                if (
                    message.get("parent_header", {}).get("msg_id") == request
                    and message.get("msg_type") == kind
                    and (state is None or message.get("content", {}).get("execution_state") == state)
                ):
                    return message
            return None

    _PROMPT_CLIENT = PromptKernelClient
    return PromptKernelClient


_PROMPT_CLIENT: Any = None

#: How often a kernel being shut down is checked for having ended (jupyter_client checks every 0.1 s).
REAP_POLL_S = 0.005


def quick_reaping(base: type[AsyncKernelManager]) -> type[AsyncKernelManager]:
    """``base`` with a kernel killed at shut-down found ended within ~5 ms, not jupyter_client's 0.1 s.

    jupyter_client kills the kernel's process group, then checks every 0.1 s whether the process has
    ended: nearly always it has not yet at the first check, so every run lost 0.1 s (a tenth of a
    short run) waiting for a kernel already dead. The check is jupyter_client's ``_async_wait``
    (a private method, with the interval as a parameter); if it were renamed, shut-down would only
    be slower again.
    """

    class QuickReaping(base):  # type: ignore[valid-type,misc]
        async def _async_wait(self, pollinterval: float = REAP_POLL_S) -> None:
            await super()._async_wait(pollinterval=min(pollinterval, REAP_POLL_S))

    QuickReaping.__name__ = QuickReaping.__qualname__ = f"QuickReaping{base.__name__}"
    return QuickReaping


class WarmKernels:
    """One kernel kept started ahead for the next run (of kernel ``kernel`` in working folder ``cwd``).

    ``take`` hands it to a run and launches the next; ``close`` shuts down the one left over. Use
    from one thread: the kernels belong to that thread's event loop, the loop nbclient runs in.
    """

    def __init__(self, kernel: str, cwd: str | os.PathLike[str] | None = None) -> None:
        self.kernel = kernel
        self.cwd = Path(cwd).resolve() if cwd is not None else None
        self._next: AsyncKernelManager | None = None
        self.taken = 0
        self.keep_one = True  # False: ``take`` starts no kernel ahead (the last run needs none after it)

    def start(self) -> None:
        """Launch the next kernel (if none is waiting): the process starts, its boot goes on in the background."""
        if self._next is not None:
            return
        from jupyter_core.utils import ensure_event_loop

        from ..secrets import Masker
        from .streams import KernelStreams

        manager = manager_class()(kernel_name=self.kernel)
        extra = [HISTORY_OPTION] if manager.ipykernel else []
        cwd = os.fspath(self.cwd) if self.cwd is not None else os.getcwd()
        # The kernel's own stdout and stderr go through the masking reader as a run's do; the run that takes it sets its secrets.
        manager.streams = KernelStreams(Masker())
        try:
            ensure_event_loop().run_until_complete(manager.start_kernel(extra_arguments=extra, cwd=cwd, **manager.streams.launch_options()))
        except BaseException:
            shut_down(manager)
            raise
        finally:
            manager.streams.launched()
        self._next = manager

    def take(self, kernel: str, cwd: Path | None) -> AsyncKernelManager | None:
        """The waiting kernel, for a run of ``kernel`` in ``cwd`` (None when it was started for another); the next is launched."""
        wanted = cwd.resolve() if cwd is not None else None
        if kernel != self.kernel or wanted != self.cwd:
            return None
        if self._next is None:
            self.start()
        manager, self._next = self._next, None
        self.taken += 1
        if self.keep_one:
            try:
                self.start()
            except Exception:  # the next run starts its own kernel then, and says why if it cannot
                self._next = None
        return manager

    def close(self) -> None:
        """Shut down the kernel that is waiting, if any."""
        manager, self._next = self._next, None
        if manager is not None:
            shut_down(manager)

    def __enter__(self) -> WarmKernels:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def shut_down(manager: AsyncKernelManager) -> None:
    """Kill a kernel if it still runs and close the clients made for it (nbclient leaves those of a manager it was given open)."""
    from jupyter_core.utils import ensure_event_loop

    for made in getattr(manager, "clients", ()):
        made.stop_channels()
    if manager.has_kernel:
        ensure_event_loop().run_until_complete(manager.shutdown_kernel(now=True))
    streams = getattr(manager, "streams", None)
    if streams is not None:
        streams.finish()
    from .opened import discard

    discard(getattr(manager, "opened_logs", ()))  # a kernel no run used: its log was never read
