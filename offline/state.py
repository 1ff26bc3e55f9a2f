"""The deployed state of an environment in the emulator: lookups and a readable summary."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3

from offline.matrix import Targets
from offline.permissions import LOG_GROUP_FINDERS, QUEUE_FINDERS, find
from offline.reports import StackReport

# Data-stack construct IDs (a contract: see stacks/data_stack.py) -> bucket family names.
BUCKET_IDS = {
    "Raw": "raw",
    "Curated": "curated",
    "ModelArtifacts": "model_artifacts",
    "Audit": "audit",
    "InvocationLogs": "invocation_logs",
    "AccessLogs": "access_logs",
    "ConfigHistory": "config_history",
}


@dataclass(frozen=True)
class Emulator:
    """Makes boto3 clients for moto: in-process (no endpoint) or a server on loopback."""

    region: str
    endpoint_url: str | None = None

    def client(self, service: str, **credentials: str) -> Any:
        """A client for ``service``, optionally with a role's credentials."""
        return boto3.client(
            service, region_name=self.region, endpoint_url=self.endpoint_url, **credentials
        )


def bucket_names(data: StackReport) -> dict[str, str]:
    """Bucket family -> deployed bucket name."""
    found = {}
    for logical_id, kind in data.resource_types.items():
        if kind != "AWS::S3::Bucket" or logical_id not in data.physical_ids:
            continue
        for construct_id, family in BUCKET_IDS.items():
            if logical_id.startswith(f"{construct_id}Bucket"):
                found[family] = data.physical_ids[logical_id]
    return found


def export_value(cfn: Any, fragment: str) -> str:
    """The value of the one export whose name contains ``fragment``."""
    values = [e["Value"] for e in cfn.list_exports()["Exports"] if fragment in e["Name"]]
    if len(values) != 1:
        raise LookupError(f"expected one export containing {fragment!r}, found {len(values)}")
    return str(values[0])


def targets(reports: dict[str, StackReport], emulator: Emulator, account: str) -> Targets:
    """What the permission matrix calls, found in the deployment."""
    cfn = emulator.client("cloudformation")
    return Targets(
        buckets=bucket_names(reports["data"]),
        queues=find(reports, QUEUE_FINDERS, "AWS::SQS::Queue"),
        keys={"data": export_value(cfn, "DataKey"), "logs": export_value(cfn, "LogsKey")},
        log_groups=find(reports, LOG_GROUP_FINDERS, "AWS::Logs::LogGroup"),
        account=account,
        region=emulator.region,
        client=lambda service, credentials: emulator.client(service, **credentials),
    )


def summary(reports: dict[str, StackReport], client: Callable[[str], Any]) -> list[str]:
    """Lines describing what is deployed, read back through the APIs."""
    ec2, s3, kms, iam, logs = (client(s) for s in ("ec2", "s3", "kms", "iam", "logs"))
    lines = []
    in_vpc = [{"Name": "vpc-id", "Values": reports["network"].ids_of_type("AWS::EC2::VPC")}]
    endpoints = ec2.describe_vpc_endpoints(Filters=in_vpc)["VpcEndpoints"]
    interface = sorted(
        e["ServiceName"].split(".", 3)[-1] for e in endpoints if e["VpcEndpointType"] == "Interface"
    )
    gateways = [e for e in endpoints if e["VpcEndpointType"] == "Gateway"]
    lines.append(
        f"VPC endpoints: {len(gateways)} gateway (s3), {len(interface)} interface: "
        + ", ".join(interface)
    )
    subnets = ec2.describe_subnets(Filters=in_vpc)["Subnets"]
    public_ip = sum(1 for s in subnets if s["MapPublicIpOnLaunch"])
    lines.append(f"Subnets: {len(subnets)}, auto-assigning public IPs: {public_ip}")
    for family, name in sorted(bucket_names(reports["data"]).items()):
        (rule,) = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"][
            "Rules"
        ]
        algorithm = rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"]
        versioning = s3.get_bucket_versioning(Bucket=name).get("Status", "Off")
        (life,) = s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]
        steps = " -> ".join(
            f"{t['StorageClass']}@{t['Days']}d" for t in life.get("Transitions", [])
        )
        expiry = life.get("Expiration", {}).get("Days")
        lines.append(
            f"Bucket {family}: {algorithm}, versioning {versioning}, lifecycle "
            f"{steps or 'none'}{f', expires {expiry}d' if expiry else ''}"
        )
    keys = [k["KeyId"] for k in kms.list_keys()["Keys"]]
    rotating = sum(1 for k in keys if kms.get_key_rotation_status(KeyId=k)["KeyRotationEnabled"])
    lines.append(f"KMS keys: {len(keys)}, rotating: {rotating}")
    for report in reports.values():
        for role in report.ids_of_type("AWS::IAM::Role"):
            managed = len(iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"])
            inline = len(iam.list_role_policies(RoleName=role)["PolicyNames"])
            lines.append(f"Role {role}: {managed} managed, {inline} inline policies")
    for group in logs.describe_log_groups()["logGroups"]:
        lines.append(
            f"Log group {group['logGroupName']}: KMS {'yes' if group.get('kmsKeyId') else 'NO'}, "
            f"retention {group.get('retentionInDays', 'never expires')} days"
        )
    return lines
