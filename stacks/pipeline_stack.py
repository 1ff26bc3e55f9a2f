"""The delivery pipeline (``delivery`` in cdk.json): CDK Pipelines in the tooling account.

One self-mutating ``pipelines.CodePipeline`` with cross-account keys: the source (a
CodeConnections connection), a synth step that installs from the pinned files and runs the
README's two commands, ``make synth`` and ``make test`` (so every gate, the rule pack and the
policy-reference gate run before anything deploys), then the organization's stages when
configured (log archive, management, security), then the environments in ``delivery.order``,
each followed by the read-only post-deployment check of that environment (``python -m
preflight --post-deploy``), with a person's approval before each environment of
``delivery.approval_before``. A failed check stops the pipeline before the next environment.
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
import jsii
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codepipeline_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import pipelines
from constructs import Construct

from platform_config import DeliveryConfig, PlatformConfig
from secure_constructs.core.compliance import acknowledge, ignore_cfn_lint, skip_checkov
from secure_constructs.core.log_groups import encrypted_log_group
from secure_constructs.core.managed_policy_role import acknowledge_wildcards
from secure_constructs.core.secure_queue import DeadLetterQueue
from secure_constructs.data.encryption_key import EncryptionKey

BUILD_IMAGE = codebuild.LinuxBuildImage.STANDARD_7_0
"""Ubuntu 22.04 with Python 3.11 and Node: ``make`` installs the pinned Node 24 itself."""
BUILD_LOG_RETENTION_DAYS = 365
SYNTH_COMMANDS = ("make synth", "make test")
"""Exactly what CI runs (``.ci/run``): every gate, then the whole suite."""


def lookup_role_arn(account: str, region: str, qualifier: str = "hnb659fds") -> str:
    """The CDK bootstrap lookup role (ReadOnlyAccess) the post-deployment check assumes."""
    return f"arn:aws:iam::{account}:role/cdk-{qualifier}-lookup-role-{account}-{region}"


@jsii.implements(pipelines.ICodePipelineActionFactory)
class NotifyingApproval(pipelines.Step):
    """A manual approval that notifies the approvers through ``topic``.

    ``pipelines.ManualApprovalStep`` cannot notify anyone; this step produces CodePipeline's
    own ``ManualApprovalAction`` with the topic (the configured one, or the pipeline's
    encrypted topic with the approvers' e-mail subscriptions).
    """

    def __init__(self, step_id: str, *, comment: str, topic: sns.ITopic) -> None:
        super().__init__(step_id)
        self._comment = comment
        self._topic = topic

    def produce_action(
        self,
        stage: codepipeline.IStage,
        *,
        action_name: str,
        artifacts: pipelines.ArtifactMap,
        pipeline: pipelines.CodePipeline,
        run_order: int,
        scope: Construct,
        after_self_mutation: bool | None = None,
        before_self_mutation: bool | None = None,
        code_build_defaults: pipelines.CodeBuildOptions | None = None,
        fallback_artifact: codepipeline.Artifact | None = None,
        stack_outputs_map: pipelines.StackOutputsMap | None = None,
        variables_namespace: str | None = None,
    ) -> pipelines.CodePipelineActionFactoryResult:
        """Add the approval action to ``stage`` (the interface CDK Pipelines calls)."""
        stage.add_action(
            actions.ManualApprovalAction(
                action_name=action_name,
                run_order=run_order,
                additional_information=self._comment,
                notification_topic=self._topic,
            )
        )
        return pipelines.CodePipelineActionFactoryResult(run_orders_consumed=1)


class PipelineStack(cdk.Stack):
    """The pipeline, in the tooling account (``<project>-pipeline``).

    Guarantees: cross-account keys (the artifact bucket is KMS-encrypted with a rotated key the
    target accounts' deploy roles may use), self-mutation, CodeBuild not privileged on
    ``BUILD_IMAGE``, every build's logs in one KMS-encrypted log group kept
    ``BUILD_LOG_RETENTION_DAYS``, the synth step running ``SYNTH_COMMANDS``, stages in the
    configured order, each environment followed by its post-deployment check (assuming only
    that account's CDK lookup role), and approvals that notify. Stages are the app's own: the
    same objects ``cdk deploy`` deploys.
    """

    def __init__(
        self,
        scope: Construct,
        *,
        config: PlatformConfig,
        delivery: DeliveryConfig,
        organization_stages: Sequence[cdk.Stage],
        environment_stages: dict[str, cdk.Stage],
    ) -> None:
        super().__init__(
            scope,
            "Pipeline",
            env=cdk.Environment(account=delivery.tooling_account, region=delivery.region),
            stack_name=f"{config.project}-pipeline",
            description=f"{config.project}: the delivery pipeline (CDK Pipelines)",
            termination_protection=True,
        )
        project = config.project
        key = EncryptionKey(
            self,
            "BuildLogsKey",
            alias=f"alias/{project}-pipeline-logs",
            description=f"{project}: the pipeline's build logs",
        )
        key.allow_cloudwatch_logs()
        self.build_logs = encrypted_log_group(
            self, "BuildLogs", encryption_key=key.key, retention_days=BUILD_LOG_RETENTION_DAYS
        )
        defaults = pipelines.CodeBuildOptions(
            build_environment=codebuild.BuildEnvironment(build_image=BUILD_IMAGE, privileged=False),
            logging=codebuild.LoggingOptions(
                cloud_watch=codebuild.CloudWatchLoggingOptions(log_group=self.build_logs)
            ),
            timeout=cdk.Duration.minutes(60),
        )
        source = pipelines.CodePipelineSource.connection(
            delivery.repository, delivery.branch, connection_arn=delivery.connection_arn
        )
        self.synth = pipelines.CodeBuildStep(
            "Synth",
            input=source,
            commands=list(SYNTH_COMMANDS),
            primary_output_directory="cdk.out",
        )
        self.pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            pipeline_name=f"{project}-delivery",
            synth=self.synth,
            cross_account_keys=True,
            enable_key_rotation=True,
            self_mutation=True,
            code_build_defaults=defaults,
            pipeline_type=codepipeline.PipelineType.V2,
        )
        for stage in organization_stages:
            self.pipeline.add_stage(stage)
        topic = self._approval_topic(project, delivery, key)
        environments = {e.name: e for e in config.environments}
        for name in delivery.order:
            env = environments[name]
            pre: list[pipelines.Step] = []
            if name in delivery.approval_before:
                pre.append(
                    NotifyingApproval(
                        f"Approve-{name}",
                        comment=f"Deploy {project} to {name} ({env.account})?",
                        topic=topic,
                    )
                )
            check = pipelines.CodeBuildStep(
                f"PostDeployCheck-{name}",
                input=source,
                additional_inputs={"cdk.out": self.synth},
                commands=[
                    "make setup",
                    ".venv/bin/python -m preflight --post-deploy "
                    f"--env {name} --outdir cdk.out "
                    f"--role-arn {lookup_role_arn(env.account, env.region)}",
                ],
                role_policy_statements=[
                    iam.PolicyStatement(
                        sid="AssumeTheLookupRole",
                        actions=["sts:AssumeRole"],
                        resources=[lookup_role_arn(env.account, env.region)],
                    )
                ],
            )
            self.pipeline.add_stage(environment_stages[name], pre=pre, post=[check])
        self.pipeline.build_pipeline()
        self._acknowledge(delivery.tooling_account)

    def _policies_named(self, *fragments: str) -> list[iam.CfnPolicy]:
        """The pipeline's generated ``AWS::IAM::Policy`` resources whose path has a fragment."""
        found = []
        for child in self.node.find_all():
            if isinstance(child, iam.CfnPolicy) and any(
                f in "".join(child.node.path.split("/")) for f in fragments
            ):
                found.append(child)
        return found

    def _approval_topic(
        self, project: str, delivery: DeliveryConfig, key: EncryptionKey
    ) -> sns.ITopic:
        """The configured topic, or one of ours (KMS, TLS only) with the approvers' e-mails."""
        if delivery.approval_topic_arn:
            return sns.Topic.from_topic_arn(self, "ApprovalTopic", delivery.approval_topic_arn)
        key.allow_use_via_services(["sns"])
        topic = sns.Topic(
            self,
            "ApprovalTopic",
            topic_name=f"{project}-pipeline-approvals",
            master_key=key.key,
            enforce_ssl=True,
        )
        undelivered = DeadLetterQueue(
            self,
            "UndeliveredApprovals",
            encryption_key=key.key,
            owner="the approval e-mail subscription's (SNS redrive policy)",
        )
        acknowledge(
            undelivered.queue,
            "AwsSolutions::AwsSolutions-SQS3",
            "This queue is the dead-letter queue of the approvers' e-mail subscriptions (SNS "
            "redrive policy), which cdk-nag does not recognise; a DLQ of its own would need "
            "another.",
        )
        for email in delivery.approval_emails:
            topic.add_subscription(
                subscriptions.EmailSubscription(email, dead_letter_queue=undelivered.queue)
            )
        return topic

    def _acknowledge(self, account: str) -> None:
        """What CDK Pipelines generates and the packs flag, each with why it stands."""
        inline = (
            "CDK Pipelines writes each of its roles' permissions as the role's DefaultPolicy "
            "(inline, one per role, generated from the pipeline's own resources); there is no "
            "option to emit managed policies instead, and each role is used by one action only."
        )
        repo_url = (
            "The projects' source is the pipeline's artifact (CodeBuild source type "
            "CODEPIPELINE), fetched by the CodeConnections connection with its own OAuth app; "
            "no repository URL or credential is configured on any project."
        )
        acknowledge(
            self,
            [
                "HIPAA.Security::HIPAA.Security-IAMNoInlinePolicy",
                "NIST.800.53.R5::NIST.800.53.R5-IAMNoInlinePolicy",
                "PCI.DSS.321::PCI.DSS.321-IAMNoInlinePolicy",
            ],
            inline,
        )
        acknowledge(
            self,
            [
                "HIPAA.Security::HIPAA.Security-CodeBuildProjectSourceRepoUrl",
                "PCI.DSS.321::PCI.DSS.321-CodeBuildProjectSourceRepoUrl",
            ],
            repo_url,
        )
        buckets = [self.pipeline.pipeline.artifact_bucket.node.default_child]
        buckets += [
            support.replication_bucket.node.default_child
            for support in self.pipeline.pipeline.cross_region_support.values()
        ]
        for bucket in buckets:
            assert isinstance(bucket, cdk.CfnResource)
            acknowledge(
                bucket,
                [
                    "AwsSolutions::AwsSolutions-S1",
                    "HIPAA.Security::HIPAA.Security-S3BucketLoggingEnabled",
                    "NIST.800.53.R5::NIST.800.53.R5-S3BucketLoggingEnabled",
                    "PCI.DSS.321::PCI.DSS.321-S3BucketLoggingEnabled",
                ],
                "Pipeline artifacts are written and read only by the pipeline's own roles, and "
                "every read and write is already in CloudTrail (management events) and in the "
                "pipeline's execution history; server access logs would duplicate them.",
            )
            acknowledge(
                bucket,
                [
                    "HIPAA.Security::HIPAA.Security-S3BucketVersioningEnabled",
                    "NIST.800.53.R5::NIST.800.53.R5-S3BucketVersioningEnabled",
                    "PCI.DSS.321::PCI.DSS.321-S3BucketVersioningEnabled",
                    "HIPAA.Security::HIPAA.Security-S3BucketReplicationEnabled",
                    "NIST.800.53.R5::NIST.800.53.R5-S3BucketReplicationEnabled",
                    "PCI.DSS.321::PCI.DSS.321-S3BucketReplicationEnabled",
                ],
                "Pipeline artifacts are intermediate build outputs, rebuilt from the source "
                "commit on every execution; each artifact object has a unique key per "
                "execution, so neither versions nor a replica would hold anything that a "
                "re-run does not reproduce.",
            )
        pipeline_resource = self.pipeline.pipeline.node.default_child
        assert isinstance(pipeline_resource, cdk.CfnResource)
        ignore_cfn_lint(
            pipeline_resource,
            "W3005",
            "CDK Pipelines adds an explicit DependsOn on the pipeline role beside the RoleArn "
            "GetAtt; the duplicate dependency is harmless.",
        )
        for bucket in buckets:
            assert isinstance(bucket, cdk.CfnResource)
            skip_checkov(
                bucket,
                "CKV_AWS_18",
                "Pipeline artifacts are read and written only by the pipeline's roles; CloudTrail "
                "and the execution history already record every access.",
            )
            skip_checkov(
                bucket,
                "CKV_AWS_21",
                "Artifacts are rebuilt from the source commit on every execution under unique "
                "keys; versions would keep nothing a re-run does not reproduce.",
            )
        for policy in self._policies_named(
            "PipelineRoleDefaultPolicy", "AssetsFileRoleDefaultPolicy"
        ):
            skip_checkov(
                policy,
                "CKV_AWS_111",
                "CDK Pipelines' generated grants: the pipeline role's use of the cross-region "
                "replication key (named by alias, so '*') and the asset role's CodeBuild "
                "BatchGetBuilds/StartBuild/StopBuild, which CDK writes on '*'.",
            )
        acknowledge_wildcards(
            self,
            [
                (
                    r"Action::s3:(GetObject|GetBucket|List|DeleteObject|Abort)\*",
                    "CDK Pipelines' grants on its own artifact buckets (grantReadWrite): object "
                    "and bucket actions of those buckets only, listed by CDK as prefixes.",
                ),
                (
                    r"Action::kms:(ReEncrypt|GenerateDataKey)\*",
                    "CDK Pipelines' grants on the artifact keys (the bucket keys of this "
                    "pipeline): encryption actions of those keys only.",
                ),
                (
                    r"Resource::<PipelineArtifactsBucket[A-Za-z0-9]+\.Arn>/\*",
                    "Artifact object names are chosen by CodePipeline per execution; the "
                    "wildcard is the objects of the pipeline's own artifact bucket.",
                ),
                (
                    r"Resource::arn:aws:s3:::[a-z0-9-]*replicationbucket[a-z0-9]*/\*",
                    "The cross-region replication bucket of the pipeline's us-east-2 actions: "
                    "its objects, named by CodePipeline per execution.",
                ),
                (
                    rf"Resource::arn:aws:logs:[a-z0-9-]+:{account}:log-group:/aws/codebuild/.*",
                    "CodeBuild's own log-group grant for each project (CDK adds it although the "
                    "projects log to the pipeline's encrypted group); streams are named per "
                    "build.",
                ),
                (
                    rf"Resource::arn:aws:codebuild:[a-z0-9-]+:{account}:report-group/.*",
                    "CodeBuild test-report groups are named <project>-<report> at run time; the "
                    "grant CDK adds covers this account's report groups of these projects.",
                ),
                (
                    rf"Resource::arn:\*:iam::{account}:role/\*",
                    "Self-mutation assumes this account's CDK bootstrap roles, selected by the "
                    "condition on their aws-cdk:bootstrap-role tag (deploy, file-publishing, "
                    "image-publishing), as CDK Pipelines writes it.",
                ),
                (
                    r"Resource::\*",
                    "Actions without resource-level permissions (cloudformation:DescribeStacks "
                    "for self-mutation, codebuild:BatchGetBuilds/StartBuild/StopBuild of the "
                    "asset jobs as CDK writes them) and the cross-region replication key, which "
                    "CDK Pipelines names by an alias IAM cannot resolve across regions.",
                ),
            ],
        )
