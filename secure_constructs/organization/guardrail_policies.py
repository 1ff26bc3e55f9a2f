"""The platform's service and resource control policies, as data with their reasons.

Three SCPs and one RCP per workload OU (AWS Organizations allows five SCPs and five RCPs on a
target, the AWS managed ``FullAWSAccess``/``RCPFullAWSAccess`` included):

``<project>-<ou>-baseline`` (SCP)
    the account cannot leave the organization; nobody but the exempt roles stops, deletes or
    weakens CloudTrail, Config, GuardDuty, Security Hub, Macie, Inspector, Access Analyzer or
    Bedrock model invocation logging; the account's S3 public-access block cannot change; KMS
    keys cannot be scheduled for deletion, disabled or lose rotation outside the key admins;
    the roles the exemptions name cannot be created, changed or assumed-into by anyone else.
``<project>-<ou>-residency`` (SCP)
    no request outside the OU's allowed regions, except the global services AWS lists in its
    region-deny example (``Region-controls`` of aws-samples/service-control-policy-examples,
    the same list as Control Tower's GRREGIONDENY).
``<project>-<ou>-ml-genai`` (SCP)
    Bedrock ``InvokeModel*`` only with a guardrail (``bedrock:GuardrailIdentifier`` present;
    embedding models, which guardrails do not apply to, excepted); SageMaker jobs, models,
    endpoint configurations, domains and notebooks only in a VPC, network-isolated, with KMS
    volume and output keys, domains VPC-only and notebooks without direct internet access;
    each statement uses only condition keys its actions support (Service Authorization
    Reference; the policy-reference gate checks them).
``<project>-<ou>-perimeter`` (RCP)
    S3, KMS, STS, SQS and Secrets Manager resources refuse requests without TLS, from
    principals outside the organization (AWS services acting as themselves excepted), from AWS
    services on behalf of another organization (confused deputy), and S3 requests that do not
    come through a VPC endpoint unless an AWS service makes them or an exempt role does.

Exempt principals are matched on ``aws:PrincipalArn`` (the role, not the session): the
break-glass role, the deployment roles (CDK bootstrap roles: CloudFormation deploys the
platform's own trail, recorder, rules and logging through them) and, for the security-service
statement only, the platform's own roles (``<project>-*``: the custom resources that configure
invocation logging), which the baseline SCP in turn protects from being created or changed by
anyone but the deployment and break-glass roles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .policy_document import (
    RESOURCE_CONTROL_POLICY,
    SERVICE_CONTROL_POLICY,
    OrganizationPolicy,
    PolicyStatement,
    statements,
)

GLOBAL_SERVICE_ACTIONS: tuple[str, ...] = (
    # aws-samples/service-control-policy-examples, Region-controls/Deny-access-to-AWS-based-on-
    # the-requested-AWS-region.json (the exemptions AWS documents for its region-deny example),
    # without "kms:*": KMS is a regional service and keys belong where the data is.
    "a4b:*",
    "acm:*",
    "aws-marketplace-management:*",
    "aws-marketplace:*",
    "aws-portal:*",
    "budgets:*",
    "ce:*",
    "chime:*",
    "cloudfront:*",
    "config:*",
    "cur:*",
    "directconnect:*",
    "ec2:DescribeRegions",
    "ec2:DescribeTransitGateways",
    "ec2:DescribeVpnGateways",
    "fms:*",
    "globalaccelerator:*",
    "health:*",
    "iam:*",
    "importexport:*",
    "mobileanalytics:*",
    "networkmanager:*",
    "organizations:*",
    "pricing:*",
    "route53:*",
    "route53domains:*",
    "route53-recovery-cluster:*",
    "route53-recovery-control-config:*",
    "route53-recovery-readiness:*",
    "s3:GetAccountPublic*",
    "s3:ListAllMyBuckets",
    "s3:ListMultiRegionAccessPoints",
    "s3:PutAccountPublic*",
    "shield:*",
    "sts:*",
    "support:*",
    "trustedadvisor:*",
    "waf-regional:*",
    "waf:*",
    "wafv2:*",
    "wellarchitected:*",
)

SECURITY_SERVICE_ACTIONS: tuple[str, ...] = (
    "cloudtrail:DeleteTrail",
    "cloudtrail:StopLogging",
    "cloudtrail:UpdateTrail",
    "cloudtrail:PutEventSelectors",
    "config:DeleteConfigurationRecorder",
    "config:StopConfigurationRecorder",
    "config:PutConfigurationRecorder",
    "config:DeleteDeliveryChannel",
    "config:PutDeliveryChannel",
    "config:DeleteRetentionConfiguration",
    "config:DeleteConfigRule",
    "config:DeleteEvaluationResults",
    "guardduty:DeleteDetector",
    "guardduty:UpdateDetector",
    "guardduty:DisassociateFromAdministratorAccount",
    "guardduty:DisassociateFromMasterAccount",
    "guardduty:CreateFilter",
    "guardduty:UpdateFilter",
    "guardduty:CreateIPSet",
    "guardduty:UpdateIPSet",
    "guardduty:DeletePublishingDestination",
    "securityhub:DisableSecurityHub",
    "securityhub:DisassociateFromAdministratorAccount",
    "securityhub:DisassociateFromMasterAccount",
    "securityhub:BatchDisableStandards",
    "securityhub:UpdateStandardsControl",
    "securityhub:DisableImportFindingsForProduct",
    "macie2:DisableMacie",
    "macie2:DisassociateFromAdministratorAccount",
    "macie2:DisassociateFromMasterAccount",
    "macie2:UpdateMacieSession",
    "inspector2:Disable",
    "inspector2:DisassociateMember",
    "access-analyzer:DeleteAnalyzer",
    "access-analyzer:CreateArchiveRule",
    "access-analyzer:UpdateArchiveRule",
    "access-analyzer:ApplyArchiveRule",
    "bedrock:PutModelInvocationLoggingConfiguration",
    "bedrock:DeleteModelInvocationLoggingConfiguration",
)
"""Stopping, deleting, disassociating or muting (filters, trusted IP sets, archive rules) the
detective services; changing the Config recorder or channel; changing invocation logging."""

KEY_PROTECTION_ACTIONS = (
    "kms:ScheduleKeyDeletion",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:DeleteImportedKeyMaterial",
)
ROLE_PROTECTION_ACTIONS = (
    "iam:CreateRole",
    "iam:DeleteRole",
    "iam:UpdateRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:PutRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:AttachRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:DeleteRolePermissionsBoundary",
    "iam:TagRole",
    "iam:UntagRole",
)
MODEL_INVOKE_ACTIONS = ("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream")
EMBEDDING_MODELS = (
    # Guardrails do not apply to embedding models (Bedrock refuses a guardrail on them); a
    # knowledge base's service role embeds without one.
    "arn:*:bedrock:*::foundation-model/amazon.titan-embed-*",
    "arn:*:bedrock:*::foundation-model/cohere.embed-*",
)

# Per SageMaker create action, the condition keys the Service Authorization Reference lists
# for it (the same table as ml_genai_checks.rules.iam.SAGEMAKER_REQUIRED_KEYS).
_VPC_ACTIONS = (
    "sagemaker:CreateTrainingJob",
    "sagemaker:CreateProcessingJob",
    "sagemaker:CreateHyperParameterTuningJob",
    "sagemaker:CreateAutoMLJob",
    "sagemaker:CreateAutoMLJobV2",
    "sagemaker:CreateModel",
    "sagemaker:CreateDomain",
    "sagemaker:CreateNotebookInstance",
)
_ISOLATION_ACTIONS = (
    "sagemaker:CreateTrainingJob",
    "sagemaker:CreateProcessingJob",
    "sagemaker:CreateHyperParameterTuningJob",
    "sagemaker:CreateModel",
)
_VOLUME_KEY_ACTIONS = (
    "sagemaker:CreateTrainingJob",
    "sagemaker:CreateProcessingJob",
    "sagemaker:CreateHyperParameterTuningJob",
    "sagemaker:CreateAutoMLJob",
    "sagemaker:CreateAutoMLJobV2",
    "sagemaker:CreateTransformJob",
    "sagemaker:CreateEndpointConfig",
    "sagemaker:CreateDomain",
    "sagemaker:CreateNotebookInstance",
)
_OUTPUT_KEY_ACTIONS = (
    "sagemaker:CreateTrainingJob",
    "sagemaker:CreateProcessingJob",
    "sagemaker:CreateHyperParameterTuningJob",
    "sagemaker:CreateAutoMLJob",
    "sagemaker:CreateAutoMLJobV2",
    "sagemaker:CreateTransformJob",
)
PERIMETER_SERVICES = ("s3:*", "sqs:*", "kms:*", "secretsmanager:*", "sts:*")
"""Services whose resources the RCP protects (RCPs support these and few others)."""
IDENTITY_PERIMETER_ACTIONS = ("s3:*", "sqs:*", "kms:*", "secretsmanager:*", "sts:AssumeRole")
"""Not ``sts:*``: IAM Identity Center and web-identity federation assume roles through
``AssumeRoleWithSAML``/``AssumeRoleWithWebIdentity``, whose callers have no
``aws:PrincipalOrgID``; the roles' trust policies decide those."""


@dataclass(frozen=True)
class GuardrailInputs:
    """What the policies of one workload OU are built from (all from validated config).

    ``break_glass_role`` and ``deployment_role_patterns`` are role names (globs allowed for the
    latter); ``key_admin_arns`` are principal ARNs allowed to disable or delete KMS keys (with
    the break-glass role); ``allowed_regions`` the union over the OU's environments.
    """

    project: str
    ou_name: str
    organization_id: str
    allowed_regions: tuple[str, ...]
    break_glass_role: str
    deployment_role_patterns: tuple[str, ...]
    key_admin_arns: tuple[str, ...]

    def role_arns(self, *names: str) -> list[str]:
        """``arn:*:iam::*:role/<name>`` for each name, partition- and account-agnostic."""
        return [f"arn:*:iam::*:role/{name}" for name in names]

    @property
    def break_glass(self) -> list[str]:
        """The break-glass role's ARN pattern."""
        return self.role_arns(self.break_glass_role)

    @property
    def deployers(self) -> list[str]:
        """The break-glass and deployment roles."""
        return self.role_arns(self.break_glass_role, *self.deployment_role_patterns)

    @property
    def platform_roles(self) -> list[str]:
        """The platform's own roles (CloudFormation names them ``<stack name>-...``)."""
        return self.role_arns(f"{self.project}-*")


def _except(principals: Sequence[str]) -> dict[str, dict[str, list[str]]]:
    return {"ArnNotLike": {"aws:PrincipalArn": sorted(principals)}}


def baseline_policy(inputs: GuardrailInputs) -> OrganizationPolicy:
    """The baseline SCP: organization membership, detective services, keys, exempt roles."""
    protected_roles = [*inputs.deployers, *inputs.platform_roles]
    parts = [
        PolicyStatement(
            "DenyLeaveOrganization",
            "A member account cannot leave the organization and shed every policy with it.",
            {"Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"},
        ),
        PolicyStatement(
            "ProtectSecurityServices",
            "Only the deployment, break-glass and platform roles may stop, delete, disassociate "
            "or mute CloudTrail, Config, GuardDuty, Security Hub, Macie, Inspector, Access "
            "Analyzer or Bedrock invocation logging.",
            {
                "Effect": "Deny",
                "Action": list(SECURITY_SERVICE_ACTIONS),
                "Resource": "*",
                "Condition": _except([*inputs.deployers, *inputs.platform_roles]),
            },
        ),
        PolicyStatement(
            "ProtectAccountPublicAccessBlock",
            "The account-level S3 Block Public Access settings change only through break-glass.",
            {
                "Effect": "Deny",
                "Action": "s3:PutAccountPublicAccessBlock",
                "Resource": "*",
                "Condition": _except(inputs.break_glass),
            },
        ),
        PolicyStatement(
            "ProtectKeys",
            "KMS keys are not scheduled for deletion, disabled or left without rotation except "
            "by the platform's key administrators or break-glass.",
            {
                "Effect": "Deny",
                "Action": list(KEY_PROTECTION_ACTIONS),
                "Resource": "*",
                "Condition": _except([*inputs.break_glass, *inputs.key_admin_arns]),
            },
        ),
        PolicyStatement(
            "ProtectExemptRoles",
            "The roles the exemptions name are created and changed only by the deployment and "
            "break-glass roles, so nobody can make one to escape these policies.",
            {
                "Effect": "Deny",
                "Action": list(ROLE_PROTECTION_ACTIONS),
                "Resource": sorted(protected_roles),
                "Condition": _except(inputs.deployers),
            },
        ),
    ]
    return statements(
        f"{inputs.project}-{inputs.ou_name}-baseline",
        SERVICE_CONTROL_POLICY,
        "Membership, detective services, S3 account public-access block, KMS keys and the "
        "exempt roles are protected from the workload accounts' own administrators.",
        parts,
    )


def residency_policy(inputs: GuardrailInputs) -> OrganizationPolicy:
    """The data-residency SCP: only the allowed regions, global services excepted."""
    parts = [
        PolicyStatement(
            "DenyOutsideAllowedRegions",
            f"Nothing runs or stores data outside {', '.join(inputs.allowed_regions)}; the "
            "global services AWS lists (IAM, Organizations, Route 53, CloudFront, STS, "
            "Support...) keep working; break-glass is exempt.",
            {
                "Effect": "Deny",
                "NotAction": list(GLOBAL_SERVICE_ACTIONS),
                "Resource": "*",
                "Condition": {
                    "StringNotEquals": {"aws:RequestedRegion": list(inputs.allowed_regions)},
                    **_except(inputs.break_glass),
                },
            },
        ),
    ]
    return statements(
        f"{inputs.project}-{inputs.ou_name}-residency",
        SERVICE_CONTROL_POLICY,
        f"Data residency: requests only in {', '.join(inputs.allowed_regions)} "
        "(AWS's documented global-service exemptions apply).",
        parts,
    )


def _sagemaker(
    sid: str, purpose: str, actions: Sequence[str], condition: dict[str, Any]
) -> PolicyStatement:
    return PolicyStatement(
        sid, purpose, {"Effect": "Deny", "Action": list(actions), "Resource": "*", **condition}
    )


def ml_genai_policy(inputs: GuardrailInputs) -> OrganizationPolicy:
    """The ML/GenAI SCP: guardrail on every model call, SageMaker only isolated and encrypted."""
    parts = [
        PolicyStatement(
            "DenyModelCallsWithoutGuardrail",
            "Bedrock InvokeModel, InvokeModelWithResponseStream (and Converse, which they "
            "authorize) only with a guardrail identifier; embedding models excepted.",
            {
                "Effect": "Deny",
                "Action": list(MODEL_INVOKE_ACTIONS),
                "NotResource": list(EMBEDDING_MODELS),
                "Condition": {"Null": {"bedrock:GuardrailIdentifier": "true"}},
            },
        ),
        PolicyStatement(
            "DenyBatchInferenceOutsideThePlatform",
            "Guardrails do not apply to batch inference: only the platform's batch submitter "
            "roles (which read redacted prefixes only) and break-glass create batch jobs.",
            {
                "Effect": "Deny",
                "Action": ["bedrock:CreateModelInvocationJob"],
                "Resource": "*",
                "Condition": _except(
                    [*inputs.break_glass, *inputs.role_arns(f"{inputs.project}-*-batch-submitter")]
                ),
            },
        ),
        _sagemaker(
            "DenySageMakerOutsideVpc",
            "Jobs, models, domains and notebooks run in the platform's VPC subnets.",
            _VPC_ACTIONS,
            {"Condition": {"Null": {"sagemaker:VpcSubnets": "true"}}},
        ),
        _sagemaker(
            "DenySageMakerWithoutIsolation",
            "Training, processing, tuning jobs and models run with network isolation.",
            _ISOLATION_ACTIONS,
            {"Condition": {"BoolIfExists": {"sagemaker:NetworkIsolation": "false"}}},
        ),
        _sagemaker(
            "DenySageMakerWithoutVolumeKey",
            "Storage volumes are encrypted with a customer-managed KMS key.",
            _VOLUME_KEY_ACTIONS,
            {"Condition": {"Null": {"sagemaker:VolumeKmsKey": "true"}}},
        ),
        _sagemaker(
            "DenySageMakerWithoutOutputKey",
            "Job outputs are encrypted with a customer-managed KMS key.",
            _OUTPUT_KEY_ACTIONS,
            {"Condition": {"Null": {"sagemaker:OutputKmsKey": "true"}}},
        ),
        _sagemaker(
            "DenyStudioWithInternet",
            "SageMaker Studio domains are VPC-only (no SageMaker-managed internet access).",
            ("sagemaker:CreateDomain",),
            {
                "Condition": {
                    "StringNotEqualsIfExists": {"sagemaker:AppNetworkAccessType": "VpcOnly"}
                }
            },
        ),
        _sagemaker(
            "DenyNotebookWithInternet",
            "Notebook instances have no direct internet access.",
            ("sagemaker:CreateNotebookInstance",),
            {
                "Condition": {
                    "StringNotEqualsIfExists": {"sagemaker:DirectInternetAccess": "Disabled"}
                }
            },
        ),
    ]
    return statements(
        f"{inputs.project}-{inputs.ou_name}-ml-genai",
        SERVICE_CONTROL_POLICY,
        "Bedrock model calls carry a guardrail, batch jobs only by the platform; SageMaker runs "
        "in the VPC, isolated, with KMS keys, Studio VPC-only and notebooks without internet.",
        parts,
    )


def perimeter_policy(inputs: GuardrailInputs) -> OrganizationPolicy:
    """The data-perimeter RCP on S3, KMS, STS, SQS and Secrets Manager."""
    org = inputs.organization_id
    parts = [
        PolicyStatement(
            "EnforceSecureTransport",
            "Requests without TLS are refused.",
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": list(PERIMETER_SERVICES),
                "Resource": "*",
                "Condition": {"BoolIfExists": {"aws:SecureTransport": "false"}},
            },
        ),
        PolicyStatement(
            "EnforceOrgIdentities",
            "Only principals of this organization, or AWS services acting as themselves, reach "
            "the organization's data or assume its roles (federation through SAML or OIDC, "
            "which carries no organization ID, is not refused).",
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": list(IDENTITY_PERIMETER_ACTIONS),
                "Resource": "*",
                "Condition": {
                    "StringNotEqualsIfExists": {"aws:PrincipalOrgID": org},
                    "BoolIfExists": {"aws:PrincipalIsAWSService": "false"},
                },
            },
        ),
        PolicyStatement(
            "EnforceConfusedDeputyProtection",
            "An AWS service reaches the organization's data only on behalf of this "
            "organization's accounts.",
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": ["s3:*", "sqs:*", "kms:*", "secretsmanager:*"],
                "Resource": "*",
                "Condition": {
                    "StringNotEqualsIfExists": {"aws:SourceOrgID": org},
                    "Null": {"aws:SourceAccount": "false"},
                    "Bool": {"aws:PrincipalIsAWSService": "true"},
                },
            },
        ),
        PolicyStatement(
            "EnforceNetworkPerimeter",
            "S3 data is reached through a VPC endpoint, by an AWS service, or by the deployment "
            "and break-glass roles.",
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": "*",
                "Condition": {
                    "Null": {"aws:SourceVpc": "true"},
                    "BoolIfExists": {
                        "aws:PrincipalIsAWSService": "false",
                        "aws:ViaAWSService": "false",
                    },
                    "ArnNotLikeIfExists": {"aws:PrincipalArn": sorted(inputs.deployers)},
                },
            },
        ),
    ]
    return statements(
        f"{inputs.project}-{inputs.ou_name}-perimeter",
        RESOURCE_CONTROL_POLICY,
        "Data perimeter on S3, KMS, STS, SQS, Secrets Manager: TLS only, organization "
        "principals only, no confused deputy, S3 through VPC endpoints.",
        parts,
    )


def guardrail_policies(inputs: GuardrailInputs) -> list[OrganizationPolicy]:
    """Every SCP and RCP of one workload OU, in attachment order."""
    return [
        baseline_policy(inputs),
        residency_policy(inputs),
        ml_genai_policy(inputs),
        perimeter_policy(inputs),
    ]
