"""Proof of the organization policies: each deny, and a near request that must still pass.

The SCPs and RCPs are read from the synthesized management template (``org_synthesized``), put
on the OUs their ``TargetIds`` name in an :class:`Organization` shaped like the example config
(root, one OU per environment, the workload account), and every row is evaluated with
``ml_genai_checks.evaluator`` (IAM + SCP + RCP semantics). Callers hold an identity policy that
allows everything, so what a row shows is the organization layer. A row names the account, the
role, the action, the resource and the context keys; a wrong expectation fails its row, and
every "Deny" row is also shown to pass once the organization's policies are taken away (so no
row is denied by something else).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from ml_genai_checks.evaluator import Organization, Policy, Request, evaluate
from tests.conftest import Synthesized, resources_of

ORG_ID = "o-exampleorg1"
ROOT = "r-ex12"
MANAGEMENT, LOG_ARCHIVE, SECURITY = "900000000001", "900000000002", "900000000003"
DEV, PROD = "111111111111", "222222222222"
OUTSIDE = "999999999999"
OU = {DEV: "ou-ab12-devdevde", PROD: "ou-ab12-prodprod"}
ALLOW_ALL = [{"Effect": "Allow", "Action": "*", "Resource": "*"}]
GUARDRAIL = "arn:aws:bedrock:us-east-1:111111111111:guardrail/abc123def456"
HAIKU = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
TITAN_EMBED = "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0"
BUCKET_OBJECT = "arn:aws:s3:::secure-ml-dev-curated-111111111111-us-east-1/knowledge/a.txt"
VPC = {"aws:SourceVpc": "vpc-0123456789abcdef0"}
JOB_KEYS = {
    "sagemaker:VpcSubnets": ["subnet-0a"],
    "sagemaker:VpcSecurityGroupIds": ["sg-0a"],
    "sagemaker:NetworkIsolation": "true",
    "sagemaker:VolumeKmsKey": "arn:aws:kms:us-east-1:111111111111:key/k1",
    "sagemaker:OutputKmsKey": "arn:aws:kms:us-east-1:111111111111:key/k1",
}


def role(account: str, name: str) -> str:
    return f"arn:aws:iam::{account}:role/{name}"


ADMIN = role(DEV, "AccountAdministrator")
BREAK_GLASS = role(DEV, "BreakGlassAdministrator")
CFN_EXEC = role(DEV, "cdk-hnb659fds-cfn-exec-role-111111111111-us-east-1")
PLATFORM = role(DEV, "secure-ml-dev-GenAi-InvocationLoggingProviderRole-AB12CD")
DATA_ADMIN = role(DEV, "ml-platform-data-admin")
SLR = role(DEV, "aws-service-role/guardduty.amazonaws.com/AWSServiceRoleForAmazonGuardDuty")


@dataclass(frozen=True)
class Row:
    """One request: who (account, role), what (action, resource), with which context keys."""

    name: str
    expected: str  # "Allow" or "Deny"
    action: str
    resource: str = "*"
    principal: str = ADMIN
    account: str | None = DEV
    resource_account: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
    service_linked: bool = False
    resource_policy: tuple[dict[str, Any], ...] = ()


def sagemaker(**overrides: Any) -> dict[str, Any]:
    keys = {**JOB_KEYS, **overrides}
    return {k: v for k, v in keys.items() if v is not None}


OPEN_BUCKET = ({"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"},)
OPEN_KEY = ({"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"},)
OPEN_ANY = ({"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"},)
OUTSIDER = role(OUTSIDE, "Reader")

ROWS: tuple[Row, ...] = (
    # --- baseline SCP ---------------------------------------------------------------------
    Row("leave-org", "Deny", "organizations:LeaveOrganization"),
    Row(
        "leave-org-break-glass-too",
        "Deny",
        "organizations:LeaveOrganization",
        principal=BREAK_GLASS,
    ),
    Row(
        "management-account-not-bound-by-scps",
        "Allow",
        "organizations:LeaveOrganization",
        principal=role(MANAGEMENT, "AccountAdministrator"),
        account=MANAGEMENT,
    ),
    Row("stop-trail", "Deny", "cloudtrail:StopLogging"),
    Row("stop-trail-break-glass", "Allow", "cloudtrail:StopLogging", principal=BREAK_GLASS),
    Row("stop-recorder", "Deny", "config:StopConfigurationRecorder"),
    Row(
        "recorder-by-deployment-role",
        "Allow",
        "config:PutConfigurationRecorder",
        principal=CFN_EXEC,
    ),
    Row("delete-detector", "Deny", "guardduty:DeleteDetector"),
    Row(
        "detector-service-linked-role",
        "Allow",
        "guardduty:UpdateDetector",
        principal=SLR,
        service_linked=True,
    ),
    Row("guardduty-trusted-ip-list", "Deny", "guardduty:CreateIPSet"),
    Row("disable-security-hub", "Deny", "securityhub:DisableSecurityHub"),
    Row("read-security-hub", "Allow", "securityhub:GetFindings"),
    Row("disable-macie", "Deny", "macie2:DisableMacie"),
    Row("disable-inspector", "Deny", "inspector2:Disable"),
    Row("list-inspector-findings", "Allow", "inspector2:ListFindings"),
    Row("archive-analyzer-findings", "Deny", "access-analyzer:CreateArchiveRule"),
    Row("invocation-logging-off", "Deny", "bedrock:DeleteModelInvocationLoggingConfiguration"),
    Row(
        "invocation-logging-by-platform-role",
        "Allow",
        "bedrock:PutModelInvocationLoggingConfiguration",
        principal=PLATFORM,
    ),
    Row("account-public-access-block", "Deny", "s3:PutAccountPublicAccessBlock"),
    Row(
        "account-public-access-block-break-glass",
        "Allow",
        "s3:PutAccountPublicAccessBlock",
        principal=BREAK_GLASS,
    ),
    Row("schedule-key-deletion", "Deny", "kms:ScheduleKeyDeletion"),
    Row(
        "schedule-key-deletion-key-admin", "Allow", "kms:ScheduleKeyDeletion", principal=DATA_ADMIN
    ),
    Row("disable-key-deployment-role", "Deny", "kms:DisableKey", principal=CFN_EXEC),
    Row("disable-rotation", "Deny", "kms:DisableKeyRotation"),
    Row("create-platform-named-role", "Deny", "iam:CreateRole", role(DEV, "secure-ml-escape")),
    Row("create-other-role", "Allow", "iam:CreateRole", role(DEV, "team-app-role")),
    Row("retrust-break-glass", "Deny", "iam:UpdateAssumeRolePolicy", BREAK_GLASS),
    Row(
        "platform-role-by-deployment-role",
        "Allow",
        "iam:PutRolePolicy",
        PLATFORM,
        principal=CFN_EXEC,
    ),
    # --- residency SCP --------------------------------------------------------------------
    Row(
        "run-instances-outside",
        "Deny",
        "ec2:RunInstances",
        context={"aws:RequestedRegion": "eu-west-1"},
    ),
    Row(
        "run-instances-allowed-region",
        "Allow",
        "ec2:RunInstances",
        context={"aws:RequestedRegion": "us-east-2"},
    ),
    Row(
        "bucket-outside", "Deny", "s3:CreateBucket", context={"aws:RequestedRegion": "eu-central-1"}
    ),
    Row(
        "global-sts-outside",
        "Allow",
        "sts:GetCallerIdentity",
        context={"aws:RequestedRegion": "eu-west-1"},
    ),
    Row(
        "global-cloudfront",
        "Allow",
        "cloudfront:CreateDistribution",
        context={"aws:RequestedRegion": "eu-west-1"},
    ),
    Row(
        "outside-break-glass",
        "Allow",
        "ec2:RunInstances",
        principal=BREAK_GLASS,
        context={"aws:RequestedRegion": "eu-west-1"},
    ),
    Row(
        "model-outside-region-even-guarded",
        "Deny",
        "bedrock:InvokeModel",
        HAIKU.replace("us-east-1", "eu-central-1"),
        context={"aws:RequestedRegion": "eu-central-1", "bedrock:GuardrailIdentifier": GUARDRAIL},
    ),
    # --- ML/GenAI SCP ---------------------------------------------------------------------
    Row("model-without-guardrail", "Deny", "bedrock:InvokeModel", HAIKU),
    Row(
        "model-with-guardrail",
        "Allow",
        "bedrock:InvokeModel",
        HAIKU,
        context={"bedrock:GuardrailIdentifier": f"{GUARDRAIL}:1"},
    ),
    Row("stream-without-guardrail", "Deny", "bedrock:InvokeModelWithResponseStream", HAIKU),
    Row("embedding-without-guardrail", "Allow", "bedrock:InvokeModel", TITAN_EMBED),
    # Guardrails do not apply to batch jobs: only the platform's submitter role creates them.
    Row("batch-job-by-an-administrator", "Deny", "bedrock:CreateModelInvocationJob", HAIKU),
    Row(
        "batch-job-by-the-platform-submitter",
        "Allow",
        "bedrock:CreateModelInvocationJob",
        HAIKU,
        principal=role(DEV, "secure-ml-dev-batch-submitter"),
    ),
    Row(
        "batch-job-by-break-glass",
        "Allow",
        "bedrock:CreateModelInvocationJob",
        HAIKU,
        principal=BREAK_GLASS,
    ),
    Row("training-every-key", "Allow", "sagemaker:CreateTrainingJob", context=sagemaker()),
    Row(
        "training-outside-vpc",
        "Deny",
        "sagemaker:CreateTrainingJob",
        context=sagemaker(**{"sagemaker:VpcSubnets": None}),
    ),
    Row(
        "training-not-isolated",
        "Deny",
        "sagemaker:CreateTrainingJob",
        context=sagemaker(**{"sagemaker:NetworkIsolation": "false"}),
    ),
    Row(
        "training-isolation-unset",
        "Deny",
        "sagemaker:CreateTrainingJob",
        context=sagemaker(**{"sagemaker:NetworkIsolation": None}),
    ),
    Row(
        "training-without-volume-key",
        "Deny",
        "sagemaker:CreateTrainingJob",
        context=sagemaker(**{"sagemaker:VolumeKmsKey": None}),
    ),
    Row(
        "processing-without-output-key",
        "Deny",
        "sagemaker:CreateProcessingJob",
        context=sagemaker(**{"sagemaker:OutputKmsKey": None}),
    ),
    Row("processing-every-key", "Allow", "sagemaker:CreateProcessingJob", context=sagemaker()),
    Row(
        "model-in-vpc-isolated",
        "Allow",
        "sagemaker:CreateModel",
        context={
            k: JOB_KEYS[k]
            for k in (
                "sagemaker:VpcSubnets",
                "sagemaker:VpcSecurityGroupIds",
                "sagemaker:NetworkIsolation",
            )
        },
    ),
    Row(
        "model-not-isolated",
        "Deny",
        "sagemaker:CreateModel",
        context={"sagemaker:VpcSubnets": ["subnet-0a"]},
    ),
    Row("endpoint-config-without-key", "Deny", "sagemaker:CreateEndpointConfig"),
    Row(
        "endpoint-config-with-key",
        "Allow",
        "sagemaker:CreateEndpointConfig",
        context={"sagemaker:VolumeKmsKey": "k1"},
    ),
    Row(
        "transform-with-both-keys",
        "Allow",
        "sagemaker:CreateTransformJob",
        context={"sagemaker:VolumeKmsKey": "k1", "sagemaker:OutputKmsKey": "k1"},
    ),
    Row(
        "transform-without-output-key",
        "Deny",
        "sagemaker:CreateTransformJob",
        context={"sagemaker:VolumeKmsKey": "k1"},
    ),
    Row(
        "studio-public-internet",
        "Deny",
        "sagemaker:CreateDomain",
        context={**sagemaker(), "sagemaker:AppNetworkAccessType": "PublicInternetOnly"},
    ),
    Row(
        "studio-vpc-only",
        "Allow",
        "sagemaker:CreateDomain",
        context={**sagemaker(), "sagemaker:AppNetworkAccessType": "VpcOnly"},
    ),
    Row(
        "notebook-direct-internet",
        "Deny",
        "sagemaker:CreateNotebookInstance",
        context={**sagemaker(), "sagemaker:DirectInternetAccess": "Enabled"},
    ),
    Row(
        "notebook-no-internet",
        "Allow",
        "sagemaker:CreateNotebookInstance",
        context={**sagemaker(), "sagemaker:DirectInternetAccess": "Disabled"},
    ),
    # --- perimeter RCP --------------------------------------------------------------------
    Row(
        "outside-org-reads-bucket",
        "Deny",
        "s3:GetObject",
        BUCKET_OBJECT,
        principal=OUTSIDER,
        account=OUTSIDE,
        resource_account=DEV,
        context={"aws:PrincipalOrgID": "o-otherorg99"},
        resource_policy=OPEN_BUCKET,
    ),
    Row(
        "org-member-reads-bucket-via-endpoint",
        "Allow",
        "s3:GetObject",
        BUCKET_OBJECT,
        principal=role(PROD, "Reader"),
        account=PROD,
        resource_account=DEV,
        resource_policy=OPEN_BUCKET,
    ),
    Row(
        "plain-http",
        "Deny",
        "s3:GetObject",
        BUCKET_OBJECT,
        context={"aws:SecureTransport": "false"},
    ),
    Row(
        "from-the-internet", "Deny", "s3:GetObject", BUCKET_OBJECT, context={"aws:SourceVpc": None}
    ),
    Row(
        "via-aws-service",
        "Allow",
        "s3:GetObject",
        BUCKET_OBJECT,
        context={"aws:SourceVpc": None, "aws:ViaAWSService": "true"},
    ),
    Row(
        "asset-upload-by-deployment-role",
        "Allow",
        "s3:PutObject",
        BUCKET_OBJECT,
        principal=CFN_EXEC,
        context={"aws:SourceVpc": None},
    ),
    Row(
        "service-linked-role-from-internet",
        "Allow",
        "s3:GetObject",
        BUCKET_OBJECT,
        principal=SLR,
        service_linked=True,
        context={"aws:SourceVpc": None},
    ),
    Row(
        "outside-org-decrypts",
        "Deny",
        "kms:Decrypt",
        "arn:aws:kms:us-east-1:111111111111:key/k1",
        principal=OUTSIDER,
        account=OUTSIDE,
        resource_account=DEV,
        context={"aws:PrincipalOrgID": "o-otherorg99"},
        resource_policy=OPEN_KEY,
    ),
    Row(
        "member-decrypts-from-internet",
        "Allow",
        "kms:Decrypt",
        "arn:aws:kms:us-east-1:111111111111:key/k1",
        context={"aws:SourceVpc": None},
    ),
    Row(
        "service-for-another-org",
        "Deny",
        "sqs:SendMessage",
        "arn:aws:sqs:us-east-1:111111111111:dlq",
        principal="events.amazonaws.com",
        account=None,
        resource_account=DEV,
        context={
            "aws:PrincipalIsAWSService": "true",
            "aws:PrincipalServiceName": "events.amazonaws.com",
            "aws:SourceAccount": OUTSIDE,
            "aws:SourceOrgID": "o-otherorg99",
        },
        resource_policy=OPEN_ANY,
    ),
    Row(
        "service-for-this-org",
        "Allow",
        "sqs:SendMessage",
        "arn:aws:sqs:us-east-1:111111111111:dlq",
        principal="events.amazonaws.com",
        account=None,
        resource_account=DEV,
        context={
            "aws:PrincipalIsAWSService": "true",
            "aws:PrincipalServiceName": "events.amazonaws.com",
            "aws:SourceAccount": DEV,
            "aws:SourceOrgID": ORG_ID,
        },
        resource_policy=OPEN_ANY,
    ),
    Row(
        "outside-org-assumes-role",
        "Deny",
        "sts:AssumeRole",
        role(DEV, "team-app-role"),
        principal=OUTSIDER,
        account=OUTSIDE,
        resource_account=DEV,
        context={"aws:PrincipalOrgID": "o-otherorg99"},
        resource_policy=OPEN_ANY,
    ),
    Row(
        "identity-center-sign-in-still-works",
        "Allow",
        "sts:AssumeRoleWithSAML",
        role(DEV, "AWSReservedSSO_DataScientist_0123456789abcdef"),
        principal="arn:aws:iam::111111111111:saml-provider/AWSSSO_0123456789abcdef_DO_NOT_DELETE",
        account=None,
        resource_account=DEV,
        context={
            "aws:PrincipalIsAWSService": "false",
            "aws:FederatedProvider": "arn:aws:iam::111111111111:saml-provider/"
            "AWSSSO_0123456789abcdef_DO_NOT_DELETE",
        },
        resource_policy=(
            {
                "Effect": "Allow",
                "Principal": {
                    "Federated": "arn:aws:iam::111111111111:saml-provider/"
                    "AWSSSO_0123456789abcdef_DO_NOT_DELETE"
                },
                "Action": "sts:AssumeRoleWithSAML",
            },
        ),
    ),
    Row(
        "outside-org-reads-secret",
        "Deny",
        "secretsmanager:GetSecretValue",
        "arn:aws:secretsmanager:us-east-1:111111111111:secret:s-AbCdEf",
        principal=OUTSIDER,
        account=OUTSIDE,
        resource_account=DEV,
        context={"aws:PrincipalOrgID": "o-otherorg99"},
        resource_policy=OPEN_ANY,
    ),
    Row(
        "management-account-resources-not-bound-by-rcps",
        "Allow",
        "s3:GetObject",
        "arn:aws:s3:::management-bucket/a",
        principal=OUTSIDER,
        account=OUTSIDE,
        resource_account=MANAGEMENT,
        context={"aws:PrincipalOrgID": "o-otherorg99"},
        resource_policy=OPEN_BUCKET,
    ),
    Row(
        "prod-ou-has-its-own-copy",
        "Deny",
        "bedrock:InvokeModel",
        HAIKU,
        principal=role(PROD, "AccountAdministrator"),
        account=PROD,
    ),
)
DEFAULTS = {"aws:RequestedRegion": "us-east-1", "aws:SecureTransport": "true", **VPC}


def _organization(synth: Synthesized, *, with_policies: bool = True) -> Organization:
    template = next(
        a.template() for a in synth.artifacts if a.stack_name == "secure-ml-org-policies"
    )
    scps: dict[str, list[Policy]] = {}
    rcps: dict[str, list[Policy]] = {}
    for resource in resources_of(template, "AWS::Organizations::Policy").values():
        props = resource["Properties"]
        kind = {"SERVICE_CONTROL_POLICY": scps, "RESOURCE_CONTROL_POLICY": rcps}.get(props["Type"])
        if kind is None or not with_policies:
            continue
        for target in props["TargetIds"]:
            kind.setdefault(target, []).append(
                Policy.from_document(props["Name"], props["Content"])
            )
    paths = {
        MANAGEMENT: (ROOT, MANAGEMENT),
        LOG_ARCHIVE: (ROOT, LOG_ARCHIVE),
        SECURITY: (ROOT, SECURITY),
        DEV: (ROOT, OU[DEV], DEV),
        PROD: (ROOT, OU[PROD], PROD),
    }
    return Organization.with_defaults(MANAGEMENT, paths, scps=scps, rcps=rcps, org_id=ORG_ID)


@pytest.fixture(scope="module")
def organizations(org_synthesized: Synthesized) -> tuple[Organization, Organization]:
    return _organization(org_synthesized), _organization(org_synthesized, with_policies=False)


def _decide(row: Row, organization: Organization) -> Any:
    context = {**DEFAULTS, **row.context}
    context = {k: v for k, v in context.items() if v is not None}
    if row.account is not None:
        context.setdefault("aws:PrincipalArn", row.principal)
    return evaluate(
        Request(row.action, row.resource, context),
        principal_account=row.account,
        resource_account=row.resource_account,
        identity_statements=ALLOW_ALL if row.account is not None else (),
        resource_statements=row.resource_policy,
        organization=organization,
        principal_is_service_linked_role=row.service_linked,
    )


def test_the_matrix_is_large_and_covers_every_policy() -> None:
    assert len(ROWS) >= 40
    assert len({r.name for r in ROWS}) == len(ROWS)
    assert {r.expected for r in ROWS} == {"Allow", "Deny"}


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_row(row: Row, organizations: tuple[Organization, Organization]) -> None:
    decision = _decide(row, organizations[0])
    assert ("Allow" if decision.allowed else "Deny") == row.expected, decision.reason


@pytest.mark.parametrize(
    "row",
    [r for r in ROWS if r.expected == "Deny"],
    ids=[r.name for r in ROWS if r.expected == "Deny"],
)
def test_each_denied_row_is_denied_by_the_organization_policies(
    row: Row, organizations: tuple[Organization, Organization]
) -> None:
    with_policies, without = organizations
    decision = _decide(row, with_policies)
    assert decision.layer in ("scp", "rcp"), decision.reason
    assert _decide(row, without).allowed, "denied even without the organization's policies"


def test_every_deny_statement_is_exercised_by_a_row(
    organizations: tuple[Organization, Organization],
) -> None:
    deciding = {_decide(r, organizations[0]).sid for r in ROWS if r.expected == "Deny"}
    statements = {
        s["Sid"]
        for policies in (*organizations[0].scps.values(), *organizations[0].rcps.values())
        for p in policies
        for s in p.statements
        if s.get("Effect") == "Deny"
    }
    assert statements - deciding == set(), "add a row for each of these statements"
    assert json.dumps(sorted(statements))  # the policies really hold deny statements
