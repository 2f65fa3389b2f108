"""The broadcaster: tells every open page what changed, by server-sent events.

An event's data is ``index`` (the list of entries or the book changed) or an
entry's slug (its preview changed); the page then fetches the new fragment.
"""

from __future__ import annotations

import queue
import threading
from contextlib import contextmanager
from typing import BinaryIO, Iterator

KEEP_ALIVE_SECONDS = 10


class Broadcaster:
    """The open pages' event queues; `announce` puts one event in each."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # guards the set of listeners only
        self._listeners: set[queue.Queue[str]] = set()

    def announce(self, what: str) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener.put(what)

    @contextmanager
    def listen(self) -> Iterator[queue.Queue[str]]:
        """A queue that hears every announcement while the block runs."""
        listener: queue.Queue[str] = queue.Queue()
        with self._lock:
            self._listeners.add(listener)
        try:
            yield listener
        finally:
            with self._lock:
                self._listeners.discard(listener)

    def stream(self, out: BinaryIO, stopping: threading.Event) -> None:
        """Write the events to one page (the response's body) until it leaves or we stop."""
        with self.listen() as listener:
            out.write(b"retry: 500\n\n")
            out.flush()
            while not stopping.is_set():
                try:
                    out.write(f"data: {listener.get(timeout=KEEP_ALIVE_SECONDS)}\n\n".encode())
                except queue.Empty:
                    out.write(b": keep-alive\n\n")
                out.flush()
