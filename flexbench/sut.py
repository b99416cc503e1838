"""The LoadGen SUT/QSL adapter: queries in, batches to a backend, responses out.

Every sample gets ``FirstTokenComplete`` when its first token exists and
``QuerySamplesComplete`` with its token count when it is done, so LoadGen
computes TTFT and TPOT itself. A backend failure completes every outstanding
sample with an empty response (so LoadGen finishes) and is recorded: the run
fails with a reason, it never hangs.
"""

from __future__ import annotations

import array
import collections
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from flexbench.backends.base import BackendError


@dataclass
class SampleTiming:
    index: int
    issued: float
    sent: float | None = None  # when a worker handed it to the backend (after any wait in the SUT's queue)
    first: float | None = None
    done: float | None = None
    tokens: int = 0


@dataclass
class AdapterStats:
    timings: dict[int, SampleTiming] = field(default_factory=dict)  # by LoadGen sample id
    errors: list[str] = field(default_factory=list)
    completed: int = 0


class LoadGenAdapter:
    def __init__(self, lg: Any, backend: Any, prompts: Sequence[str], *, batch_size: int, workers: int = 1,
                 on_progress: Callable[[int], None] | None = None, warmup: bool = False,
                 per_sample: bool = False) -> None:
        self.lg = lg
        self.backend = backend
        self.prompts = prompts
        self.batch_size = max(1, batch_size)
        # one queue item per issue_queries call (a list of (id, index)); workers cut it into batches
        self.queue: queue.Queue[list[tuple[int, int]] | None] = queue.Queue()
        self.pending: collections.deque[tuple[int, int]] = collections.deque()
        self.stats = AdapterStats()
        self.lock = threading.Lock()
        self.keep: dict[int, list[Any]] = {}  # response buffers must outlive the LoadGen calls
        self.on_progress = on_progress
        self.failed = threading.Event()
        # per_sample: keep every sample's clocks even for an instant backend (the concurrency mode)
        self.instant = bool(getattr(backend, "instant", False)) and not per_sample
        # the first inference runs on the worker thread that will run the measured ones: torch's
        # per-thread CPU state (OpenMP pool) is then warm for them (it costs ~25% otherwise)
        self.warmup = warmup
        self.warmup_s: float | None = None
        self.warmup_error: str | None = None
        self.ready = threading.Event()
        self.threads = [threading.Thread(target=self._work, daemon=True, name=f"sut-{i}") for i in range(workers)]
        for t in self.threads:
            t.start()

    # -- LoadGen callbacks ------------------------------------------------------------
    def issue_queries(self, samples: Sequence[Any]) -> None:
        if self.instant:  # no per-sample clocks for a backend that answers at once: it has no latency
            self.queue.put(list(samples))
            return
        now = time.perf_counter()
        items = [(s.id, s.index) for s in samples]
        timings = self.stats.timings
        for sid, idx in items:  # one dict store per sample: atomic under the GIL
            timings[sid] = SampleTiming(idx, now)
        self.queue.put(items)

    def flush_queries(self) -> None:
        pass

    def stop(self) -> None:
        for _ in self.threads:
            self.queue.put(None)
        for t in self.threads:
            t.join(timeout=10)

    # -- responses ----------------------------------------------------------------------
    def _response(self, sample_id: int, tokens: Sequence[int], with_count: bool) -> Any:
        buf = array.array("i", tokens)  # one copy; LoadGen reads its bytes
        self.keep.setdefault(sample_id, []).append(buf)
        addr, count = buf.buffer_info()
        nbytes = count * buf.itemsize
        if with_count:
            return self.lg.QuerySampleResponse(sample_id, addr, nbytes, len(tokens))
        return self.lg.QuerySampleResponse(sample_id, addr, nbytes)

    def _first(self, sample_id: int, tokens: Sequence[int]) -> None:
        with self.lock:
            t = self.stats.timings.get(sample_id)
            if t is not None and t.first is None:
                t.first = time.perf_counter()
        self.lg.FirstTokenComplete([self._response(sample_id, tokens[:1] or [0], False)])

    def _done(self, sample_id: int, tokens: Sequence[int]) -> None:
        tokens = list(tokens) or [0]
        with self.lock:
            t = self.stats.timings.get(sample_id)
            if t is not None:
                t.done = time.perf_counter()
                t.tokens = len(tokens)
            self.stats.completed += 1
            done = self.stats.completed
        self.lg.QuerySamplesComplete([self._response(sample_id, tokens, True)])
        self.keep.pop(sample_id, None)
        if self.on_progress is not None:
            self.on_progress(done)

    # -- the worker ----------------------------------------------------------------------
    def _pop(self, n: int) -> list[tuple[int, int]]:
        with self.lock:
            pending = self.pending
            return [pending.popleft() for _ in range(min(n, len(pending)))]

    def _take_batch(self) -> list[tuple[int, int]] | None:
        while True:
            batch = self._pop(self.batch_size)
            if batch:
                self._top_up(batch)
                return batch
            item = self.queue.get()
            if item is None:
                return None
            with self.lock:
                self.pending.extend(item)
                more = len(self.pending) > self.batch_size
            if more and len(self.threads) > 1:
                # one issue holds work for several workers (Offline issues everything at once): wake
                # the idle ones, which wait on the queue, with empty items
                for _ in range(len(self.threads) - 1):
                    self.queue.put([])

    def _top_up(self, batch: list[tuple[int, int]]) -> None:
        """Server-style dynamic batching: add queries that arrived meanwhile, up to the batch size."""
        while len(batch) < self.batch_size:
            try:
                nxt = self.queue.get_nowait()
            except queue.Empty:
                return
            if nxt is None:
                self.queue.put(None)
                return
            with self.lock:
                self.pending.extend(nxt)
            batch.extend(self._pop(self.batch_size - len(batch)))

    def _work_instant(self) -> None:
        """Worker loop for a backend that answers at once: whole issues cut into batches,
        one LoadGen call per batch for first tokens and one for completions."""
        bs = self.batch_size
        while True:
            samples = self.queue.get()
            if samples is None:
                return
            for k in range(0, len(samples), bs):
                chunk = samples[k:k + bs]
                try:
                    self._complete_instant(chunk)
                except Exception as exc:  # never leave LoadGen waiting: complete with empty answers
                    self.stats.errors.append(f"{type(exc).__name__}: {exc}")
                    self.failed.set()
                    empty = array.array("i", [0])
                    addr, _ = empty.buffer_info()
                    self.lg.QuerySamplesComplete([self.lg.QuerySampleResponse(s.id, addr, 4, 1) for s in chunk])

    def _complete_instant(self, chunk: Sequence[Any]) -> None:
        """A backend that answers a whole batch at once: one LoadGen call per batch, not per sample."""
        outputs = self.backend.generate_all(chunk)
        QSR = self.lg.QuerySampleResponse
        keep = []  # buffers must outlive the LoadGen calls below
        firsts, dones = [], []
        last: Any = None
        addr = count = 0
        for s, toks in zip(chunk, outputs):
            if toks is not last:  # consecutive identical answers share one buffer
                buf = array.array("i", toks or [0])
                keep.append(buf)
                addr, count = buf.buffer_info()
                last = toks
            sid = s.id
            firsts.append(QSR(sid, addr, 4))
            dones.append(QSR(sid, addr, count * 4, count))
        self.lg.FirstTokenComplete(firsts)
        self.lg.QuerySamplesComplete(dones)
        with self.lock:
            self.stats.completed += len(chunk)
            done = self.stats.completed
        if self.on_progress is not None:
            self.on_progress(done)

    def _work(self) -> None:
        if self.instant:
            self.ready.set()
            self._work_instant()
            return
        if self.warmup and threading.current_thread() is self.threads[0]:
            t = time.perf_counter()
            try:
                self.backend.generate(self.prompts[:1], lambda r, tok: None, lambda r, tok: None)
                self.warmup_s = time.perf_counter() - t
            except Exception as exc:  # reported by run_test before LoadGen starts
                self.warmup_error = str(exc)
        if threading.current_thread() is self.threads[0]:
            self.ready.set()
        while True:
            batch = self._take_batch()
            if batch is None:
                return
            if self.failed.is_set():
                for sid, _ in batch:
                    self._done(sid, [0])
                continue
            ids = [sid for sid, _ in batch]
            prompts = [self.prompts[idx] for _, idx in batch]
            sent = time.perf_counter()
            timings = self.stats.timings
            for sid in ids:
                t = timings.get(sid)
                if t is not None:
                    t.sent = sent
            first_sent: set[int] = set()
            done_sent: set[int] = set()

            def on_first(row: int, tokens: Sequence[int]) -> None:
                first_sent.add(row)
                self._first(ids[row], tokens)

            def on_done(row: int, tokens: Sequence[int]) -> None:
                done_sent.add(row)
                self._done(ids[row], tokens)

            try:
                self.backend.generate(prompts, on_first, on_done)
            except BackendError as exc:
                self.stats.errors.append(str(exc))
                self.failed.set()
            except Exception as exc:  # never leave LoadGen waiting
                self.stats.errors.append(f"{type(exc).__name__}: {exc}")
                self.failed.set()
            for row, sid in enumerate(ids):
                if row not in done_sent:
                    if row not in first_sent:
                        self._first(sid, [0])
                    self._done(sid, [0])
