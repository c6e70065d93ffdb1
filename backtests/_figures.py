"""Figure rendering for the report: each figure drawn once per format, about half of them in a
forked helper process while this process draws the rest and formats the tables.

Drawing (matplotlib's Agg or SVG backend) is pure Python-level work that holds the GIL, so threads
do not help; a forked child shares the already-built :class:`~matplotlib.figure.Figure` objects
copy-on-write (nothing is pickled on the way in) and sends back only the encoded bytes. The child
never writes files, logs or touches the progress bar: the report folder stays this process's alone
(atomic writes unchanged), and a child whose parent died finishes its few figures, fails to write to
the closed pipe and exits. The images are byte-identical to a serial rendering (same code, same
state); where ``fork`` is unsafe or unavailable (not Linux, one CPU, ``NEWSBT_FIGURE_PROCESSES=1``)
everything is drawn here, in order.

The helper is used by the command line (``newsbt demo`` / ``run`` / ``report``: a process whose
threads newsbt owns) and only on request from the library (``NEWSBT_FIGURE_PROCESSES=2``): a
notebook or a service may draw figures in other threads, and a fork taken while one of them holds
matplotlib's render lock would leave the child waiting forever. Whatever happens to the helper
(fork refused, child stuck for :data:`HELPER_TIMEOUT` seconds, child died), the figures it has not
sent are drawn here: the report never depends on it.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import pickle
import select
import signal
import struct
import sys
import traceback
import warnings
from collections.abc import Callable, Sequence

log = logging.getLogger(__name__)

#: environment variable: ``1`` draws every figure in this process, ``2`` allows the helper process
ENV_PROCESSES = "NEWSBT_FIGURE_PROCESSES"
#: processes used when the variable is unset (the command line sets 2, see :func:`backtests.cli.main`)
DEFAULT_PROCESSES = 1
#: seconds without any figure from the helper before it is stopped and its figures drawn here
HELPER_TIMEOUT = 120.0
_HEADER = struct.Struct("!iQ")  # figure index, payload length


def render(fig, formats: Sequence[str]) -> dict[str, bytes]:
    """``fig`` encoded in each format (see :func:`backtests.plots.render_figure`)."""
    from backtests import plots

    return {fmt: plots.render_figure(fig, fmt) for fmt in formats}


def cost(fig) -> float:
    """Rough drawing cost of a figure, in axes (ticks and labels dominate matplotlib's draw time)."""
    return 1.0 + len(getattr(fig, "axes", ()))


def helper_allowed(n_figures: int) -> bool:
    """A helper process is used on Linux with at least two usable CPUs and two figures."""
    want = os.environ.get(ENV_PROCESSES, "").strip() or str(DEFAULT_PROCESSES)
    if want == "1" or n_figures < 2:
        return False
    if not sys.platform.startswith("linux") or not hasattr(os, "fork"):
        return False  # macOS: fork is unsafe with system frameworks; Windows: no fork
    try:
        return len(os.sched_getaffinity(0)) >= 2
    except (AttributeError, OSError):
        return (os.cpu_count() or 1) >= 2


def split(costs: Sequence[float], own_load: float) -> tuple[list[int], list[int]]:
    """Indices of the figures drawn here and in the helper: longest first, each to the less loaded
    side; this process starts with ``own_load`` (the tables it formats meanwhile, in axes units)."""
    here, there, load = [], [], [own_load, 0.0]
    for i in sorted(range(len(costs)), key=lambda k: -costs[k]):
        side = 0 if load[0] <= load[1] else 1
        (here if side == 0 else there).append(i)
        load[side] += costs[i]
    return sorted(here), sorted(there)


class Helper:
    """A forked child drawing ``figs[i]`` for ``i`` in ``indices``; results read with :meth:`poll`."""

    def __init__(self, figs: Sequence, indices: Sequence[int], formats: Sequence[str]):
        r, w = os.pipe()
        try:
            with warnings.catch_warnings():  # Python >= 3.12 warns on fork with threads; the child
                warnings.simplefilter("ignore", DeprecationWarning)  # only draws (no locks, no I/O)
                pid = os.fork()
        except OSError:  # fork refused (process limit, memory): the caller draws everything
            os.close(r)
            os.close(w)
            raise
        if pid == 0:  # pragma: no cover - the child (coverage does not follow a fork)
            # no garbage collection in the short-lived child: a full collection would walk (and,
            # by touching reference counts, copy) every object inherited from the parent
            gc.disable()
            os.close(r)
            _child(figs, indices, formats, w)
        os.close(w)
        self.pid, self.fd, self.pending = pid, r, set(indices)
        self._buf = b""
        self._poller = select.poll()  # poll, not select: descriptors above 1023 work
        self._poller.register(r, select.POLLIN | select.POLLHUP | select.POLLERR)

    def poll(self, block: bool = False) -> list[tuple[int, dict[str, bytes]]]:
        """Results available now (``block``: wait until every pending figure has arrived; raises
        :class:`TimeoutError` when none arrives for :data:`HELPER_TIMEOUT` seconds)."""
        out = []
        while self.pending:
            if not self._poller.poll(int(HELPER_TIMEOUT * 1000) if block else 0):
                if block:
                    raise TimeoutError(f"the figure helper process sent nothing for {HELPER_TIMEOUT:.0f} s")
                break
            chunk = os.read(self.fd, 1 << 20)
            if not chunk:  # the child died without sending everything
                raise ChildProcessError(f"the figure helper process stopped early (pid {self.pid})")
            self._buf += chunk
            while len(self._buf) >= _HEADER.size:
                i, n = _HEADER.unpack_from(self._buf)
                if len(self._buf) < _HEADER.size + n:
                    break
                try:
                    payload = pickle.loads(self._buf[_HEADER.size : _HEADER.size + n])
                except Exception as exc:  # noqa: BLE001 - an exception that cannot be rebuilt here
                    raise ChildProcessError(f"the figure helper's result could not be read: {exc}") from exc
                self._buf = self._buf[_HEADER.size + n :]
                if i < 0:  # the child's exception, raised here as if the figure failed here
                    raise payload
                self.pending.discard(i)
                out.append((i, payload))
        return out

    def close(self, *, kill: bool = False) -> None:
        """Close the pipe and reap the child (it exits on its own after its last figure; ``kill``
        stops it first, when this process gives up on the report)."""
        try:
            if kill and self.pending:
                os.kill(self.pid, signal.SIGKILL)
            os.close(self.fd)
        finally:
            with contextlib.suppress(ChildProcessError):  # SIGCHLD ignored by the host: reaped already
                os.waitpid(self.pid, 0)


def _child(figs, indices, formats, w: int) -> None:  # pragma: no cover - runs in the child
    code = 0
    try:
        with os.fdopen(w, "wb") as f:
            try:
                for i in indices:
                    data = pickle.dumps(render(figs[i], formats))
                    f.write(_HEADER.pack(i, len(data)) + data)
                    f.flush()
            except BrokenPipeError:
                raise
            except BaseException as e:  # noqa: BLE001 - sent to the parent, which raises it
                tb = "".join(traceback.format_exception(e))
                try:
                    e.add_note(f"(raised while drawing figure {i} in the figure helper process)\n{tb}")
                    data = pickle.dumps(e)
                    pickle.loads(data)  # an exception the parent could not rebuild is sent as text
                except Exception:  # noqa: BLE001 - an exception that does not pickle
                    data = pickle.dumps(RuntimeError(f"figure {i} in the figure helper process: {tb}"))
                f.write(_HEADER.pack(-1, len(data)) + data)
    except BaseException:  # noqa: BLE001 - parent gone (broken pipe): nothing to report to
        code = 1
    finally:
        os._exit(code)  # never return into the parent's code (pytest, atexit handlers, ...)


def render_all(
    figs: Sequence,
    formats: Sequence[str],
    *,
    own_load: float = 0.0,
    on_done: Callable[[int, dict[str, bytes]], None],
    between: Sequence[Callable[[], None]] = (),
) -> None:
    """Draw every figure once per format; ``on_done(i, blobs)`` is called in this process for each
    figure as it is ready (in no fixed order), and the ``between`` jobs (e.g. table formatting) run
    here while the helper draws. Without a helper: figures in order, then the jobs."""
    if not helper_allowed(len(figs)):
        for i, fig in enumerate(figs):
            on_done(i, render(fig, formats))
        for job in between:
            job()
        return
    here, there = split([cost(f) for f in figs], own_load)
    try:
        helper = Helper(figs, there, formats)
    except OSError as exc:
        log.info("figure helper process not started (%s): drawing every figure here", exc)
        here, helper = list(range(len(figs))), None
    try:
        for i in here:
            blobs = render(figs[i], formats)
            _drain(helper, on_done)
            on_done(i, blobs)
        for job in between:
            _drain(helper, on_done)
            job()
        if helper is not None:
            try:
                for j, b in helper.poll(block=True):
                    on_done(j, b)
            except (TimeoutError, ChildProcessError) as exc:  # stuck or dead: draw its figures here
                log.warning("figure helper process failed (%s): drawing its figures here", exc)
                helper.close(kill=True)
                for j in sorted(helper.pending):
                    on_done(j, render(figs[j], formats))
                return
    except BaseException:
        if helper is not None:
            helper.close(kill=True)
        raise
    if helper is not None:
        helper.close()


def _drain(helper: Helper | None, on_done: Callable[[int, dict[str, bytes]], None]) -> None:
    """Hand over what the helper has sent so far."""
    if helper is not None:
        for j, b in helper.poll():
            on_done(j, b)
