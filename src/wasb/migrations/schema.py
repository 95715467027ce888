"""Every table of the service, for migrations: importing each feature's tables registers them."""
from __future__ import annotations

import wasb.audit.tables  # noqa: F401
import wasb.auth.tables  # noqa: F401
import wasb.campaigns.tables  # noqa: F401
import wasb.contacts.tables  # noqa: F401
import wasb.conversations.tables  # noqa: F401
import wasb.crm.embedded.tables  # noqa: F401
import wasb.crm.tables  # noqa: F401
import wasb.documents.tables  # noqa: F401
import wasb.hooks.tables  # noqa: F401
import wasb.inbound.tables  # noqa: F401
import wasb.jobs.tables  # noqa: F401
import wasb.outbound.tables  # noqa: F401
import wasb.reports.tables  # noqa: F401
import wasb.live.tables  # noqa: F401
import wasb.scheduler.tables  # noqa: F401
import wasb.settings.tables  # noqa: F401
import wasb.sync.tables  # noqa: F401
import wasb.templates.tables  # noqa: F401
from wasb.store.base import Base

metadata = Base.metadata
