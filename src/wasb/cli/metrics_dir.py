"""Where `wasb serve` and its child worker share their counters (prometheus_client's
multiprocess mode), so the web's `/metrics` shows the sends, Meta's errors and the job
failures the worker counted, not only the web's own.

prometheus_client chooses its mode once, when it is first imported, from
PROMETHEUS_MULTIPROC_DIR: serve sets it before importing the app, and the child inherits
it with the rest of serve's environment. An operator's own directory (to share it with a
`wasb worker` run apart on the same machine) is used as it is: emptying it before the
processes start is the operator's, as prometheus_client's documentation says.
"""
from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

ENV = "PROMETHEUS_MULTIPROC_DIR"

log = logging.getLogger(__name__)


@contextmanager
def shared_metrics_dir() -> Iterator[str | None]:
    """The directory in use (None: each process counts alone); one of serve's own is
    removed when serve ends."""
    given = os.environ.get(ENV)
    if given:
        yield given
        return
    if "prometheus_client" in sys.modules:  # too late to choose: this process counts alone
        log.warning("prometheus_client was imported before serve set %s: the worker's counters are not "
                    "shown in /metrics", ENV)
        yield None
        return
    path = tempfile.mkdtemp(prefix="wasb-metrics-")
    os.environ[ENV] = path
    try:
        yield path
    finally:
        os.environ.pop(ENV, None)
        shutil.rmtree(path, ignore_errors=True)
