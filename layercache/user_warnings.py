"""Warnings that name the user's line, however deep in the toolkit they are raised.

A fixed ``stacklevel`` names the right line for one call path only: the
readers' warnings are raised inside generators that are driven by
:func:`layercache.read_trace`, :func:`layercache.stream_trace`, a user's
loop over :func:`layercache.iter_trace_chunks` or the command line. The
first frame outside this toolkit is the caller's.
"""

from __future__ import annotations

import sys
import warnings

_TOOLKIT = ("layercache", "layerq")


def _outside_level() -> int:
    """``stacklevel`` (for a ``warnings.warn`` in the caller of :func:`warn_at_caller`) of the first outside frame."""
    frame, level = sys._getframe(2), 1
    while frame is not None and frame.f_globals.get("__name__", "").partition(".")[0] in _TOOLKIT:
        frame, level = frame.f_back, level + 1
    return level


def warn_at_caller(message: str, category: type[Warning] = UserWarning) -> None:
    """``warnings.warn(message, category)`` attributed to the first line outside layercache and layerq."""
    warnings.warn(message, category, stacklevel=_outside_level() + 1)
