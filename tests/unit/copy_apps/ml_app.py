"""Copy app of the ml group: SageMaker roles, Studio domain, governance and monitoring.

Built as the platform's ML stack builds them. What the group needs from outside itself is plain
CDK or a stub: an imported VPC (private subnets), the imported security group of the VPC's
interface endpoints, a ``kms.Key`` (rotation on) for data and logs, and two buckets imported by
name behind ``PrefixBucket``, a stub of ``core.bucket_grants.PrefixGrantable`` (what
``data.secure_bucket.SecureBucket`` offers: object grants under one prefix only).
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from harness import ENV, PrefixBucket, imported_endpoint_group, imported_vpc, main
from lifted_kit.core.bucket_grants import PrefixGrantable
from lifted_kit.core.log_groups import encrypted_log_group
from lifted_kit.ml.data_quality_monitor import DataQualityMonitor
from lifted_kit.ml.model_card_rules import parse_model_card
from lifted_kit.ml.model_governance import ModelGovernance
from lifted_kit.ml.sagemaker_roles import MONITORING_PREFIX, SageMakerRoles
from lifted_kit.ml.sagemaker_rules import JobRules
from lifted_kit.ml.studio_domain import SecureStudioDomain, endpoint_only_security_group

HERE = Path(__file__).resolve().parent
PREFIX = "team-dev"
S3_PREFIX_LIST = "pl-63a5400a"

CARD = {
    "schema_version": 1,
    "model_name": "note-triage",
    "overview": {
        "description": "Routes de-identified referral notes to a specialty queue.",
        "owner": "team-ml",
        "creator": "Clinical Data Science",
        "problem_type": "Multiclass classification",
        "algorithm_type": "XGBoost on TF-IDF features",
    },
    "intended_use": {
        "purpose": "Shorten the wait before a clinician of the right specialty sees a note.",
        "intended_uses": "Suggest a queue; a clinician confirms every suggestion.",
        "out_of_scope": "Diagnosis, treatment, urgency scoring, unredacted notes.",
        "risk_rating": "High",
        "risk_rating_explanation": "A wrong queue delays a referral; humans confirm each one.",
    },
    "risks": {
        "known_risks": "Lower recall for rare specialties.",
        "ethical_considerations": "Two urban sites are over-represented; reported per site.",
        "caveats_and_recommendations": "Re-evaluate after any change to the redaction.",
    },
    "business": {
        "problem": "Referral notes wait 2.3 days for manual routing.",
        "stakeholders": "Referral office, specialty leads, Clinical Safety Officer.",
        "line_of_business": "Clinical operations",
    },
    "data_origin": {
        "sources": ["Redacted referral notes", "Specialty labels"],
        "collection": "Exported under a data-sharing agreement.",
        "processing": "PHI redaction, deduplication, TF-IDF.",
        "licences": [{"name": "DSA-1", "terms": "Internal use for referral routing only."}],
    },
    "training": {"datasets": ["training/referrals/"], "observations": "Class weights balanced."},
    "evaluation": [
        {
            "name": "held-out",
            "datasets": ["training/referrals/test/"],
            "observation": "Meets the approval thresholds.",
            "metrics": [{"name": "macro_f1", "value": 0.84}],
        }
    ],
}


def build(app: cdk.App) -> None:
    stack = cdk.Stack(app, "Ml", env=ENV)
    data_key = kms.Key(stack, "DataKey", enable_key_rotation=True)
    logs_key = kms.Key(stack, "LogsKey", enable_key_rotation=True)
    vpc = imported_vpc(stack)
    endpoints = imported_endpoint_group(stack)
    curated: PrefixGrantable = PrefixBucket(
        s3.Bucket.from_bucket_name(stack, "Curated", "team-dev-curated")
    )
    artifacts_bucket = s3.Bucket.from_bucket_name(stack, "Artifacts", "team-dev-artifacts")
    artifacts: PrefixGrantable = PrefixBucket(artifacts_bucket)

    for name in ("TrainingJobs", "ProcessingJobs", "TransformJobs", "Endpoints", "studio"):
        encrypted_log_group(
            stack,
            f"LogGroup{name[0].upper()}{name[1:]}",
            encryption_key=logs_key,
            retention_days=90,
            log_group_name=f"/aws/sagemaker/{name}",
        )

    jobs = endpoint_only_security_group(
        stack,
        "JobSecurityGroup",
        vpc=vpc,
        description="SageMaker jobs: endpoints and S3 only, any TCP between job nodes",
        endpoint_security_group=endpoints,
        s3_prefix_list_id=S3_PREFIX_LIST,
    )
    jobs.add_ingress_rule(jobs, ec2.Port.all_tcp(), "Between nodes of one job")
    jobs.add_egress_rule(jobs, ec2.Port.all_tcp(), "Between nodes of one job")
    rules = JobRules(
        subnet_ids=tuple(s.subnet_id for s in vpc.private_subnets),
        security_group_ids=(jobs.security_group_id,),
        kms_key_arn=data_key.key_arn,
        instance_types=("ml.m5.large", "ml.m5.xlarge"),
    )
    roles = SageMakerRoles(
        stack,
        "Roles",
        job_rules=rules,
        data_key=data_key,
        curated=curated,
        artifacts=artifacts,
        ecr_prefix="team/",
    )
    studio = SecureStudioDomain(
        stack,
        "Studio",
        domain_name=PREFIX,
        vpc=vpc,
        subnets=vpc.private_subnets,
        endpoint_security_group=endpoints,
        s3_prefix_list_id=S3_PREFIX_LIST,
        encryption_key=data_key,
        default_execution_role=roles.data_scientist,
        user_profiles=[
            ("data-scientist-1", roles.data_scientist),
            ("mlops-engineer-1", roles.mlops_engineer),
        ],
    )
    roles.allow_studio(studio.domain_id)

    card_name = f"{PREFIX}-note-triage"
    governance = ModelGovernance(
        stack,
        "Governance",
        model_package_group_name=f"{PREFIX}-note-triage",
        card_name=card_name,
        card=parse_model_card(CARD),
        card_status="Draft",
        encryption_key=data_key,
    )
    roles.allow_governance(model_package_group=governance.group_name, model_card=card_name)

    DataQualityMonitor(
        stack,
        "DataQuality",
        name=f"{PREFIX}-note-triage",
        endpoint_name="note-triage",
        schedule_expression="cron(0 * ? * * *)",
        instance_type="ml.m5.large",
        image_uri="156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer",
        role=roles.inference,
        rules=rules,
        output_s3_uri=artifacts_bucket.s3_url_for_object(f"{MONITORING_PREFIX}note-triage"),
    )


if __name__ == "__main__":
    main(build, HERE / "lifted_kit" / "ml" / "README.md")
