"""The typed, frozen configuration model: what the stacks and constructs receive."""

from __future__ import annotations

from dataclasses import dataclass

from secure_constructs.audit.audit_rules import CustomDataIdentifier
from secure_constructs.data.s3_rules import LifecyclePolicy, ObjectLock
from secure_constructs.genai.bedrock_rules import GuardrailSpec
from secure_constructs.ml.model_card_rules import ModelCard

SEVERITIES: tuple[str, ...] = ("INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL")
"""Finding severities, lowest first (the labels lambda/findings_router normalises to)."""

ACCOUNT_SERVICES: tuple[str, ...] = (
    "config_recorder",
    "guardduty",
    "securityhub",
    "macie",
    "inspector",
    "access_analyzer",
    "bedrock_invocation_logging",
)
"""The one-per-account-and-region services an environment can own (see the README).

The audit stack owns the first six; ``bedrock_invocation_logging`` is the GenAI stack's.
"""


CONTEXT_KEY = "ml-platform"
"""The cdk.json context key holding the platform's configuration."""

SELECT_KEY = "environment"
"""Context key naming one environment to synthesize (``cdk synth -c environment=dev``)."""

BUCKETS = ("raw", "curated", "model_artifacts", "audit", "invocation_logs", "access_logs")
"""The bucket family every environment has (config keys under ``data.buckets``)."""

RESERVED_FUNCTIONS = (
    "findings_router",
    "access_review",
    "sagemaker_isolation_rule",
    "audit_deploy_calls",
    "genai_deploy_calls",
    "guarded_invoke",
    "phi_redaction",
    "knowledge_ingestion",
    "guarded_retrieval",
    "bedrock_config_rules",
)
"""The platform's Lambda functions whose reservations ``reserved_concurrency`` sets."""

LAMBDA_UNRESERVED_MINIMUM = 100
"""Lambda refuses a reservation that leaves fewer unreserved executions than this in the account."""

SAGEMAKER_LOG_GROUP_MODES = ("create", "adopt")
"""``ml.sagemaker_log_groups``: create SageMaker's fixed-name log groups, or adopt existing ones."""

PERSONAS: tuple[str, ...] = ("data_scientist", "mlops_engineer")
"""SageMaker Role Manager-style personas a Studio user profile can take."""


@dataclass(frozen=True)
class BucketConfig:
    """One bucket: an optional explicit name and its lifecycle."""

    name: str | None
    lifecycle: LifecyclePolicy


@dataclass(frozen=True)
class DataConfig:
    """The data layer: admin exception, audit object lock, and the bucket family."""

    admin_principal_arns: tuple[str, ...]
    forward_access_services: tuple[str, ...]
    audit_object_lock: ObjectLock
    raw: BucketConfig
    curated: BucketConfig
    model_artifacts: BucketConfig
    audit: BucketConfig
    invocation_logs: BucketConfig
    access_logs: BucketConfig


@dataclass(frozen=True)
class AccessReviewConfig:
    """The scheduled IAM access review: when it runs and what it reports."""

    schedule: str
    max_unused_days: int
    max_key_age_days: int


@dataclass(frozen=True)
class MacieConfig:
    """Macie: how often findings are published, the discovery job, custom data identifiers."""

    finding_publishing_frequency: str
    discovery_schedule: str
    sampling_percentage: int
    custom_data_identifiers: tuple[CustomDataIdentifier, ...]


@dataclass(frozen=True)
class AuditConfig:
    """The audit and threat-detection baseline of one environment (see the README table)."""

    account_services: tuple[str, ...]
    disable_on_delete: bool
    organization_trail: bool
    organization_id: str | None
    cloudtrail_log_retention_days: int
    config_global_resources_region: str
    config_recording_frequency: str
    securityhub_standards: tuple[str, ...]
    findings_severity_threshold: str
    access_review: AccessReviewConfig
    macie: MacieConfig

    def manages(self, service: str) -> bool:
        """Whether this environment's audit stack owns ``service`` (one of ACCOUNT_SERVICES)."""
        return service in self.account_services


@dataclass(frozen=True)
class ReservedConcurrency:
    """Reserved concurrent executions per function; ``None`` reserves nothing for it."""

    findings_router: int | None
    access_review: int | None
    sagemaker_isolation_rule: int | None
    audit_deploy_calls: int | None
    genai_deploy_calls: int | None
    guarded_invoke: int | None
    phi_redaction: int | None
    knowledge_ingestion: int | None = None
    guarded_retrieval: int | None = None
    bedrock_config_rules: int | None = None

    @property
    def total(self) -> int:
        """Executions the environment reserves in all."""
        return sum(getattr(self, name) or 0 for name in RESERVED_FUNCTIONS)

    @property
    def account_limit_needed(self) -> int:
        """The Lambda concurrency limit the account needs for these reservations (0: any)."""
        return self.total + LAMBDA_UNRESERVED_MINIMUM if self.total else 0


@dataclass(frozen=True)
class UserProfile:
    """A Studio user profile and the persona whose execution role it runs with."""

    name: str
    persona: str


@dataclass(frozen=True)
class MonitoringConfig:
    """Hourly (or other cron) data-quality monitoring of one existing endpoint."""

    endpoint_name: str
    schedule_expression: str
    instance_type: str
    analyzer_image_uri: str


@dataclass(frozen=True)
class MlConfig:
    """SageMaker: Studio users, job rules, registry, model card, optional monitoring."""

    sagemaker_log_groups: str
    user_profiles: tuple[UserProfile, ...]
    job_instance_types: tuple[str, ...]
    log_retention_days: int
    model_package_group_name: str
    model_card_file: str
    model_card: ModelCard
    model_card_status: str
    monitoring: MonitoringConfig | None


@dataclass(frozen=True)
class InvocationLoggingConfig:
    """Where and what Bedrock model invocation logging records."""

    s3_prefix: str
    log_retention_days: int
    text_data: bool
    image_data: bool
    embedding_data: bool


@dataclass(frozen=True)
class GuardedInvokeConfig:
    """Limits of the guarded-invoke function."""

    max_prompt_chars: int
    max_output_tokens: int


@dataclass(frozen=True)
class PhiConfig:
    """The PHI redaction pipeline: where it reads and writes, and its score policy."""

    clinical_prefix: str
    curated_prefix: str
    min_score: float
    redact_low_score: bool
    max_object_bytes: int


@dataclass(frozen=True)
class KnowledgeBaseConfig:
    """The Bedrock knowledge base over the curated bucket's knowledge prefix (S3 Vectors)."""

    prefix: str
    embedding_model_id: str
    dimensions: int
    number_of_results: int
    max_results: int
    max_question_chars: int
    max_output_tokens: int
    chunk_max_tokens: int
    chunk_overlap_percentage: int
    ingestion_window_seconds: int


@dataclass(frozen=True)
class BatchInferenceConfig:
    """Bedrock batch inference (``CreateModelInvocationJob``): redacted input, own output prefix."""

    input_prefix: str
    output_prefix: str
    submitter_role_arns: tuple[str, ...]


@dataclass(frozen=True)
class GenAiConfig:
    """Bedrock (guardrail, invocation role, logging, guarded invoke) and PHI redaction."""

    allowed_model_ids: tuple[str, ...]
    default_model_id: str
    invoker_role_arns: tuple[str, ...]
    guardrail: GuardrailSpec
    enforce_guardrail_in_account: bool
    log_retention_days: int
    invocation_logging: InvocationLoggingConfig
    guarded_invoke: GuardedInvokeConfig
    phi: PhiConfig
    knowledge_base: KnowledgeBaseConfig | None = None
    batch_inference: BatchInferenceConfig | None = None


@dataclass(frozen=True)
class EnvironmentConfig:
    """One deployment environment (account + region), validated."""

    name: str
    account: str
    region: str
    availability_zones: tuple[str, ...]
    allowed_regions: tuple[str, ...]
    vpc_cidr: str
    nat_gateways: int
    interface_endpoints: tuple[str, ...]
    endpoint_availability_zones: tuple[str, ...]
    flow_log_retention_days: int
    alert_email: str
    termination_protection: bool
    tags: tuple[tuple[str, str], ...]
    reserved_concurrency: ReservedConcurrency
    data: DataConfig
    audit: AuditConfig
    s3_prefix_list_id: str
    ml: MlConfig
    genai: GenAiConfig

    @property
    def tag_map(self) -> dict[str, str]:
        """The environment's tags as a dict."""
        return dict(self.tags)


@dataclass(frozen=True)
class LogArchiveConfig:
    """Retention of the organization trail and Config history (``organization.log_archive``)."""

    object_lock_mode: str
    object_lock_days: int
    trail_retention_days: int
    access_log_retention_days: int


@dataclass(frozen=True)
class ToolingNetworkConfig:
    """The security account's small VPC for its functions (``organization.security_network``)."""

    vpc_cidr: str
    availability_zones: tuple[str, ...]


ORG_OWNED_SERVICES: tuple[str, ...] = (
    "guardduty",
    "securityhub",
    "macie",
    "inspector",
    "access_analyzer",
)
"""Account singletons the security account enables for every member in organization mode."""


@dataclass(frozen=True)
class OrganizationConfig:
    """The AWS Organization the environments belong to (``organization`` in cdk.json)."""

    organization_id: str
    management_account: str
    log_archive_account: str
    security_account: str
    organizational_units: tuple[tuple[str, str], ...]
    """``(name, OU ID)``, sorted by name."""
    environment_ous: tuple[tuple[str, str], ...]
    """``(environment, OU name)``, sorted by environment."""
    home_region: str
    """Where the organization stages (trail, log archive, security tooling) deploy."""
    break_glass_role: str
    """Name of the role every organization policy exempts (emergency access)."""
    deployment_role_patterns: tuple[str, ...]
    """Role names (globs) CloudFormation deploys through, e.g. the CDK bootstrap roles."""
    security_alert_email: str
    findings_severity_threshold: str
    log_archive: LogArchiveConfig
    securityhub_standards: tuple[str, ...]
    """The environments' configured standards: the security account enables them for all."""
    security_network: ToolingNetworkConfig
    regions: tuple[str, ...]
    """The home region first, then every other region an environment allows (sorted)."""

    def ou_id(self, name: str) -> str:
        """The OU ID of the OU called ``name``."""
        return dict(self.organizational_units)[name]

    def ou_names(self) -> tuple[str, ...]:
        """The OUs that hold at least one environment, sorted."""
        return tuple(sorted({ou for _, ou in self.environment_ous}))

    def environments_in(self, ou_name: str) -> tuple[str, ...]:
        """The environments whose accounts sit in ``ou_name``, sorted."""
        return tuple(env for env, ou in self.environment_ous if ou == ou_name)

    def ou_of(self, environment: str) -> str:
        """The OU ID the environment's account belongs to."""
        name = dict(self.environment_ous)[environment]
        return dict(self.organizational_units)[name]


@dataclass(frozen=True)
class DeliveryConfig:
    """The pipeline that deploys the platform (``delivery`` in cdk.json)."""

    tooling_account: str
    region: str
    connection_arn: str
    repository: str
    branch: str
    approval_topic_arn: str | None
    approval_emails: tuple[str, ...]
    order: tuple[str, ...]
    """Every environment once, in deployment order."""
    approval_before: tuple[str, ...]
    """Environments whose deployment waits for a person's approval."""


@dataclass(frozen=True)
class PlatformConfig:
    """The whole platform: a project name and the environments selected for this run."""

    project: str
    environments: tuple[EnvironmentConfig, ...]
    organization: OrganizationConfig | None = None
    """None: single-account mode (the default)."""
    selected: str | None = None
    """The one environment selected for this run (``-c env=<name>``), or None for all."""
    delivery: DeliveryConfig | None = None
    """None: no pipeline (deploy with ``cdk deploy``)."""
