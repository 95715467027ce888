"""The webhook tests speak real HTTP to the real app, served in the test's process
(tests/support/inprocess.py): `server` here is that service, not a `wasb serve` process."""
from tests.support.inprocess import server_in_process as server  # noqa: F401  (the fixture)
