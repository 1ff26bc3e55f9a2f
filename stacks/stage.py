"""One ``cdk.Stage`` per environment, composing the platform's stacks."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from platform_config import EnvironmentConfig, OrganizationConfig, PlatformConfig
from secure_constructs.audit.drift_rule import StackDriftRule
from secure_constructs.organization.org_config import OrganizationRuleMemberRole
from stacks.audit_stack import AuditStack
from stacks.data_stack import DataStack
from stacks.findings_stack import FindingsStack
from stacks.genai_stack import GenAiStack
from stacks.keys_stack import KeysStack
from stacks.ml_stack import MlStack
from stacks.network_stack import NetworkStack
from stacks.organization_stage import build_organization_stages
from stacks.pipeline_stack import PipelineStack


class PlatformStage(cdk.Stage):
    """All stacks of one environment.

    Construct IDs here are a contract: renaming one replaces its resources. Tags from config
    (plus ``project``) go on every taggable resource. ``findings`` comes last: its router is
    told the names of the other stacks' functions whose Config results are expected.
    """

    def __init__(
        self,
        scope: Construct,
        *,
        project: str,
        environment: EnvironmentConfig,
        organization: OrganizationConfig | None = None,
        drift_check: bool = False,
    ) -> None:
        super().__init__(
            scope,
            environment.name,
            env=cdk.Environment(account=environment.account, region=environment.region),
        )
        self.keys = KeysStack(
            self,
            "Keys",
            description=f"{project} {environment.name}: KMS keys",
            project=project,
            environment=environment,
        )
        self.network = NetworkStack(
            self,
            "Network",
            description=f"{project} {environment.name}: VPC, NAT, endpoints, flow logs",
            logs_key=self.keys.logs_key,
            project=project,
            environment=environment,
        )
        self.data = DataStack(
            self,
            "Data",
            description=f"{project} {environment.name}: encrypted bucket family (stateful)",
            data_key=self.keys.data_key,
            logs_key=self.keys.logs_key,
            s3_endpoint_id=self.network.network.s3_endpoint.vpc_endpoint_id,
            project=project,
            environment=environment,
        )
        self.audit = AuditStack(
            self,
            "Audit",
            description=f"{project} {environment.name}: CloudTrail, Config, GuardDuty, Security "
            "Hub, Macie, Inspector, Access Analyzer (account level)",
            logs_key=self.keys.logs,
            data_key=self.keys.data,
            vpc=self.network.network.vpc,
            audit_bucket=self.data.audit,
            config_bucket=self.data.config_history,
            data_buckets=[self.data.raw, self.data.curated, self.data.model_artifacts],
            project=project,
            environment=environment,
        )
        self.ml = MlStack(
            self,
            "Ml",
            description=f"{project} {environment.name}: SageMaker Studio, roles, governance",
            network=self.network.network,
            data_key=self.keys.data_key,
            logs_key=self.keys.logs_key,
            curated=self.data.curated,
            model_artifacts=self.data.model_artifacts,
            project=project,
            environment=environment,
        )
        self.genai = GenAiStack(
            self,
            "GenAi",
            description=f"{project} {environment.name}: Bedrock guardrail and logging, PHI",
            network=self.network.network,
            data_key=self.keys.data_key,
            logs_key=self.keys.logs_key,
            raw=self.data.raw,
            curated=self.data.curated,
            invocation_logs=self.data.invocation_logs,
            alerts_topic=self.audit.alerts_topic,
            project=project,
            environment=environment,
        )
        self.findings = FindingsStack(
            self,
            "Findings",
            description=f"{project} {environment.name}: findings routing and access review",
            logs_key=self.keys.logs,
            vpc=self.network.network.vpc,
            alerts_topic=self.audit.alerts_topic,
            known_noncompliance=[
                *self.network.network.known_noncompliance,
                *self.audit.known_noncompliance,
                *self.genai.known_noncompliance,
            ],
            project=project,
            environment=environment,
        )
        if organization is not None:
            # The organization's SageMaker isolation rule evaluates this account through it.
            OrganizationRuleMemberRole(
                self.audit,
                "OrganizationRuleMemberRole",
                project=project,
                security_account=organization.security_account,
            )
        if drift_check and self.audit.recorder is not None:
            # Delivered by the pipeline: a change made outside it shows as drift.
            StackDriftRule(
                self.audit,
                "StackDrift",
                prefix=f"{project}-{environment.name}",
                depends_on=[self.audit.recorder.delivery_channel],
            )
        for key, value in (("project", project), *environment.tags):
            cdk.Tags.of(self).add(key, value)

    @property
    def platform_stacks(self) -> list[cdk.Stack]:
        """The stacks of this stage, in deployment order."""
        return [self.keys, self.network, self.data, self.audit, self.ml, self.genai, self.findings]


def build_stages(app: cdk.App, config: PlatformConfig) -> list[PlatformStage]:
    """One stage per configured environment; returns them.

    With an ``organization`` block and no single environment selected, the organization's
    stages (log archive, management, security) come first, in their deployment order; with a
    ``delivery`` block (and no selection), the pipeline stack that deploys them all comes last.
    """
    everything = config.selected is None
    organization_stages = (
        build_organization_stages(app, config)
        if config.organization is not None and everything
        else []
    )
    stages = [
        PlatformStage(
            app,
            project=config.project,
            environment=env,
            organization=config.organization,
            drift_check=config.delivery is not None,
        )
        for env in config.environments
    ]
    if config.delivery is not None and everything:
        PipelineStack(
            app,
            config=config,
            delivery=config.delivery,
            organization_stages=organization_stages,
            environment_stages={stage.stage_name: stage for stage in stages},
        )
    return stages
