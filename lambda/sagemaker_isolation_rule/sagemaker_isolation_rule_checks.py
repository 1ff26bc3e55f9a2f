"""The checks: describe each training and processing job of the window and judge it.

See ``sagemaker_isolation_rule.py`` for what each check requires.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError
from handler_kit.errors import error_code
from handler_kit.log import log

TRAINING_RESOURCE_TYPE = "AWS::SageMaker::TrainingJob"
PROCESSING_RESOURCE_TYPE = "AWS::SageMaker::ProcessingJob"
MAX_ANNOTATION = 256  # Evaluation.Annotation length limit

CHECK_MESSAGES = {
    "network-isolation": "network isolation off",
    "vpc": "not in a VPC (subnets and security groups)",
    "allowed-subnets": "subnets not in allowedSubnetIds",
    "inter-container-encryption": "inter-container traffic encryption off",
    "volume-kms": "no volume KMS key",
    "output-kms": "no output KMS key",
}


@dataclass(frozen=True)
class JobResult:
    """The checks one job failed (empty: compliant)."""

    kind: str  # "training" or "processing"
    name: str
    failed: tuple[str, ...]
    bad_subnets: tuple[str, ...] = ()

    @property
    def resource_type(self) -> str:
        """The Config resource type used in ``job`` scope."""
        return TRAINING_RESOURCE_TYPE if self.kind == "training" else PROCESSING_RESOURCE_TYPE


def _check(
    kind: str,
    name: str,
    *,
    isolation: Any,
    vpc: Any,
    encryption: Any,
    volume_key: Any,
    output_key: Any,
    allowed_subnets: frozenset[str] | None,
) -> JobResult:
    failed: list[str] = []
    bad_subnets: tuple[str, ...] = ()
    if isolation is not True:
        failed.append("network-isolation")
    subnets = list(vpc.get("Subnets") or []) if isinstance(vpc, dict) else []
    groups = list(vpc.get("SecurityGroupIds") or []) if isinstance(vpc, dict) else []
    if not subnets or not groups:
        failed.append("vpc")
    if allowed_subnets is not None and subnets:
        bad_subnets = tuple(sorted(s for s in subnets if s not in allowed_subnets))
        if bad_subnets:
            failed.append("allowed-subnets")
    if encryption is not True:
        failed.append("inter-container-encryption")
    if not volume_key:
        failed.append("volume-kms")
    if not output_key:
        failed.append("output-kms")
    return JobResult(kind, name, tuple(failed), bad_subnets)


def check_training_job(job: dict[str, Any], allowed_subnets: frozenset[str] | None) -> JobResult:
    """Check a DescribeTrainingJob response."""
    return _check(
        "training",
        job["TrainingJobName"],
        isolation=job.get("EnableNetworkIsolation"),
        vpc=job.get("VpcConfig"),
        encryption=job.get("EnableInterContainerTrafficEncryption"),
        volume_key=(job.get("ResourceConfig") or {}).get("VolumeKmsKeyId"),
        output_key=(job.get("OutputDataConfig") or {}).get("KmsKeyId"),
        allowed_subnets=allowed_subnets,
    )


def check_processing_job(job: dict[str, Any], allowed_subnets: frozenset[str] | None) -> JobResult:
    """Check a DescribeProcessingJob response."""
    network = job.get("NetworkConfig") or {}
    cluster = (job.get("ProcessingResources") or {}).get("ClusterConfig") or {}
    return _check(
        "processing",
        job["ProcessingJobName"],
        isolation=network.get("EnableNetworkIsolation"),
        vpc=network.get("VpcConfig"),
        encryption=network.get("EnableInterContainerTrafficEncryption"),
        volume_key=cluster.get("VolumeKmsKeyId"),
        output_key=(job.get("ProcessingOutputConfig") or {}).get("KmsKeyId"),
        allowed_subnets=allowed_subnets,
    )


def _truncate(text: str, limit: int = MAX_ANNOTATION) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def job_annotation(result: JobResult) -> str:
    """A readable reason for one job (at most 256 characters)."""
    if not result.failed:
        return "Network isolation, VPC, inter-container encryption and KMS keys all set."
    parts = []
    for code in result.failed:
        text = CHECK_MESSAGES[code]
        if code == "allowed-subnets":
            text += ": " + ",".join(result.bad_subnets)
        parts.append(text)
    return _truncate("Failed: " + "; ".join(parts))


def account_annotation(results: list[JobResult], hours: int) -> str:
    """A readable account-level reason (at most 256 characters)."""
    if not results:
        return f"No SageMaker training or processing jobs created in the last {hours} h."
    failing = [r for r in results if r.failed]
    if not failing:
        return f"All {len(results)} SageMaker jobs created in the last {hours} h comply."
    details = "; ".join(f"{r.kind} {r.name} [{','.join(r.failed)}]" for r in failing)
    return _truncate(f"{len(failing)} of {len(results)} jobs in last {hours} h fail: {details}")


def _summaries(
    client: Any, operation: str, key: str, since: datetime, page_size: int
) -> Iterator[dict[str, Any]]:
    paginator = client.get_paginator(operation)
    pages = paginator.paginate(CreationTimeAfter=since, PaginationConfig={"PageSize": page_size})
    for page in pages:
        yield from page.get(key, [])


def _is_not_found(exc: ClientError) -> bool:
    return error_code(exc) in ("ResourceNotFound", "ResourceNotFoundException")


def collect_results(
    sagemaker: Any, since: datetime, allowed: frozenset[str] | None, page_size: int = 100
) -> list[JobResult]:
    """List and check every training and processing job created after ``since``."""
    results: list[JobResult] = []
    for summary in _summaries(
        sagemaker, "list_training_jobs", "TrainingJobSummaries", since, page_size
    ):
        name = summary["TrainingJobName"]
        try:
            job = sagemaker.describe_training_job(TrainingJobName=name)
        except ClientError as exc:
            if not _is_not_found(exc):
                raise
            log("WARNING", "training job vanished before describe", job=name)
            continue
        results.append(check_training_job(job, allowed))
    for summary in _summaries(
        sagemaker, "list_processing_jobs", "ProcessingJobSummaries", since, page_size
    ):
        name = summary["ProcessingJobName"]
        try:
            job = sagemaker.describe_processing_job(ProcessingJobName=name)
        except ClientError as exc:
            if not _is_not_found(exc):
                raise
            log("WARNING", "processing job vanished before describe", job=name)
            continue
        results.append(check_processing_job(job, allowed))
    return results
