"""Copy app of the data group: keys, the bucket family and the PHI pipeline, as the platform uses them.

Two stacks, as in the platform: ``Storage`` (keys, access-log bucket, raw and curated buckets)
and ``Pipeline`` (``PhiRedactionPipeline`` on those buckets, in another stack: the pipeline's
prefix grants then reference the buckets through cross-stack exports). The VPC, its endpoint
security group and the S3 endpoint are imported (plain CDK): the data folder needs no network
folder.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from harness import ENV, imported_endpoint_group, imported_vpc, main
from lifted_kit.data.encryption_key import EncryptionKey
from lifted_kit.data.phi_pipeline import PhiRedactionPipeline
from lifted_kit.data.s3_rules import LifecyclePolicy, Transition
from lifted_kit.data.secure_bucket import SecureBucket

HERE = Path(__file__).resolve().parent


def handler_folder(name: str) -> Path:
    """``<name>/<name>.py`` with a handler that does nothing (the test synthesizes only)."""
    folder = HERE / name
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.py").write_text("def handler(event, context):\n    return None\n")
    return folder


def build(app: cdk.App) -> None:
    storage = cdk.Stack(app, "Storage", env=ENV, stack_name="team-data-storage")
    logs_key = EncryptionKey(storage, "LogsKey", alias="alias/team/logs", description="Logs")
    logs_key.allow_cloudwatch_logs()
    data_key = EncryptionKey(storage, "DataKey", alias="alias/team/data", description="Data")
    data_key.allow_use_via_services(["s3", "sqs", "lambda"])
    data_key.allow_grants_for_aws_resources(["lambda"])
    access_logs = SecureBucket(
        storage,
        "AccessLogs",
        access_logs_bucket=None,
        lifecycle=LifecyclePolicy(
            transitions=(Transition("STANDARD_IA", 30), Transition("GLACIER", 90)),
            expiration_days=365,
        ),
    )
    endpoint_id = "vpce-0a1b2c3d4e5f60718"
    raw, curated = (
        SecureBucket(
            storage,
            construct_id,
            access_logs_bucket=access_logs.bucket,
            access_logs_prefix=f"{construct_id.lower()}/",
            encryption_key=data_key.key,
            vpc_endpoint_id=endpoint_id,
            admin_principal_arns=["arn:aws:iam::123456789012:role/team-data-admin"],
        )
        for construct_id in ("Raw", "Curated")
    )

    pipeline = cdk.Stack(app, "Pipeline", env=ENV, stack_name="team-data-pipeline")
    vpc = imported_vpc(pipeline)
    endpoints = imported_endpoint_group(pipeline)
    PhiRedactionPipeline(
        pipeline,
        "PhiRedaction",
        code_dir=handler_folder("phi_redaction"),
        raw=raw,
        curated=curated,
        data_key=data_key.key,
        logs_key=logs_key.key,
        vpc=vpc,
        endpoint_security_group=endpoints,
        s3_prefix_list_id="pl-63a5400a",
        rule_name="team-phi-clinical-object-created",
        reserved_concurrency=2,
    )


if __name__ == "__main__":
    main(build, HERE / "lifted_kit" / "data" / "README.md")
