"""Worker processes: those that turn rows into records while this process reads the files and writes the
database, and one that computes a function's values while this process goes on.

The row workers are forked before the database is opened, so they hold neither its files nor the writer's
lock: a killed ingest leaves nothing behind that a later command would have to wait for. Each table's
builder is sent to them once; then only chunks of rows and of results cross the pipes, as plain tuples.
Results come back in the rows' order, so ids, references and counts are exactly those of the
one-process path.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import pickle
import subprocess
import sys
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Generic, TypeVar

T = TypeVar("T")

# Rows per message: enough that a message's cost is small, few enough to keep every process busy.
CHUNK_ROWS = 2000
# Below this many bytes of input, starting processes costs more than it saves: a nightly list of 3,000 rows
# (293 KB) read as fast either way, one of 10,000 (1 MB) 0.6 s sooner with them.
PARALLEL_BYTES = 256 << 10


def default_workers(total_bytes: int) -> int:
    """One worker per core: building is about two thirds of the work, and this process, which reads
    and writes, mostly waits for results. None for small inputs or where processes cannot be forked."""
    if total_bytes < PARALLEL_BYTES or "fork" not in multiprocessing.get_all_start_methods():
        return 0
    return cores()


def cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class Workers:
    """`count` forked processes for `map`; with none, `map` runs here."""

    def __init__(self, count: int) -> None:
        self.count = count
        self._pipes: list[Connection] = []
        self._processes: list[BaseProcess] = []

    def __enter__(self) -> Workers:
        context = multiprocessing.get_context("fork") if self.count else None
        for _ in range(self.count):
            here, there = context.Pipe()
            process = context.Process(target=_serve, args=(there, here), daemon=True)
            process.start()
            there.close()
            self._pipes.append(here)
            self._processes.append(process)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for pipe in self._pipes:
            try:
                pipe.send(None)
            except OSError:
                pass  # that worker is gone already
            pipe.close()
        for process in self._processes:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
                process.join()

    def map(self, function: Callable, items: Iterable) -> Iterator:
        """function(item) for every item, in order. `function` is pickled once (a bound method pickles its
        object), so it must be a module-level function or a method of a picklable object."""
        if not self._pipes:
            yield from map(function, items)
            return
        for pipe in self._pipes:
            pipe.send(function)
        items = iter(items)
        chunks = iter(lambda: list(islice(items, CHUNK_ROWS)), [])
        # One chunk in flight per worker: a worker busy sending a result is never sent to at the same time.
        pending: deque[Connection] = deque()
        for pipe, chunk in zip(self._pipes, chunks):
            pipe.send(chunk)
            pending.append(pipe)
        while pending:
            pipe = pending.popleft()
            failed, results = pipe.recv()
            if failed:
                raise results
            chunk = next(chunks, None)
            if chunk is not None:
                pipe.send(chunk)
                pending.append(pipe)
            yield from results


def _serve(pipe: Connection, parent_end: Connection) -> None:
    """A worker's loop: a callable sets the function, a list is a chunk to map, None (or EOF) stops."""
    parent_end.close()  # else this process would hold its own pipe open and never see the parent go away
    function: Callable | None = None
    try:
        while (message := pipe.recv()) is not None:
            if not isinstance(message, list):
                function = message
                continue
            try:
                pipe.send((False, [function(item) for item in message]))
            except Exception as exc:  # raised again in the parent, where the rows come from
                pipe.send((True, exc))
    except (EOFError, OSError, KeyboardInterrupt):
        pass  # the parent has gone


class InChild(Generic[T]):
    """The values of `produce(*args)` computed in a new Python process while this one goes on, when
    `separate`; else here, as they are asked for. Use it as a context: leaving it ends the process.

    The arguments and the values cross pipes, pickled: the process holds only what it is given, and of
    what this one has open only stderr (not a database, nor its lock). It imports modules from this
    process's sys.path, whatever the environment says. `produce` is a module-level function.
    """

    def __init__(self, produce: Callable[..., Iterable[T]], args: tuple, separate: bool) -> None:
        self._produce, self._args = produce, args
        self._process: subprocess.Popen | None = None
        self._here = not (separate and sys.executable)
        if not self._here:
            # A session of its own: Ctrl-C reaches this process only, which then ends the worker.
            self._process = subprocess.Popen([sys.executable, "-I", "-c", _BOOTSTRAP, json.dumps(sys.path)],
                                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True)
            try:
                pickle.dump((produce, args), self._process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
                self._process.stdin.close()
            except OSError:
                pass  # it has ended already: values() tells how
            except BaseException:
                self._end()
                raise

    def __enter__(self) -> InChild[T]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._process is not None:
            self._end()

    def _end(self) -> None:
        process, self._process = self._process, None
        process.kill()  # ended already, unless this process failed first and wants nothing more
        process.wait()
        with contextlib.suppress(OSError):  # what it did not read cannot be sent now
            process.stdin.close()
        process.stdout.close()
        # Freed here, not with this object: a Ctrl-C during a long free is then raised in plain code, not
        # inside Popen's finaliser, where Python would drop it (and the clean would go on to commit).
        del process
        self._args = ()

    def values(self) -> Iterator[T]:
        if self._here:
            yield from self._produce(*self._args)
            return
        while True:
            try:
                kind, value = pickle.load(self._process.stdout)
            except (EOFError, pickle.UnpicklingError):  # it ended, maybe in the middle of a value
                code = self._process.wait()
                how = (f"was killed by signal {-code} (out of memory?)" if code < 0
                       else f"failed with exit code {code} (its error is printed above)")
                raise RuntimeError(f"a worker process {how} before its work was done") from None
            if kind == "failed":
                raise value
            if kind == "done":
                return
            yield value


# The worker's start: this process's sys.path (argv[1]), then the loop below.
_BOOTSTRAP = ("import json, sys; sys.path[:] = json.loads(sys.argv[1]); "
              "from clientbase.workers import _serve_values; _serve_values()")


def _serve_values() -> None:
    """A worker process's work: read (produce, args) from stdin, write produce's values to stdout."""
    values = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed goes to stderr, not among the values
    try:
        produce, args = pickle.load(sys.stdin.buffer)
        produced = produce(*args)
        del args  # what `produce` lets go of as it goes is then freed: a tenth or more of the name search's peak
        for value in produced:
            pickle.dump(("value", value), values, protocol=pickle.HIGHEST_PROTOCOL)
            values.flush()
        outcome: tuple[str, object] = ("done", None)
    except Exception as exc:  # raised again in the process that asked, with where it was raised here
        exc.add_note(f"In the worker process:\n{traceback.format_exc()}")
        outcome = ("failed", exc)
    try:
        pickle.dump(outcome, values, protocol=pickle.HIGHEST_PROTOCOL)
        values.close()
    except OSError:
        pass  # the asking process has gone
