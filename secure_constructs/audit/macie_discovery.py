"""Amazon Macie: sensitive-data discovery over named buckets, with domain-specific identifiers."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_macie as macie
from aws_cdk import custom_resources as cr
from constructs import Construct

from ..core.compliance import nag_partition
from ..core.managed_policy_role import acknowledge_wildcard
from ..core.sdk_calls import SdkCallProvider
from .audit_rules import (
    MACIE_PUBLISHING_FREQUENCIES,
    MACIE_SCHEDULES,
    CustomDataIdentifier,
    custom_data_identifier_problem,
)

_SCHEDULE_FREQUENCIES = {
    "DAILY": {"dailySchedule": {}},
    "WEEKLY": {"weeklySchedule": {"dayOfWeek": "SUNDAY"}},
    "MONTHLY": {"monthlySchedule": {"dayOfMonth": 1}},
}


class MacieDiscovery(Construct):
    """Macie finds sensitive data (PII, PHI, credentials, domain terms) in ``bucket_names``.

    * ``enable_session`` (default on) enables Macie for the account in this region (one
      session per account and region; pass False when someone else already enabled it) with
      ``finding_publishing_frequency`` (default FIFTEEN_MINUTES). Macie sends every finding to
      EventBridge (``aws.macie`` / ``Macie Finding``) whatever that setting; it only paces the
      updates of existing findings. ``removal_policy`` (default RETAIN) applies to the
      session: disabling Macie deletes its findings.
    * one custom data identifier per ``custom_data_identifiers`` entry (validated against
      Macie's limits), used by the job together with Macie's RECOMMENDED managed identifiers.
    * a scheduled classification job over ``bucket_names`` (``schedule`` DAILY, WEEKLY on
      Sundays or MONTHLY on the 1st; ``sampling_percentage`` of new or changed objects; a first
      run over existing objects at creation). CloudFormation has no classification-job
      resource, so it is created through ``provider`` (``macie2:CreateClassificationJob``);
      jobs cannot be edited, so a change creates a new job and cancels the old one, and
      deleting the stack cancels it. The provider's role may create and cancel classification
      jobs of this account and region, nothing else.

    Macie reads objects with its service-linked role; buckets encrypted with a customer key
    must let that role decrypt (``EncryptionKey.allow_service_linked_role_via_services``).
    Attributes: ``session`` (or None), ``identifiers`` (name -> resource), ``job``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        provider: SdkCallProvider,
        job_name: str,
        bucket_names: Sequence[str],
        custom_data_identifiers: Sequence[CustomDataIdentifier] = (),
        schedule: str = "DAILY",
        sampling_percentage: int = 100,
        enable_session: bool = True,
        finding_publishing_frequency: str = "FIFTEEN_MINUTES",
        removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        if schedule not in MACIE_SCHEDULES:
            raise ValueError(f"MacieDiscovery schedule={schedule!r}: allowed {MACIE_SCHEDULES}")
        if finding_publishing_frequency not in MACIE_PUBLISHING_FREQUENCIES:
            raise ValueError(
                f"MacieDiscovery finding_publishing_frequency={finding_publishing_frequency!r}: "
                f"allowed {MACIE_PUBLISHING_FREQUENCIES}"
            )
        if not 1 <= sampling_percentage <= 100:
            raise ValueError(f"MacieDiscovery sampling_percentage={sampling_percentage}: 1-100")
        if not bucket_names:
            raise ValueError("MacieDiscovery needs at least one bucket")
        for identifier in custom_data_identifiers:
            problem = custom_data_identifier_problem(identifier)
            if problem:
                raise ValueError(
                    f"MacieDiscovery custom data identifier {identifier.name!r} {problem[0]}: "
                    f"{problem[1]}"
                )
        stack = cdk.Stack.of(self)

        self.session: macie.CfnSession | None = None
        if enable_session:
            self.session = macie.CfnSession(
                self,
                "Session",
                status="ENABLED",
                finding_publishing_frequency=finding_publishing_frequency,
            )
            self.session.apply_removal_policy(removal_policy)

        self.identifiers: dict[str, macie.CfnCustomDataIdentifier] = {}
        for identifier in custom_data_identifiers:
            resource = macie.CfnCustomDataIdentifier(
                self,
                "Identifier" + "".join(c for c in identifier.name.title() if c.isalnum()),
                name=identifier.name,
                description=identifier.description or None,
                regex=identifier.regex,
                keywords=list(identifier.keywords) or None,
                maximum_match_distance=identifier.maximum_match_distance,
            )
            if self.session is not None:
                resource.node.add_dependency(self.session)
            self.identifiers[identifier.name] = resource

        parameters = {
            "name": job_name,
            "description": "Scheduled sensitive-data discovery over the platform's data buckets",
            "jobType": "SCHEDULED",
            "initialRun": True,
            "scheduleFrequency": _SCHEDULE_FREQUENCIES[schedule],
            "samplingPercentage": sampling_percentage,
            "managedDataIdentifierSelector": "RECOMMENDED",
            "customDataIdentifierIds": [r.attr_id for r in self.identifiers.values()],
            "s3JobDefinition": {
                "bucketDefinitions": [{"accountId": stack.account, "buckets": list(bucket_names)}]
            },
        }
        # Same definition, same token: a retried create does not start a second job.
        digest = hashlib.sha256(
            json.dumps(stack.resolve(parameters), sort_keys=True).encode()
        ).hexdigest()[:32]
        create = cr.AwsSdkCall(
            service="Macie2",
            action="createClassificationJob",
            parameters={**parameters, "clientToken": f"{job_name}-{digest}"[:64]},
            physical_resource_id=cr.PhysicalResourceId.from_response("jobId"),
        )
        job_arns = (
            f"arn:{stack.partition}:macie2:{stack.region}:{stack.account}:classification-job/*"
        )
        self.job = provider.call(
            "ClassificationJob",
            resource_type="Custom::MacieClassificationJob",
            statements=[
                iam.PolicyStatement(
                    sid="CreateAndCancelClassificationJobs",
                    actions=["macie2:CreateClassificationJob", "macie2:UpdateClassificationJob"],
                    resources=[job_arns],
                )
            ],
            on_create=create,
            on_update=create,
            on_delete=cr.AwsSdkCall(
                service="Macie2",
                action="updateClassificationJob",
                parameters={"jobId": cr.PhysicalResourceIdReference(), "jobStatus": "CANCELLED"},
                # Already finished, cancelled or gone: nothing left to stop.
                ignore_error_codes_matching="ValidationException|ResourceNotFoundException",
            ),
        )
        assert provider.calls_policy is not None
        acknowledge_wildcard(
            provider.calls_policy,
            f"Resource::arn:{nag_partition(stack)}:macie2:"
            f"{stack.region}:{stack.account}:classification-job/*",
            "A classification job's ID is assigned by Macie when it is created; the wildcard "
            "covers only classification jobs of this account and region.",
        )
        if self.session is not None:
            self.job.node.add_dependency(self.session)
        self.job_arns = job_arns
