"""Hands batches to one background thread, in order, so the caller can prepare the next batch meanwhile.

The sync encodes rows in Python while Postgres writes the previous batch. The two overlap because a thread
waiting on the database releases the GIL, and Postgres runs in its own process.
"""

from __future__ import annotations

import queue
import sys
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Generic, TypeVar

Batch = TypeVar("Batch")
Result = TypeVar("Result")

_DONE = object()


class BackgroundBatches(Generic[Batch, Result]):
    """`work(batch)` for each submitted batch, one at a time and in order, on a single background thread.

    At most one batch waits while another is worked on, so memory stays bounded. The first failure stops the
    work; `submit` and `results` re-raise it in the caller. Leaving the `with` block always waits for the
    thread, so nothing still runs against a resource the caller goes on to close or roll back. Leaving it on an
    exception skips the batches still queued and calls `cancel` (e.g. `Connection.cancel_safe`) to cut short the
    one in progress.
    """

    def __init__(
        self,
        work: Callable[[Batch], Result],
        name: str = "background-batches",
        switch_interval: float = 0.0005,
        cancel: Callable[[], None] | None = None,
    ) -> None:
        self._work = work
        self._cancel = cancel
        self._abandoned = False
        self._switch_interval = switch_interval
        self._saved_interval = sys.getswitchinterval()
        self._queue: queue.Queue[object] = queue.Queue(maxsize=1)
        self._results: list[Result] = []
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def __enter__(self) -> BackgroundBatches[Batch, Result]:
        # The caller's thread computes without pause, so the worker gets the GIL back only when the caller is
        # made to yield it: after the switch interval, 5 ms by default. A worker streaming COPY data waits for
        # it many times per batch; a shorter interval keeps it from idling while Postgres waits for data.
        self._saved_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(self._saved_interval, self._switch_interval))
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if exc is not None and self._thread.is_alive():
                self._abandoned = True
                try:
                    self._queue.get_nowait()  # a batch still waiting will not be written
                except queue.Empty:
                    pass
                if self._cancel is not None:
                    try:
                        self._cancel()
                    except Exception:  # noqa: BLE001 - best effort: the join below waits either way
                        pass
            self._queue.put(_DONE)
            self._thread.join()
        finally:
            sys.setswitchinterval(self._saved_interval)

    def _run(self) -> None:
        while (batch := self._queue.get()) is not _DONE:
            if self._error is not None or self._abandoned:
                continue  # keep draining, so a caller blocked in submit() is released
            try:
                self._results.append(self._work(batch))  # type: ignore[arg-type]
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                self._error = exc

    @property
    def failure(self) -> BaseException | None:
        """The exception a batch raised, if one did."""
        return self._error

    def _raise_failure(self) -> None:
        if self._error is not None:
            raise self._error

    def submit(self, batch: Batch) -> None:
        """Queue a batch; raises the failure of an earlier batch instead, if there was one."""
        self._raise_failure()
        self._queue.put(batch)

    def results(self) -> list[Result]:
        """Every batch's result, in order, once all are done (ends the thread; call once, last)."""
        self._queue.put(_DONE)
        self._thread.join()
        self._raise_failure()
        return self._results
