"""Italian users see Italian: every string the UI shows has its translation."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

import wasb.web.ui as ui_package
from wasb.contacts.consent import SOURCES as CONSENT_SOURCES
from wasb.conversations import canned
from wasb.crm.mapping import SOURCES
from wasb.crm.port import PERSON_KINDS
from wasb.domain.business_hours import WEEKDAYS
from wasb.hooks.service import EVENTS as HOOK_EVENTS
from wasb.settings.service import AdminSettings
from wasb.web.ui.admin_pages import channel_view
from wasb.web.ui.i18n import IT, translator
from wasb.config import Config

UI = Path(ui_package.__file__).parent
TEMPLATES = UI.parent / "templates" / "ui"
LITERAL = re.compile(r"""_\(\s*(["'])((?:(?!\1).)+?)\1\s*[,)]""")


def used_strings() -> set[str]:
    found = set()
    for path in [*TEMPLATES.glob("*.html"), *UI.glob("*.py")]:
        found |= {m.group(2) for m in LITERAL.finditer(path.read_text())}
    return found


def shown_by_value() -> set[str]:
    """Strings translated from data: kinds, states, settings, channel labels."""
    values = set(PERSON_KINDS) | {k + "s" for k in PERSON_KINDS}
    values |= {"open", "closed", "queued", "sending", "sent", "delivered", "read", "failed", "received",
               "pending", "processed", "idle", "running", "stopped"}
    values |= {f"setting:{key}" for key in AdminSettings.model_fields}
    values |= {f"source:{source}" for source in SOURCES}
    values |= {f"day:{day}" for day in WEEKDAYS}
    values |= {f"consent:{source}" for source in CONSENT_SOURCES}
    values |= {f"hook:{event}" for event in HOOK_EVENTS}
    values |= {f"health:{state}" for state in ("ok", "unhealthy", "unknown")}
    values |= {f"media:{state}" for state in ("pending", "failed", "expired")}
    values |= {label for label, _ in channel_view(Config(_env_file=None))}
    values |= {f"placeholder:{name}" for name in canned.PLACEHOLDERS}
    # The canned replies' refusals, shown translated on their page.
    values |= {text for name, text in vars(canned).items() if name.isupper() and isinstance(text, str)
               and text.endswith(".") and text[0].isupper()}
    return values


@pytest.mark.parametrize("text", sorted(used_strings() | shown_by_value()))
def test_every_ui_string_has_an_italian_translation(text):
    assert IT.get(text), f"missing Italian for {text!r}"


def test_placeholders_survive_translation():
    for english, italian in IT.items():
        assert set(re.findall(r"\{(\w+)\}", english)) == set(re.findall(r"\{(\w+)\}", italian)), english


def test_a_setting_added_later_gets_a_readable_label_before_it_is_translated():
    assert translator("en")("setting:reply_reminder_minutes") == "Reply reminder minutes"
    assert translator("it")("Inbox") == "Posta in arrivo"
    assert translator("en")("Inbox") == "Inbox"


def test_the_jobs_english_descriptions_are_the_registrys():
    from wasb.scheduler.registry import default_specs

    for name, spec in default_specs().items():
        assert translator("en")(f"job:{name}") == spec.description
        assert IT.get(f"job:{name}"), name


def test_crm_and_meta_values_unknown_to_the_catalogue_show_as_they_are():
    assert translator("it")("ticket-status:Open") == "Aperto"
    assert translator("it")("ticket-status:Escalated") == "Escalated"
    assert translator("en")("priority:High") == "High"
