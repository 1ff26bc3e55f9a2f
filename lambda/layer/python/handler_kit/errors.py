"""The configuration error every handler raises, and what a botocore ``ClientError`` says."""

from __future__ import annotations

from botocore.exceptions import ClientError


class ConfigurationError(Exception):
    """An environment variable is missing or invalid.

    A deployment error, not a bad event: the handler raises it before reading the event, so the
    invocation fails (and Lambda retries, then dead-letters, asynchronous events) until the
    configuration is fixed. The message names the variable, the bad value and what is allowed.
    """


def error_code(error: ClientError, default: str = "") -> str:
    """The service error code of ``error`` (``Error.Code``), or ``default`` when it has none."""
    return str(error.response.get("Error", {}).get("Code", default))


def http_status(error: ClientError) -> int:
    """The HTTP status code of ``error`` (``ResponseMetadata.HTTPStatusCode``), 0 when unknown."""
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return int(status or 0)
