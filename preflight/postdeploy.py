"""Read-only checks of a DEPLOYED environment (``python -m preflight --post-deploy --env <env>``).

Where ``make preflight`` asks whether a first deploy would work, this asks whether the deployed
environment does what its templates promise, with read-only calls only, so that a pipeline
step can stop before the next environment. It reuses preflight's machinery (``Context``,
``Clients``, ``Outcome``, the summary and exit status) and reads the templates in ``--outdir``
as ``preflight.plan`` does. After caller identity, in this order:

1. cloudtrail trail: ``GetTrail`` + ``GetTrailStatus``: logging, log file validation, a KMS
   key (the template's), multi-region, no delivery error;
2. config recorder: ``DescribeConfigurationRecorderStatus``: recording, last status not Failure;
3. guardduty detector: ``ListDetectors`` + ``GetDetector``: ENABLED (with the template's
   features when owned);
4. security hub: ``DescribeHub`` (+ ``GetEnabledStandards`` when owned: each standard READY);
5. macie: ``GetMacieSession``: ENABLED;
6. inspector: ``BatchGetAccountStatus``: ENABLED for each configured scan type;
7. access analyzer: ``ListAnalyzers``: the account analyzer ACTIVE;
8. guardrail: ``DescribeStacks`` (the GenAI outputs) + ``GetGuardrail``: the pinned version
   exists, is READY and carries this config's description;
9. invocation logging: ``GetModelInvocationLoggingConfiguration``: on, to the template's bucket
   (``ListExports``) and prefix, with its delivery flags;
10. data bucket policy: ``ListStackResources`` + ``ListExports`` + ``GetBucketPolicy``: the IAM
    evaluator proves a GetObject without or outside the endpoint denied, through it not.

Services the environment does not own (``audit.account_services``) are checked for being on at
all; in organization mode the security account enables GuardDuty, Security Hub, Macie,
Inspector and Access Analyzer, which must be on in this account just the same (the
organization's analyzer is not visible from a member account: "could not check").

Each check prints ``ok``, ``problem`` (with the fix) or ``could not check``; a denied call says
which IAM action is missing. A stack that is not deployed is a problem. Exit status: 0 no
problem, 1 a problem, 2 usage error (as preflight). ``--role-arn`` assumes a role first (the
pipeline passes the account's CDK bootstrap lookup role, which has ``ReadOnlyAccess``).

IAM actions (``REQUIRED_ACTIONS``; each is a Read or List action in the Service Authorization
Reference, and AWS's ``ReadOnlyAccess`` grants each, as of its 2026-09-24 version):
sts:GetCallerIdentity, cloudformation:DescribeStacks, cloudformation:ListStackResources,
cloudformation:ListExports, cloudtrail:GetTrail, cloudtrail:GetTrailStatus,
config:DescribeConfigurationRecorderStatus, guardduty:ListDetectors, guardduty:GetDetector,
securityhub:DescribeHub, securityhub:GetEnabledStandards, macie2:GetMacieSession,
inspector2:BatchGetAccountStatus, access-analyzer:ListAnalyzers, bedrock:GetGuardrail,
bedrock:GetModelInvocationLoggingConfiguration, s3:GetBucketPolicy. With ``--role-arn`` the
caller also needs sts:AssumeRole on that role.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from gates.assembly import StackArtifact
from platform_config import load_config, read_cdk_json
from preflight import runner
from preflight.plan import Plan
from preflight.postdeploy_audit import cloudtrail_trail, config_recorder
from preflight.postdeploy_buckets import data_bucket_policy
from preflight.postdeploy_context import DeployedContext, NotDeployed
from preflight.postdeploy_detection import (
    access_analyzer,
    guardduty_detector,
    inspector,
    macie,
    security_hub,
)
from preflight.postdeploy_genai import guardrail, invocation_logging
from preflight.results import (
    CLIENT_CONFIG,
    DENIED_CODES,
    Check,
    Clients,
    Context,
    NoAccess,
    Outcome,
    Result,
    error_code,
    problem,
    unknown,
)

REQUIRED_ACTIONS: tuple[str, ...] = (
    "sts:GetCallerIdentity",
    "cloudformation:DescribeStacks",
    "cloudformation:ListStackResources",
    "cloudformation:ListExports",
    "cloudtrail:GetTrail",
    "cloudtrail:GetTrailStatus",
    "config:DescribeConfigurationRecorderStatus",
    "guardduty:ListDetectors",
    "guardduty:GetDetector",
    "securityhub:DescribeHub",
    "securityhub:GetEnabledStandards",
    "macie2:GetMacieSession",
    "inspector2:BatchGetAccountStatus",
    "access-analyzer:ListAnalyzers",
    "bedrock:GetGuardrail",
    "bedrock:GetModelInvocationLoggingConfiguration",
    "s3:GetBucketPolicy",
)
"""Every IAM action the post-deployment check calls (``tests/preflight/test_postdeploy.py``
checks each is Read/List and allowed by ``ReadOnlyAccess``, and that no other is called)."""

_ACTION_OF = {action.split(":", 1)[1]: action for action in REQUIRED_ACTIONS}


def _deployed_check(name: str, run: Callable[[DeployedContext], Outcome]) -> Check:
    """A preflight ``Check`` of a post-deployment function: NotDeployed and denials answered."""

    def call(context: Context) -> Outcome:
        if not isinstance(context, DeployedContext):
            raise TypeError("post-deployment checks need a DeployedContext")
        try:
            return run(context)
        except NotDeployed as err:
            detail = f": {err.detail}" if err.detail else ""
            return problem(
                f"stack {err.stack} is not deployed{detail}",
                f"{context.redeploy(err.stack)}, or run the pipeline's "
                f"{context.plan.env.name} stage",
            )
        except ClientError as err:
            code = error_code(err)
            if code not in DENIED_CODES:
                raise
            action = _ACTION_OF.get(err.operation_name, f"the action of {err.operation_name}")
            return unknown(f"{err.operation_name} denied ({code}): the role needs {action}")

    return Check(name, call)


CHECKS: tuple[Check, ...] = (
    _deployed_check("cloudtrail trail", cloudtrail_trail),
    _deployed_check("config recorder", config_recorder),
    _deployed_check("guardduty detector", guardduty_detector),
    _deployed_check("security hub", security_hub),
    _deployed_check("macie", macie),
    _deployed_check("inspector", inspector),
    _deployed_check("access analyzer", access_analyzer),
    _deployed_check("guardrail", guardrail),
    _deployed_check("invocation logging", invocation_logging),
    _deployed_check("data bucket policy", data_bucket_policy),
)
"""The checks after caller identity, in the order printed."""


def build_context(
    plan: Plan, aws: Clients, artifacts: Iterable[StackArtifact], cdk_json: Path | None = None
) -> DeployedContext:
    """The context of one environment: its plan, clients, templates and organization (if any)."""
    organization = None
    if cdk_json is not None:
        organization = load_config(read_cdk_json(cdk_json), plan.env.name).organization
    return DeployedContext(
        plan,
        aws,
        templates={a.stack_name: a.template() for a in artifacts},
        organization=organization,
    )


def run(context: DeployedContext) -> Iterator[Result]:
    """The caller identity, then ``CHECKS`` (``preflight.runner.run`` with these checks).

    Raises:
        NoAccess: (on the first result) nothing can be checked: no credentials, no STS.
    """
    return runner.run(context, CHECKS)


def assume_role(
    session: boto3.session.Session, role_arn: str, region: str
) -> boto3.session.Session:
    """A session with the credentials of ``role_arn`` (``sts:AssumeRole`` by the caller).

    Raises:
        NoAccess: the role cannot be assumed (no credentials, denied, unreachable).
    """
    try:
        sts = session.client("sts", region_name=region, config=CLIENT_CONFIG)
        credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName="post-deploy-check")[
            "Credentials"
        ]
    except (ClientError, BotoCoreError) as err:
        detail = error_code(err) if isinstance(err, ClientError) else type(err).__name__
        raise NoAccess(f"cannot assume {role_arn} ({detail}): {err}") from None
    return boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )
