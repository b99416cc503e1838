"""A background thread that reads a source every ``interval_s`` while the workload runs."""

from __future__ import annotations

import threading
import time
from typing import Callable, Generic, TypeVar

from flexbench.power import PowerError

R = TypeVar("R")


class ThreadSampler(Generic[R]):
    """Calls ``read()`` once at ``start()``, every ``interval_s`` on a daemon thread, and once
    more at ``stop()``; keeps ``(time.time(), reading)`` pairs. The first error a read raises
    stops the thread and is raised again by ``stop()``."""

    def __init__(self, read: Callable[[], R], interval_s: float, name: str) -> None:
        if not interval_s > 0:
            raise PowerError(f"the sampling interval must be positive, got {interval_s} s")
        self._read = read
        self._interval = interval_s
        self._name = name
        self._readings: list[tuple[float, R]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def _take(self) -> None:
        value = self._read()
        t = time.time()
        with self._lock:
            self._readings.append((t, value))

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._take()
            except BaseException as exc:  # noqa: BLE001 - reported by stop()
                self._error = exc
                return

    def start(self) -> None:
        self._take()
        self._thread = threading.Thread(target=self._loop, name=f"power-{self._name}", daemon=True)
        self._thread.start()

    def stop(self) -> list[tuple[float, R]]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            if isinstance(self._error, PowerError):
                raise self._error
            raise PowerError(f"{self._name}: reading failed while sampling: {self._error}")
        self._take()
        with self._lock:
            return list(self._readings)
