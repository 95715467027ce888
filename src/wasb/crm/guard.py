"""Every call to a CRM, watched: what the admin sees about the CRM's health."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from wasb.crm.port import CRMAuthError, CRMUnavailable
from wasb.metrics import CRM_CALL_SECONDS
from wasb.store.base import utcnow


@dataclass(frozen=True)
class HealthView:
    last_ok_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None

    @property
    def reachable(self) -> bool | None:
        """None until a call has told; else whether the latest call got an answer."""
        if self.last_error_at is None:
            return None if self.last_ok_at is None else True
        return self.last_ok_at is not None and self.last_ok_at > self.last_error_at


@dataclass
class CrmHealth:
    """The last outcome of this process's calls to the CRM (safe to share between threads).
    `settled`: the caller holds no database transaction, so a subclass that stores the
    outcome may write it before the call returns."""

    last_ok_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def ok(self, settled: bool = False) -> None:
        with self._lock:
            self.last_ok_at = utcnow()

    def failed(self, exc: BaseException, settled: bool = False) -> None:
        with self._lock:
            self.last_error, self.last_error_at = f"{type(exc).__name__}: {exc}", utcnow()

    def view(self) -> HealthView:
        """What the admin is shown."""
        with self._lock:
            return HealthView(self.last_ok_at, self.last_error, self.last_error_at)

    @property
    def reachable(self) -> bool | None:
        return self.view().reachable


class GuardedCRM:
    """The CRM port, with faults (the CRM down, our credentials refused) reported to `health`. Answers such as "not found" or a
    duplicate mobile are not faults of the CRM and count as reaching it."""

    def __init__(self, crm: Any, *, health: CrmHealth | None = None, settled: Callable[[], bool] | None = None):
        self._crm = crm
        self._health = health
        self._settled = settled or (lambda: False)

    @property
    def wrapped(self) -> Any:
        return self._crm

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._crm, name)
        if name.startswith("_") or not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                result = attr(*args, **kwargs)
            except (CRMUnavailable, CRMAuthError) as exc:
                CRM_CALL_SECONDS.labels(name, "fault").observe(time.perf_counter() - started)
                if self._health is not None:
                    self._health.failed(exc, self._settled())
                raise
            except Exception:
                CRM_CALL_SECONDS.labels(name, "ok").observe(time.perf_counter() - started)
                if self._health is not None:
                    self._health.ok(self._settled())
                raise
            CRM_CALL_SECONDS.labels(name, "ok").observe(time.perf_counter() - started)
            if self._health is not None:
                self._health.ok(self._settled())
            return result

        return call
