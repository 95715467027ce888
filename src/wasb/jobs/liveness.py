"""Which process a running job of the embedded engine belongs to, and whether it lives."""
from __future__ import annotations

import os
import socket


def host() -> str:
    return socket.gethostname()[:60]


def process_name(pid: int) -> str:
    """What the jobs a process's workers claim are marked with: this host and the pid."""
    return f"{host()}:{pid}"


def pid_of(worker: str | None) -> int | None:
    pid = (worker or "").rpartition(":")[2].partition("-")[0]
    return int(pid) if pid.isdigit() else None


def running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def dead_here(worker: str | None) -> bool:
    """The worker is a process of this host that is gone (another host's: not known here)."""
    if not worker or not worker.startswith(f"{host()}:"):
        return False
    pid = pid_of(worker)
    return pid is not None and not running(pid)
