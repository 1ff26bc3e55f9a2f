"""Finish, through the S3 API, the bucket configuration moto's CloudFormation leaves out.

moto 5.2's CloudFormation applies only ``BucketEncryption`` and ``Tags`` of an
``AWS::S3::Bucket`` and skips ``AWS::S3::BucketPolicy`` altogether. So that the deployed state can
be checked (and the configuration is proven acceptable to S3's API), the harness applies the rest
after the stack is created: versioning, public-access block, ownership, lifecycle, object lock.
Every property applied this way is reported as "completed by the harness", never as created by
the emulator.

Not applied, and reported as not emulated:

* bucket policies: moto's S3 ignores policy *conditions*, so our conditional denies (TLS only,
  VPC endpoint only, encryption) would deny every request. The harness still *resolves* each
  policy against the deployed resources (so a broken reference fails the deployment) and hands
  the resolved documents to the checks;
* server access logging: moto accepts it only once the target bucket's policy grants the log
  delivery service, which is not applied (above).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class Unresolvable(ValueError):
    """A template value uses an intrinsic the harness does not evaluate."""


@dataclass
class Resolver:
    """Evaluates the intrinsics found in bucket properties and policies."""

    physical_ids: dict[str, str]
    resource_types: dict[str, str]
    exports: dict[str, str]
    account: str
    region: str

    def resolve(self, node: Any) -> Any:
        """``node`` with Ref, Fn::GetAtt (Arn), Fn::Join and Fn::ImportValue evaluated."""
        if isinstance(node, list):
            return [self.resolve(item) for item in node]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((name, value),) = node.items()
            if name == "Ref":
                return self._ref(value)
            if name == "Fn::GetAtt":
                return self._arn(value[0], value[1])
            if name == "Fn::Join":
                return value[0].join(str(self.resolve(part)) for part in value[1])
            if name == "Fn::ImportValue":
                export = self.resolve(value)
                if export not in self.exports:
                    raise Unresolvable(f"no export named {export}")
                return self.exports[export]
            if name.startswith("Fn::"):
                raise Unresolvable(f"{name} is not evaluated by the harness")
        return {key: self.resolve(value) for key, value in node.items()}

    def _ref(self, name: str) -> str:
        pseudo = {
            "AWS::AccountId": self.account,
            "AWS::Region": self.region,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        if name not in self.physical_ids:
            raise Unresolvable(f"Ref to {name}, which the emulator did not create")
        return self.physical_ids[name]

    def _arn(self, logical_id: str, attribute: str) -> str:
        kind = self.resource_types.get(logical_id)
        physical = self._ref(logical_id)
        if attribute == "Arn" and kind == "AWS::S3::Bucket":
            return f"arn:aws:s3:::{physical}"
        if attribute == "Arn" and kind == "AWS::KMS::Key":
            return f"arn:aws:kms:{self.region}:{self.account}:key/{physical}"
        raise Unresolvable(f"Fn::GetAtt {logical_id}.{attribute} ({kind})")


def _lifecycle(config: dict[str, Any]) -> dict[str, Any]:
    rules = []
    for rule in config["Rules"]:
        api: dict[str, Any] = {
            "ID": rule.get("Id", "rule"),
            "Status": rule["Status"],
            "Filter": {"Prefix": rule.get("Prefix", "")},
        }
        if "Transitions" in rule:
            api["Transitions"] = [
                {"Days": t["TransitionInDays"], "StorageClass": t["StorageClass"]}
                for t in rule["Transitions"]
            ]
        if "ExpirationInDays" in rule:
            api["Expiration"] = {"Days": rule["ExpirationInDays"]}
        if "NoncurrentVersionExpiration" in rule:
            api["NoncurrentVersionExpiration"] = rule["NoncurrentVersionExpiration"]
        if "AbortIncompleteMultipartUpload" in rule:
            api["AbortIncompleteMultipartUpload"] = rule["AbortIncompleteMultipartUpload"]
        rules.append(api)
    return {"Rules": rules}


# (CloudFormation property, S3 API call, how to turn the property into the call's arguments)
_BUCKET_PROPERTIES: tuple[tuple[str, str, Callable[[Any], dict[str, Any]]], ...] = (
    (
        "VersioningConfiguration",
        "put_bucket_versioning",
        lambda v: {"VersioningConfiguration": {"Status": v["Status"]}},
    ),
    (
        "PublicAccessBlockConfiguration",
        "put_public_access_block",
        lambda v: {"PublicAccessBlockConfiguration": v},
    ),
    ("OwnershipControls", "put_bucket_ownership_controls", lambda v: {"OwnershipControls": v}),
    (
        "LifecycleConfiguration",
        "put_bucket_lifecycle_configuration",
        lambda v: {"LifecycleConfiguration": _lifecycle(v)},
    ),
    (
        "ObjectLockConfiguration",
        "put_object_lock_configuration",
        lambda v: {"ObjectLockConfiguration": v},
    ),
)

# properties moto cannot take without the policies above
NOT_EMULATED_PROPERTIES: tuple[str, ...] = ("LoggingConfiguration",)


@dataclass
class Completion:
    """What the harness did after CloudFormation: applied, resolved only, not emulated."""

    completed: Counter[str] = field(default_factory=Counter)
    not_emulated: Counter[str] = field(default_factory=Counter)
    bucket_policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


def complete_s3(s3: Any, resources: dict[str, Any], resolver: Resolver) -> Completion:
    """Resolve bucket policies and apply the bucket properties moto skipped."""
    result = Completion()
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::S3::BucketPolicy":
            continue
        try:
            props = resolver.resolve(resource["Properties"])
            json.dumps(props["PolicyDocument"])  # fully resolved and serialisable
            result.bucket_policies[props["Bucket"]] = props["PolicyDocument"]
            result.not_emulated["AWS::S3::BucketPolicy (resolved, not applied)"] += 1
        except Exception as err:
            result.failures.append(f"{logical_id} (AWS::S3::BucketPolicy): {err}")
    for prop, call, to_args in _BUCKET_PROPERTIES:
        for logical_id, resource in resources.items():
            if resource["Type"] != "AWS::S3::Bucket" or prop not in resource.get("Properties", {}):
                continue
            try:
                value = resolver.resolve(resource["Properties"][prop])
                getattr(s3, call)(Bucket=resolver.physical_ids[logical_id], **to_args(value))
                result.completed[f"AWS::S3::Bucket.{prop}"] += 1
            except Exception as err:
                result.failures.append(f"{logical_id} (AWS::S3::Bucket.{prop}): {err}")
    for prop in NOT_EMULATED_PROPERTIES:
        for resource in resources.values():
            if resource["Type"] == "AWS::S3::Bucket" and prop in resource.get("Properties", {}):
                result.not_emulated[f"AWS::S3::Bucket.{prop}"] += 1
    return result
