"""The matrix's log-stream authorization tells a dead log grant from a working one.

moto checks CloudWatch Logs calls against resource ``*``; during the matrix the harness gives it
the stream ARN (``offline.permissions.iam_enforcement``) and gives log-group ``Arn`` attributes in
policies the ``:*`` suffix CloudFormation documents (``offline.deploy``). With both, the grant the
platform used to write (``<Arn>:log-stream:*``, i.e. ``log-group:NAME:*:log-stream:*``) is refused,
as AWS refuses it, and the bare ``<Arn>`` is allowed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from offline.deploy import prepare_template
from offline.permissions import DENIED_CODES, iam_enforcement

ACCOUNT = "123456789012"
REGION = "us-east-1"
GROUP = "/platform/probe"
CFN_ARN = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{GROUP}:*"  # what GetAtt Arn returns


@pytest.fixture
def aws() -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in ("MOTO_ACCOUNT_ID", "AWS_DEFAULT_REGION")}
    os.environ.update(MOTO_ACCOUNT_ID=ACCOUNT, AWS_DEFAULT_REGION=REGION)
    with mock_aws():
        yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _role_session(resource: str) -> Any:
    iam = boto3.client("iam", region_name=REGION)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    iam.create_role(RoleName="writer", AssumeRolePolicyDocument=json.dumps(trust))
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": resource,
            }
        ],
    }
    iam.put_role_policy(RoleName="writer", PolicyName="logs", PolicyDocument=json.dumps(policy))
    boto3.client("logs", region_name=REGION).create_log_group(logGroupName=GROUP)
    issued = boto3.client("sts", region_name=REGION).assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/writer", RoleSessionName="probe"
    )["Credentials"]
    return boto3.client(
        "logs",
        region_name=REGION,
        aws_access_key_id=issued["AccessKeyId"],
        aws_secret_access_key=issued["SecretAccessKey"],
        aws_session_token=issued["SessionToken"],
    )


def _outcome(logs: Any, group: str = GROUP) -> str:
    with iam_enforcement():
        try:
            logs.create_log_stream(logGroupName=group, logStreamName="2026/12/01/[$LATEST]abc")
        except ClientError as err:
            code = str(err.response["Error"]["Code"])
            return "denied" if code in DENIED_CODES else code
    return "allowed"


def test_a_grant_on_the_log_group_arn_lets_the_role_write_its_streams(aws: None) -> None:
    assert _outcome(_role_session(CFN_ARN)) == "allowed"


def test_a_grant_appending_log_stream_to_the_arn_matches_nothing(aws: None) -> None:
    assert _outcome(_role_session(f"{CFN_ARN}:log-stream:*")) == "denied"


def test_the_grant_does_not_reach_another_log_group(aws: None) -> None:
    logs = _role_session(CFN_ARN)
    boto3.client("logs", region_name=REGION).create_log_group(logGroupName="/platform/other")
    assert _outcome(logs, "/platform/other") == "denied"


def test_without_the_stream_arn_moto_refuses_every_scoped_log_grant(aws: None) -> None:
    """Why the stream ARN is needed: moto alone authorises logs calls against ``*``, so no grant
    scoped to a log group could ever be shown to work (nor a dead one to fail)."""
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin

    logs = _role_session(f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:*")
    saved = settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count
    settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count = 0, 0
    try:
        with pytest.raises(ClientError) as denied:
            logs.create_log_stream(logGroupName=GROUP, logStreamName="s")
    finally:
        settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count = saved
    assert denied.value.response["Error"]["Code"] in DENIED_CODES  # checked against "*"
    assert _outcome(logs) == "allowed"  # against the stream ARN the same grant matches


def test_deploy_gives_log_group_arns_in_policies_their_documented_suffix() -> None:
    arn = {"Fn::GetAtt": ["Group", "Arn"]}
    template = {
        "Resources": {
            "Group": {"Type": "AWS::Logs::LogGroup", "Properties": {}},
            "Policy": {
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {"PolicyDocument": {"Statement": [{"Resource": [arn]}]}},
            },
            "Flow": {"Type": "AWS::EC2::FlowLog", "Properties": {"LogDestination": arn}},
        }
    }
    prepared, _, shims = prepare_template(template)
    statement = prepared["Resources"]["Policy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert statement["Resource"] == [{"Fn::Join": ["", [arn, ":*"]]}]
    assert prepared["Resources"]["Flow"]["Properties"]["LogDestination"] == arn  # outside policies
    assert "AWS::Logs::LogGroup Arn in policies" in shims
