"""The member account: assume its role, build its clients, find where the function runs.

An organization custom rule's function runs in the security (delegated administrator) account,
while the result token in each event belongs to the rule of the member account that invoked it.
``org_isolation_rule`` therefore assumes
``arn:<partition>:iam::<event accountId>:role/<MEMBER_ROLE_NAME>`` through the regional STS
endpoint of the function's own region (``sts.<region>.<partition domain>``, also when the runtime
or ``AWS_STS_REGIONAL_ENDPOINTS`` would pick the global one: a VPC's STS interface endpoint only
serves the regional name), session ``config-isolation-<account>``, 900 seconds (the minimum;
one run lasts at most the function's 5-minute timeout), and builds the SageMaker and Config
clients of that region from the returned credentials. The dead-letter queue stays on the
function's own credentials.

STS ``AccessDenied`` (the role is missing, or its trust policy does not name this function's
role) raises ``MemberRoleDeniedError``: the entry point dead-letters the event. Every other STS
error (throttling, 5xx, network, ``RegionDisabledException``, the function's own credentials)
propagates, so Lambda retries the invocation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.session
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError
from handler_kit.errors import ConfigurationError, error_code

SESSION_DURATION_SECONDS = 900
SESSION_NAME_PREFIX = "config-isolation-"
DENIED_CODES = frozenset({"AccessDenied"})
"""STS codes that no retry fixes (the member role or its trust): the event is dead-lettered."""
FUNCTION_ARN_RE = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):lambda:(?P<region>[a-z]{2}(?:-[a-z]+)+-\d):\d{12}:"
    r"function:[A-Za-z0-9_-]{1,64}(?::[A-Za-z0-9_$-]{1,128})?"
)
"""A Lambda function ARN, optionally qualified by a version or alias (matched in full)."""


def retry_config() -> BotoConfig:
    """Standard retry mode: throttling and 5xx are retried by botocore before raising."""
    return BotoConfig(retries={"mode": "standard", "max_attempts": 5})


class MemberRoleDeniedError(Exception):
    """STS refused to let the function assume the member role (no retry would help)."""

    def __init__(self, role_arn: str, code: str, detail: str) -> None:
        super().__init__(
            f"cannot assume {role_arn} ({code}): the member role is missing or its trust "
            f"policy does not allow this function's role: {detail}"
        )
        self.role_arn = role_arn
        self.code = code


@dataclass(frozen=True)
class FunctionLocation:
    """Partition and region of the running function (from its invoked ARN)."""

    partition: str
    region: str


@dataclass(frozen=True)
class MemberCredentials:
    """Temporary credentials of the assumed member role (secrets kept out of ``repr``)."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)


@dataclass(frozen=True)
class MemberClients:
    """The member account's clients: SageMaker (read the jobs) and Config (report them)."""

    sagemaker: Any
    config: Any


def function_location(context: Any) -> FunctionLocation:
    """Partition and region from ``context.invoked_function_arn``.

    Raises:
        ConfigurationError: no Lambda function ARN in the context (not running on Lambda).
    """
    arn = getattr(context, "invoked_function_arn", None)
    match = FUNCTION_ARN_RE.fullmatch(arn) if isinstance(arn, str) else None
    if match is None:
        raise ConfigurationError(
            f"context.invoked_function_arn={arn!r} is not a Lambda function ARN "
            "(arn:<partition>:lambda:<region>:<account>:function:<name>): the organization "
            "entry point takes the member role's partition and its region from it"
        )
    return FunctionLocation(partition=match["partition"], region=match["region"])


def member_role_arn(partition: str, account_id: str, role_name: str) -> str:
    """``arn:<partition>:iam::<account_id>:role/<role_name>``."""
    return f"arn:{partition}:iam::{account_id}:role/{role_name}"


def make_sts_client(region: str) -> Any:
    """An STS client on the regional endpoint of ``region`` (the function's own credentials)."""
    session = botocore.session.get_session()
    session.set_config_variable("sts_regional_endpoints", "regional")
    return boto3.Session(botocore_session=session).client(
        "sts", region_name=region, config=retry_config()
    )


def make_member_clients(credentials: MemberCredentials, region: str) -> MemberClients:
    """SageMaker and Config clients of ``region`` signed with the member role's credentials."""
    keys = {
        "region_name": region,
        "aws_access_key_id": credentials.access_key_id,
        "aws_secret_access_key": credentials.secret_access_key,
        "aws_session_token": credentials.session_token,
        "config": retry_config(),
    }
    return MemberClients(
        sagemaker=boto3.client("sagemaker", **keys), config=boto3.client("config", **keys)
    )


def assume_member_role(sts: Any, role_arn: str, account_id: str) -> MemberCredentials:
    """Assume ``role_arn`` as ``config-isolation-<account_id>`` for 900 seconds.

    Raises:
        MemberRoleDeniedError: STS answered AccessDenied.
        botocore.exceptions.ClientError: any other STS error (transient or not: retried).
    """
    try:
        response = sts.assume_role(
            RoleArn=role_arn,
            RoleSessionName=f"{SESSION_NAME_PREFIX}{account_id}",
            DurationSeconds=SESSION_DURATION_SECONDS,
        )
    except ClientError as exc:
        code = error_code(exc)
        if code not in DENIED_CODES:
            raise
        detail = str(exc.response.get("Error", {}).get("Message", ""))
        raise MemberRoleDeniedError(role_arn, code, detail) from exc
    credentials = response["Credentials"]
    return MemberCredentials(
        access_key_id=credentials["AccessKeyId"],
        secret_access_key=credentials["SecretAccessKey"],
        session_token=credentials["SessionToken"],
    )
