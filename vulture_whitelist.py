"""Names vulture reports as unused that are used, by something it cannot see.

`vulture` (configured in pyproject.toml: src/wasb, tests and this file, decorated routes,
commands, validators, event listeners and fixtures ignored) must report nothing: a name it
reports is either dead, and goes, or a false positive of one of the kinds below, and is
added here under its kind. Nothing else belongs here.
"""
# ruff: noqa
# mypy: ignore-errors
_ = object()

# --- read by the Jinja templates (web/templates/ui) ---------------------------------------
last_used_at  # ApiToken.last_used_at, users.html
last_login_at  # User.last_login_at, users.html
last_run  # JobRow.last_run, jobs.html
choices  # settings fields, settings.html
closes_at  # the window badge, _icons.html
last_at  # inbox rows, _inbox_list.html
last_body
last_direction
last_status
deliveries  # ticket comments, _ticket_comments.html
footer  # template preview, _template_fields.html
part_errors  # settings fields: the business hours' reason per weekday, settings.html
map_url  # ThreadItem.map_url: the "Open map" link of a location, _conversation_live.html

# --- reported as a dict (dataclass __dict__ / asdict) in a job's result ------------------
unlinked  # CustomerSyncReport (syncCustomers)
crm_names_filled
crm_mobiles_filled
consent_changes
_.unlinked
_.crm_names_filled
_.crm_mobiles_filled
_.consent_changes
not_whatsapp  # PollSummary (syncMessages, the agent-comment poll)
already_known
handed_over
_.not_whatsapp
_.already_known
_.handed_over

# --- read by name ------------------------------------------------------------------------
createable  # describe.py fields, looked up by crm/vtenext/check.py's permission names
retrieveable
_._op_listtypes  # the fake vtenext dispatches operations with getattr(self, f"_op_{name}")
_._op_describe
_._op_retrieve
_._op_query
_._op_create
_._op_update
first_name  # the fake vtenext's Users record, as the CRM describes it
last_name

# --- read by the library that owns the attribute ----------------------------------------
model_config  # pydantic (Config, AdminSettings)
impl  # SQLAlchemy TypeDecorator
cache_ok
_.process_bind_param
_.process_result_value
_.isolation_level  # sqlite3 connection: we issue BEGIN ourselves
_.msg  # logging.LogRecord, rewritten by the redacting filter
_.should_exit  # uvicorn.Server, set to stop a server run in a thread
get_retry_decision  # procrastinate's worker asks jobs.procrastinate_worker._Decide after a try raised
collect  # prometheus_client's registry reads web.metrics.ClusterCollector at each scrape

# --- tables read and written by SQL text only (outbound.shared_limits), declared for the schema
SendSlot
SendPace
_.free_at

# --- pytest -----------------------------------------------------------------------------
pytest_report_header
pytest_collection_modifyitems
pytestmark
_.__test__  # test_config is a helper, not a test: pytest reads __test__ = False

# --- public helpers documented for people who embed the simulator (simulator/README.md) -
serve  # wasb.simulator.testing.serve: run the simulator in a thread of one's own tests

# --- html.parser.HTMLParser calls these overrides (tests/ui/test_italian_pages.py) ---------
_.handle_starttag
_.handle_endtag
_.handle_data

# --- analytics_day's counters: read and written by name (wasb.reports.dashboard.COUNTS) ---
_.conversations_opened
_.messages_in
_.messages_out
_.windows_expired

# --- http.server calls these by name (tests/hooks/receiver.py, the webhook receiver) ---
_.do_POST
_.log_message
