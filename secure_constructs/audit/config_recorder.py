"""AWS Config: the recorder, its delivery channel and role, and a managed-rule set."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import aws_cdk as cdk
from aws_cdk import aws_config as config
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct, IDependable

from ..core.cfn import cfn_of
from ..core.compliance import acknowledge
from ..core.managed_policy_role import acknowledge_wildcard, flatten_reference
from .audit_rules import CONFIG_RECORDING_FREQUENCIES

_CONFIG_ROLE_POLICY = "service-role/AWS_ConfigRole"


class ConfigRecorder(Construct):
    """The account's AWS Config recorder in this region (one per account and region).

    Guarantees:
      * records every supported resource type; global types (IAM) only when
        ``include_global_resources`` (record them in exactly one region, or every region bills
        and evaluates them again); ``recording_frequency`` CONTINUOUS (default) or DAILY;
      * delivers history and snapshots (every 24 hours) to ``bucket`` encrypted with
        ``encryption_key``. AWS Config does not deliver to a bucket with S3 Object Lock, so
        ``bucket`` must not have it;
      * a role trusting AWS Config for this account only (``aws:SourceAccount``), with the
        AWS-managed ``AWS_ConfigRole`` (read access to every resource type Config records: no
        hand-written list can keep up with it) and a customer-managed delivery policy: write
        under ``AWSLogs/<account>/Config/`` of ``bucket`` only, read its ACL, and use the key
        only through S3;
      * ``removal_policy`` (default RETAIN) on recorder, channel, role and delivery policy:
        deleting the stack leaves recording on unless the caller asks otherwise.

    Attributes: ``recorder``, ``delivery_channel``, ``role``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: s3.IBucket,
        encryption_key: kms.IKey,
        include_global_resources: bool,
        recording_frequency: str = "CONTINUOUS",
        removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        if recording_frequency not in CONFIG_RECORDING_FREQUENCIES:
            raise ValueError(
                f"ConfigRecorder recording_frequency={recording_frequency!r}: "
                f"allowed {CONFIG_RECORDING_FREQUENCIES}"
            )
        stack = cdk.Stack.of(self)
        managed = iam.ManagedPolicy.from_aws_managed_policy_name(_CONFIG_ROLE_POLICY)
        self.role = iam.Role(
            self,
            "Role",
            description="AWS Config recorder and delivery channel",
            assumed_by=iam.ServicePrincipal(
                "config.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            ),
            managed_policies=[managed],
        )
        acknowledge(
            self.role,
            f"AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/"
            f"{_CONFIG_ROLE_POLICY}]",
            "AWS_ConfigRole is the read-only policy AWS maintains for the Config recorder: it "
            "follows every resource type Config adds, which no hand-written list can.",
        )
        prefix = f"AWSLogs/{stack.account}/Config/"
        delivery = iam.ManagedPolicy(
            self,
            "DeliveryPolicy",
            description="AWS Config: deliver to its prefix of the history bucket only",
            roles=[self.role],
            statements=[
                iam.PolicyStatement(
                    sid="ReadBucketAcl",
                    actions=["s3:GetBucketAcl"],
                    resources=[bucket.bucket_arn],
                ),
                iam.PolicyStatement(
                    sid="WriteOwnPrefix",
                    actions=["s3:PutObject"],
                    resources=[bucket.arn_for_objects(f"{prefix}*")],
                    conditions={"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
                ),
                iam.PolicyStatement(
                    sid="EncryptThroughS3",
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=[encryption_key.key_arn],
                    conditions={
                        "StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"}
                    },
                ),
            ],
        )
        acknowledge_wildcard(
            delivery,
            f"Resource::{flatten_reference(stack.resolve(bucket.bucket_arn))}/{prefix}*",
            "AWS Config names its history and snapshot objects by date and resource type at "
            "delivery; the wildcard covers only its own AWSLogs/<account>/Config/ prefix.",
        )
        self.recorder = config.CfnConfigurationRecorder(
            self,
            "Recorder",
            role_arn=self.role.role_arn,
            recording_group=config.CfnConfigurationRecorder.RecordingGroupProperty(
                all_supported=True, include_global_resource_types=include_global_resources
            ),
            recording_mode=config.CfnConfigurationRecorder.RecordingModeProperty(
                recording_frequency=recording_frequency
            ),
        )
        self.delivery_channel = config.CfnDeliveryChannel(
            self,
            "DeliveryChannel",
            s3_bucket_name=bucket.bucket_name,
            s3_kms_key_arn=encryption_key.key_arn,
            config_snapshot_delivery_properties=config.CfnDeliveryChannel.ConfigSnapshotDeliveryPropertiesProperty(
                delivery_frequency="TwentyFour_Hours"
            ),
        )
        self.delivery_channel.node.add_dependency(self.recorder)
        for resource in (self.recorder, self.delivery_channel):
            # The policy resource itself: the construct also stands for the role.
            resource.node.add_dependency(cfn_of(delivery))
            resource.apply_removal_policy(removal_policy)
        # A retained recorder keeps recording and delivering: its role and policy stay too.
        self.role.apply_removal_policy(removal_policy)
        delivery.apply_removal_policy(removal_policy)


@dataclass(frozen=True)
class ManagedRuleSpec:
    """One AWS managed Config rule and the control it evidences.

    Each rule keeps the trigger AWS defines for it (configuration changes, or periodic at the
    default 24 hours): no execution frequency is set, since Config rejects one on rules that
    are triggered by changes only. ``account_level`` rules check account-wide or global (IAM)
    state and are deployed only where global resources are recorded. ``parameters`` are
    Config's input parameters (strings).
    """

    identifier: str
    control: str
    account_level: bool = False
    parameters: Mapping[str, str] = field(default_factory=dict)


def managed_rule_name(name_prefix: str, identifier: str) -> str:
    """The Config rule name ``ManagedRuleSet`` gives the managed rule ``identifier``."""
    return f"{name_prefix}-{identifier.lower().replace('_', '-')}"[:128]


class ManagedRuleSet(Construct):
    """A set of AWS managed Config rules named ``<name_prefix>-<identifier in kebab case>``.

    ``account_level`` rules are created only when ``include_account_level`` (the region that
    records global resources). Rules are created after ``depends_on`` (the recorder) when one
    is given; with a recorder managed elsewhere, pass nothing. Attribute ``rules``
    (identifier -> rule).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name_prefix: str,
        rules: Sequence[ManagedRuleSpec],
        include_account_level: bool,
        depends_on: Sequence[IDependable] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        identifiers = [rule.identifier for rule in rules]
        duplicates = sorted({i for i in identifiers if identifiers.count(i) > 1})
        if duplicates:
            raise ValueError(f"ManagedRuleSet: rules listed twice: {duplicates}")
        self.rules: dict[str, config.ManagedRule] = {}
        for spec in rules:
            if spec.account_level and not include_account_level:
                continue
            kebab = spec.identifier.lower().replace("_", "-")
            rule = config.ManagedRule(
                self,
                "".join(part.capitalize() for part in kebab.split("-")),
                identifier=spec.identifier,
                config_rule_name=managed_rule_name(name_prefix, spec.identifier),
                description=spec.control,
                input_parameters=dict(spec.parameters) or None,
            )
            for dependency in depends_on:
                rule.node.add_dependency(dependency)
            self.rules[spec.identifier] = rule
