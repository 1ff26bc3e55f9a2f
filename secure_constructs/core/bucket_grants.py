"""What a construct outside the data group needs from a bucket: grants scoped to one prefix.

``SageMakerRoles`` (ml group) takes buckets by this protocol, so the ml folder can be copied
without the data folder; ``data.secure_bucket.SecureBucket`` satisfies it, and so does any
bucket wrapper of a team's own with the same two methods.
"""

from __future__ import annotations

from typing import Protocol

from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3


class PrefixGrantable(Protocol):
    """A bucket that grants object access under one key prefix, never bucket-wide."""

    def grant_read(self, grantee: iam.IGrantable, prefix: str) -> iam.Grant:
        """List ``prefix`` and get objects under it (with the bucket key's decrypt, if any)."""
        ...

    def grant_write(self, grantee: iam.IGrantable, prefix: str) -> iam.Grant:
        """Put objects under ``prefix`` (with the bucket key's encrypt, if any)."""
        ...


class BucketWithPrefixGrants(PrefixGrantable, Protocol):
    """A ``PrefixGrantable`` that also shows its bucket (for its name, ARN and notifications).

    ``SecureKnowledgeBase`` and ``BatchInference`` (genai group) take buckets by this protocol;
    ``data.secure_bucket.SecureBucket`` satisfies it.
    """

    @property
    def bucket(self) -> s3.IBucket:
        """The bucket itself."""
        ...
