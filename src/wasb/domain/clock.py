"""The clock the customer-service window is measured on: ours, plus the offset of the
simulator's clock in `make run` (its phone page's +1 h / +24 h), so that the demo's window
closes when the simulated phone says. Outside the demo there is no offset file and this
is the real clock.

The offset is a number of seconds in a file the simulator writes (`WASB_DEMO_CLOCK_FILE`,
set by `wasb.demo` for both children); it is read again only when the file changes."""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

_state: dict = {"path": None, "mtime": None, "offset": timedelta(0)}


def follow_offset_file(path: str | os.PathLike | None) -> None:
    """Measure the window on the real clock plus the seconds in `path` (None: the real clock)."""
    _state.update(path=os.fspath(path) if path else None, mtime=None, offset=timedelta(0))


def write_offset(path: str | os.PathLike, seconds: float) -> None:
    """The simulator's side: its clock is now `seconds` ahead of the real one."""
    tmp = f"{os.fspath(path)}.tmp"
    with open(tmp, "w") as out:
        out.write(f"{seconds}\n")
    os.replace(tmp, path)


def offset() -> timedelta:
    path = _state["path"]
    if path is None:
        return timedelta(0)
    try:
        mtime = os.stat(path).st_mtime_ns
        if mtime != _state["mtime"]:
            with open(path) as f:
                _state["offset"], _state["mtime"] = timedelta(seconds=float(f.read().strip() or 0)), mtime
    except (OSError, ValueError):
        pass  # not written yet, or being replaced: the last offset read stands
    return _state["offset"]


def window_now() -> datetime:
    return datetime.now(timezone.utc) + offset()
