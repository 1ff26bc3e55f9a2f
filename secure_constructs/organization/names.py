"""Names the organization stages agree on across accounts.

Stacks in different accounts cannot reference each other's attributes, so the organization
trail, its bucket, its key alias and the Config delivery bucket have deterministic names built
here from the project, the account that owns them and the region. Every stage calls these
functions; nothing else spells the names.
"""

from __future__ import annotations

import re

ORGANIZATION_ID = re.compile(r"^o-[a-z0-9]{10,32}$")
"""An AWS Organizations organization ID."""
ACCOUNT_ID = re.compile(r"^[0-9]{12}$")
"""A 12-digit AWS account ID."""
OU_ID = re.compile(r"^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$")
"""An organizational unit ID."""
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]$")
"""An AWS region name (its form, not whether it exists)."""


def trail_name(project: str) -> str:
    """The organization trail (in the management account)."""
    return f"{project}-organization-trail"


def trail_arn(project: str, *, partition: str, region: str, management_account: str) -> str:
    """The organization trail's ARN, as CloudTrail writes it in ``aws:SourceArn``."""
    return f"arn:{partition}:cloudtrail:{region}:{management_account}:trail/{trail_name(project)}"


def trail_bucket_name(project: str, *, log_archive_account: str, region: str) -> str:
    """The organization trail's bucket (in the log-archive account)."""
    return f"{project}-org-trail-{log_archive_account}-{region}"


def config_bucket_name(project: str, *, log_archive_account: str, region: str) -> str:
    """The bucket every account's AWS Config delivery channel may write to (log archive)."""
    return f"{project}-org-config-{log_archive_account}-{region}"


def access_logs_bucket_name(project: str, *, log_archive_account: str, region: str) -> str:
    """Server access logs of the log-archive buckets."""
    return f"{project}-org-access-logs-{log_archive_account}-{region}"


def trail_key_alias(project: str) -> str:
    """The alias of the organization trail's KMS key (in the log-archive account)."""
    return f"alias/{project}-org-trail"


def trail_key_alias_arn(
    project: str, *, partition: str, region: str, log_archive_account: str
) -> str:
    """The key's alias ARN: how the management account's trail names a key in another account."""
    return f"arn:{partition}:kms:{region}:{log_archive_account}:{trail_key_alias(project)}"
