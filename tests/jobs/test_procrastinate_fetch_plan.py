"""The procrastinate loops' fetch under a backlog: whether a due job waits behind a job of its
lock is looked up by that lock (the index migration 0037 adds), not by reading procrastinate's
whole (id, lock) index for every candidate, which made a fetch take seconds once ten thousand
status webhooks waited (bench/campaign.py)."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.support.databases import BACKEND
from wasb.jobs.procrastinate_loop import _FETCH
from wasb.jobs.procrastinate_queue import BATCH_QUEUE

pytestmark = pytest.mark.skipif(BACKEND != "postgresql", reason="procrastinate runs on PostgreSQL only")


def test_the_fetch_finds_a_job_s_lock_through_the_lock_index_under_a_backlog(db):
    with db.sessions() as s, s.begin():
        # 3,000 status jobs of 1,000 customers, three each, as a campaign's statuses queue up.
        s.execute(text("""
            INSERT INTO procrastinate_jobs (queue_name, task_name, lock, args, status)
            SELECT :queue, 'inbound.process', '106540352242922:3934810' || (n % 1000), '{}'::jsonb, 'todo'
              FROM generate_series(1, 3000) AS n"""), {"queue": BATCH_QUEUE})
        s.execute(text("ANALYZE procrastinate_jobs"))
    with db.sessions() as s, s.begin():
        plan = "\n".join(s.scalars(text("EXPLAIN " + str(_FETCH)),
                                   {"queue": BATCH_QUEUE, "limit": 64, "worker": 1}))
        s.rollback()
    assert "wasb_procrastinate_jobs_lock_waiting" in plan, plan
    assert "procrastinate_jobs_id_lock_idx" not in plan, plan
