"""handler_kit: the helpers every Lambda handler of the platform shares (boto3 and stdlib only).

Shipped as a Lambda layer built from the plain folder ``lambda/layer`` (no bundling): Lambda
unpacks it under ``/opt`` and puts ``/opt/python`` on ``sys.path``, so a handler imports
``from handler_kit.log import log`` (or the names re-exported here).

Modules:
    log: one structured JSON log line per call.
    errors: ``ConfigurationError`` and the code / HTTP status of a botocore ``ClientError``.
    dlq: the dead-letter message (reason plus event, bounded by the SQS body limit) and its send.
    env: validated environment readers (queue URL, topic ARN, bounded numbers, choices, flags).
    s3_events: the object and time an EventBridge S3 event names (imported from the module, not
        re-exported here).
"""

from handler_kit.dlq import SQS_BODY_MAX, dead_letter_body, send_to_dlq
from handler_kit.env import (
    QUEUE_URL_RE,
    TOPIC_ARN_RE,
    boolean,
    bounded_float,
    bounded_int,
    matching_str,
    one_of,
    optional_str,
    queue_url,
    topic_arn,
)
from handler_kit.errors import ConfigurationError, error_code, http_status
from handler_kit.log import log

__all__ = [
    "QUEUE_URL_RE",
    "SQS_BODY_MAX",
    "TOPIC_ARN_RE",
    "ConfigurationError",
    "boolean",
    "bounded_float",
    "bounded_int",
    "dead_letter_body",
    "error_code",
    "http_status",
    "log",
    "matching_str",
    "one_of",
    "optional_str",
    "queue_url",
    "send_to_dlq",
    "topic_arn",
]
