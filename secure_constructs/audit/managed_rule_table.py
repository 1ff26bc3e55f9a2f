"""The AWS Config managed rules the audit stack deploys: data, one entry per control evidenced.

``ManagedRuleSet`` (``config_recorder.py`` in this folder) turns the list into rules;
account-level ones (IAM, root) are deployed only in the region that records global resources.
"""

from __future__ import annotations

from .config_recorder import ManagedRuleSpec


def baseline_rules(*, max_key_age_days: int, max_unused_days: int) -> list[ManagedRuleSpec]:
    """The AWS managed Config rules evidencing the controls this platform claims.

    ``max_key_age_days`` and ``max_unused_days`` parameterise the access-key age and unused
    credential rules (the access review uses the same figures).
    """
    r = ManagedRuleSpec
    return [
        # Encryption at rest
        r("S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED", "S3 buckets encrypt by default"),
        r("CLOUD_TRAIL_ENCRYPTION_ENABLED", "CloudTrail log files are KMS-encrypted"),
        r("CLOUDWATCH_LOG_GROUP_ENCRYPTED", "CloudWatch Logs groups are KMS-encrypted"),
        r("SNS_ENCRYPTED_KMS", "SNS topics are KMS-encrypted"),
        r("EC2_EBS_ENCRYPTION_BY_DEFAULT", "New EBS volumes are encrypted by default"),
        r("ENCRYPTED_VOLUMES", "Attached EBS volumes are encrypted"),
        r("SAGEMAKER_NOTEBOOK_INSTANCE_KMS_KEY_CONFIGURED", "SageMaker notebooks use a KMS key"),
        r(
            "SAGEMAKER_ENDPOINT_CONFIGURATION_KMS_KEY_CONFIGURED",
            "SageMaker endpoint configurations use a KMS key",
        ),
        # Encryption in transit
        r("S3_BUCKET_SSL_REQUESTS_ONLY", "S3 buckets refuse requests without TLS"),
        # Public access and network exposure
        r(
            "S3_ACCOUNT_LEVEL_PUBLIC_ACCESS_BLOCKS_PERIODIC",
            "S3 Block Public Access is on for the account",
            account_level=True,
        ),
        r("S3_BUCKET_LEVEL_PUBLIC_ACCESS_PROHIBITED", "S3 buckets block public access"),
        r("S3_BUCKET_PUBLIC_READ_PROHIBITED", "No S3 bucket allows public reads"),
        r("S3_BUCKET_PUBLIC_WRITE_PROHIBITED", "No S3 bucket allows public writes"),
        r("LAMBDA_FUNCTION_PUBLIC_ACCESS_PROHIBITED", "No Lambda function is publicly invocable"),
        r(
            "SAGEMAKER_NOTEBOOK_NO_DIRECT_INTERNET_ACCESS",
            "SageMaker notebooks have no direct internet access",
        ),
        r("EC2_INSTANCE_NO_PUBLIC_IP", "EC2 instances have no public IP"),
        r("VPC_DEFAULT_SECURITY_GROUP_CLOSED", "Default security groups allow no traffic"),
        r("INCOMING_SSH_DISABLED", "No security group admits SSH from anywhere"),
        r("RESTRICTED_INCOMING_TRAFFIC", "No security group admits risky ports from anywhere"),
        # Versioning
        r("S3_BUCKET_VERSIONING_ENABLED", "S3 buckets are versioned"),
        # Audit trail
        r(
            "MULTI_REGION_CLOUD_TRAIL_ENABLED",
            "A multi-region trail records management events",
            account_level=True,
        ),
        r("CLOUD_TRAIL_LOG_FILE_VALIDATION_ENABLED", "CloudTrail log file validation is on"),
        r("CLOUD_TRAIL_CLOUD_WATCH_LOGS_ENABLED", "CloudTrail delivers to CloudWatch Logs"),
        r("CLOUDTRAIL_S3_DATAEVENTS_ENABLED", "CloudTrail records S3 data events"),
        r("CLOUDTRAIL_SECURITY_TRAIL_ENABLED", "A trail meets the security-trail best practices"),
        # Network logging
        r("VPC_FLOW_LOGS_ENABLED", "VPCs have flow logs"),
        # Keys
        r("CMK_BACKING_KEY_ROTATION_ENABLED", "Customer-managed KMS keys rotate"),
        r("KMS_CMK_NOT_SCHEDULED_FOR_DELETION", "No customer-managed key is pending deletion"),
        # Identity (global: evaluated in the region that records IAM)
        r(
            "IAM_POLICY_NO_STATEMENTS_WITH_ADMIN_ACCESS",
            "No customer-managed policy allows *:* (administrator access)",
            account_level=True,
        ),
        r(
            "IAM_POLICY_NO_STATEMENTS_WITH_FULL_ACCESS",
            "No customer-managed policy allows a whole service (service:*)",
            account_level=True,
        ),
        r(
            "IAM_USER_NO_POLICIES_CHECK",
            "IAM users get permissions only through groups",
            account_level=True,
        ),
        r("IAM_ROOT_ACCESS_KEY_CHECK", "The root user has no access key", account_level=True),
        r("ROOT_ACCOUNT_MFA_ENABLED", "The root user has MFA", account_level=True),
        r(
            "MFA_ENABLED_FOR_IAM_CONSOLE_ACCESS",
            "IAM users with a console password have MFA",
            account_level=True,
        ),
        r(
            "ACCESS_KEYS_ROTATED",
            f"Access keys are younger than {max_key_age_days} days",
            account_level=True,
            parameters={"maxAccessKeyAge": str(max_key_age_days)},
        ),
        r(
            "IAM_USER_UNUSED_CREDENTIALS_CHECK",
            f"No credential unused for more than {max_unused_days} days",
            account_level=True,
            parameters={"maxCredentialUsageAge": str(max_unused_days)},
        ),
        # Serverless
        r("LAMBDA_INSIDE_VPC", "Lambda functions run in a VPC"),
        r("LAMBDA_CONCURRENCY_CHECK", "Lambda functions have reserved concurrency"),
        r("LAMBDA_DLQ_CHECK", "Lambda functions have a dead-letter queue"),
        # Detection services on
        r("GUARDDUTY_ENABLED_CENTRALIZED", "GuardDuty is enabled"),
        r("SECURITYHUB_ENABLED", "Security Hub is enabled"),
    ]
