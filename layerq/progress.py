"""Progress of a sweep: a tqdm bar on a terminal or in a notebook, a few plain lines in a log file."""

from __future__ import annotations

import sys
import time

__all__ = ["make_progress"]


class _Quiet:
    def update(self, failed: bool = False) -> None:
        pass

    def close(self) -> None:
        pass


class _Bar:
    """tqdm bar; no monitor thread (workers may be forked while it runs)."""

    def __init__(self, total: int, desc: str, stream):
        from tqdm import tqdm

        tqdm.monitor_interval = 0
        self.bar = tqdm(total=total, desc=desc, file=stream, mininterval=0.5, unit="config")
        self.failed = 0

    def update(self, failed: bool = False) -> None:
        if failed:
            self.failed += 1
            self.bar.set_postfix(failed=self.failed, refresh=False)
        self.bar.update()

    def close(self) -> None:
        self.bar.close()


class _Lines:
    """One line per step of about 5% (and the last): a log file gets no carriage returns."""

    def __init__(self, total: int, desc: str, stream):
        self.total, self.desc, self.stream = total, desc, stream
        self.done = self.failed = 0
        self.step = max(1, total // 20)
        self.start = time.perf_counter()

    def update(self, failed: bool = False) -> None:
        self.done += 1
        self.failed += failed
        if self.done % self.step == 0 or self.done == self.total:
            extra = f", {self.failed} failed" if self.failed else ""
            print(f"{self.desc}: {self.done}/{self.total} configurations{extra}, "
                  f"{time.perf_counter() - self.start:.1f} s", file=self.stream, flush=True)

    def close(self) -> None:
        pass


def _interactive(stream) -> bool:
    if "ipykernel" in sys.modules:  # a notebook renders tqdm's bar in place
        return True
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def make_progress(progress, total: int, desc: str):
    """A progress reporter with ``update(failed)`` and ``close()``.

    ``progress``: True (a bar on a terminal or notebook, else one line per
    ~5% of the work), False (nothing), or ``"lines"`` / ``"bar"`` to choose.
    """
    stream = sys.stderr
    if not progress or total == 0:
        return _Quiet()
    if progress == "bar" or (progress is True and _interactive(stream)):
        return _Bar(total, desc, stream)
    if progress in (True, "lines"):
        return _Lines(total, desc, stream)
    raise ValueError(f"progress must be True, False, 'bar' or 'lines', got {progress!r}")
