"""Post-deployment check: the data buckets refuse a request that does not come through the endpoint.

Which buckets: those whose template bucket policy has a ``Deny`` conditioned on
``aws:SourceVpce`` (``SecureBucket(vpc_endpoint_id=...)``: raw, curated, model artifacts). For
each, the deployed policy (``s3:GetBucketPolicy``) goes through the IAM evaluator
(``ml_genai_checks.evaluator.decide``) with three ``s3:GetObject`` requests of an ordinary role
of the account over TLS 1.3: without ``aws:SourceVpce`` and through another endpoint it must be
explicitly denied; through the deployed endpoint (the template's value, resolved through
CloudFormation's exports) the bucket policy must not deny it. That proves the policy as deployed,
whatever changed it since; identity policies, SCPs and the endpoint policy are not evaluated.
"""

from __future__ import annotations

import json
import re
from typing import Any

from botocore.exceptions import ClientError

from ml_genai_checks.evaluator import Request, decide
from preflight.plan import Resource
from preflight.postdeploy_context import DeployedContext
from preflight.results import Outcome, Unanswered, error_code, ok, problem

SOURCE_VPCE = "aws:sourcevpce"
OTHER_ENDPOINT = "vpce-0postdeploy0probe0"
"""An endpoint ID that is not the platform's (a request through someone else's endpoint)."""
PROBE_ROLE = "postdeploy-probe"
CDK_HASH = re.compile(r"[0-9A-F]{8}$")
"""The hash CDK appends to a logical ID (``RawBucket672A0DBB``)."""


def _endpoint_value(policy: Resource) -> Any:
    """The template's ``aws:SourceVpce`` value of the policy's endpoint deny, else ``None``."""
    document = policy.properties.get("PolicyDocument", {})
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    for statement in statements if isinstance(statements, list) else [statements]:
        if statement.get("Effect") != "Deny":
            continue
        for keys in (statement.get("Condition") or {}).values():
            for key, value in keys.items():
                if key.lower() == SOURCE_VPCE:
                    return value
    return None


def restricted_buckets(context: DeployedContext) -> list[tuple[Resource, Any]]:
    """(bucket policy, the template's endpoint value) of each endpoint-restricted bucket."""
    found = []
    for policy in context.plan.of_type("AWS::S3::BucketPolicy"):
        value = _endpoint_value(policy)
        if value is not None:
            found.append((policy, value))
    return found


def _bucket_of(context: DeployedContext, policy: Resource) -> tuple[str, str]:
    """(the construct's name for it, the deployed bucket name) of a bucket policy."""
    bucket = policy.properties.get("Bucket")
    if isinstance(bucket, str):
        return bucket, bucket
    if isinstance(bucket, dict) and isinstance(bucket.get("Ref"), str):
        logical_id = bucket["Ref"]
        target = Resource(policy.stack, logical_id, "AWS::S3::Bucket", {})
        label = CDK_HASH.sub("", logical_id).removesuffix("Bucket") or logical_id
        return label, context.physical_id(target)
    raise Unanswered(f"{policy.logical_id}'s Bucket is not a reference")


def _failures(statements: list[Any], bucket: str, account: str, endpoint: str) -> list[str]:
    """What the policy gets wrong for three GetObject requests of an ordinary role, over TLS."""
    base = {
        "aws:PrincipalArn": f"arn:aws:iam::{account}:role/{PROBE_ROLE}",
        "aws:PrincipalAccount": account,
        "aws:ResourceAccount": account,
        "aws:PrincipalIsAWSService": "false",
        "aws:SecureTransport": "true",
        "s3:TlsVersion": "1.3",
    }
    resource = f"arn:aws:s3:::{bucket}/{PROBE_ROLE}/object"
    cases = (  # (request, its context, must the bucket policy deny it)
        ("without aws:SourceVpce", base, True),
        (f"through {OTHER_ENDPOINT}", {**base, "aws:SourceVpce": OTHER_ENDPOINT}, True),
        (f"through {endpoint}", {**base, "aws:SourceVpce": endpoint}, False),
    )
    failures = []
    for name, request_context, must_deny in cases:
        try:
            outcome = decide(statements, Request("s3:GetObject", resource, dict(request_context)))
        except NotImplementedError as err:
            raise Unanswered(
                f"the policy of {bucket} uses {err}, which the evaluator does not model"
            ) from None
        if must_deny and outcome != "Deny":
            failures.append(f"a GetObject {name} is not denied ({outcome})")
        elif not must_deny and outcome == "Deny":
            failures.append(f"a GetObject {name} is denied")
    return failures


def data_bucket_policy(context: DeployedContext) -> Outcome:
    """Each endpoint-restricted bucket denies GetObject outside the endpoint, not through it."""
    restricted = restricted_buckets(context)
    if not restricted:
        return ok("no bucket policy of the templates restricts access to an endpoint")
    s3 = context.aws("s3")
    account = context.plan.env.account
    wrong: list[str] = []
    checked: list[str] = []
    endpoints: set[str] = set()
    for policy, value in restricted:
        label, bucket = _bucket_of(context, policy)
        endpoint = context.resolve(value)
        if not endpoint:
            raise Unanswered(
                f"the endpoint of {bucket}'s policy ({json.dumps(value)}) is not resolvable: "
                "is the network stack deployed?"
            )
        endpoints.add(endpoint)
        try:
            text = s3.get_bucket_policy(Bucket=bucket)["Policy"]
        except ClientError as err:
            if error_code(err) not in ("NoSuchBucketPolicy", "NoSuchBucket"):
                raise
            wrong.append(
                f"{label} ({bucket}): {error_code(err)}: anyone the IAM policies allow gets in"
            )
            continue
        document = json.loads(text)
        statements = document.get("Statement", [])
        statements = statements if isinstance(statements, list) else [statements]
        failures = _failures(statements, bucket, account, endpoint)
        if failures:
            wrong.append(f"{label} ({bucket}): {', '.join(failures)}")
        else:
            checked.append(label)
    if wrong:
        data = context.stack("data")
        return problem(
            "; ".join(wrong),
            f"{context.redeploy(data)} to restore the template's bucket policy "
            "(DenyDataAccessOutsideTheVpcEndpoint); PutBucketPolicy in CloudTrail says who "
            "changed it",
        )
    return ok(
        f"{', '.join(checked)} deny GetObject without or outside {', '.join(sorted(endpoints))} "
        "and not through it"
    )
