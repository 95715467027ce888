"""The parameters routes share, bounded in one place: row ids, CRM ids, paging, search text.

What a client can get wrong is refused here with a 422 that says which parameter and why, so
that no query ever sees a number past the id columns' INTEGER (PostgreSQL: an error, past
2^63 an OverflowError on SQLite), a negative LIMIT/OFFSET (PostgreSQL refuses them), or a NUL
(PostgreSQL text cannot hold it).
"""
from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import AfterValidator

from wasb.store.ids import MAX_ROW_ID

# Paging stops well inside the id range: no page of a list is further than its ids.
MAX_OFFSET = MAX_ROW_ID
MAX_TEXT = 200  # a search, a filter or a CRM id; longer is no typing mistake
# What no_nul enforces, said in the OpenAPI document (a JSON Schema pattern: no U+0000).
NO_NUL = {"pattern": "^[^\\u0000]*$"}


def no_nul(value: str | None) -> str | None:
    """The one check for NUL in text from a client (PostgreSQL text cannot store or compare it)."""
    if value is not None and "\x00" in value:
        raise ValueError("must not contain the NUL character (\\u0000)")
    return value


def contains_nul(value: object) -> bool:
    """A NUL anywhere in a JSON value a route takes as a whole (keys included)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(contains_nul(k) or contains_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(contains_nul(v) for v in value)
    return False


# A row of the service's own tables (conversations, messages, templates, events, users, tokens).
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="A row id: 1 to 2^31-1.")]
# A record of the CRM: its own id format (embedded: digits; vtenext: `12x34`); unknown ids are 404.
CrmId = Annotated[str, Path(min_length=1, max_length=64, description="The CRM's record id.",
                             json_schema_extra=NO_NUL), AfterValidator(no_nul)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Rows to skip.")]
# Each list has its own page size; a larger limit is read as that size.
Limit = Annotated[int, Query(ge=1, le=MAX_OFFSET, description="Rows to return (a list's maximum if larger).")]
# A UI list's page number (50 rows a page): pages below 1 are read as 1, as a person means.
PageNumber = Annotated[int, Query(le=MAX_OFFSET // 100, description="Page number, from 1.")]
# Text a list is filtered or searched by.
QueryText = Annotated[str, Query(max_length=MAX_TEXT, json_schema_extra=NO_NUL), AfterValidator(no_nul)]
OptionalQueryText = Annotated[str | None, Query(max_length=MAX_TEXT, json_schema_extra=NO_NUL), AfterValidator(no_nul)]
# A JSON body's text field: the same rule.
BodyText = Annotated[str, AfterValidator(no_nul)]

