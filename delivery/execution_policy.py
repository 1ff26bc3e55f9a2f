r"""The least-privilege CloudFormation execution policy, derived from the synthesized templates.

``cdk bootstrap`` attaches ``AdministratorAccess`` to the CloudFormation execution role
(``cdk-<qualifier>-cfn-exec-role-<account>-<region>``) unless
``--cloudformation-execution-policies`` names other managed policies. This module computes those
policies from ``cdk.out``:

Derivation
    * every resource type of every template: the union of the ``create``, ``read``, ``update``,
      ``delete`` and ``list`` handler permissions of its resource-provider schema, as bundled in
      the pinned cfn-lint (``cfnlint/data/schemas/providers/us-east-1.json`` maps a type to its
      file under ``cfnlint/data/schemas/resources/``; read with ``importlib.resources``, never
      from the network; the us-east-2 map, the other region the app deploys to, points every type
      used here at the same files). A type whose schema has no handlers (``AWS::CodeBuild::Project``
      is not a registry-managed type) takes its actions from ``SUPPLEMENTS``, each with its source;
      a type with neither is reported, never guessed.
    * ``Custom::*`` and ``AWS::CloudFormation::CustomResource``: CloudFormation invokes the service
      token with the execution role, so ``lambda:InvokeFunction`` (``sns:Publish`` for a topic).
    * template parameters of an ``AWS::SSM::Parameter::*`` type (CDK's ``BootstrapVersion``,
      ``/cdk-bootstrap/<qualifier>/version``) and ``{{resolve:ssm:...}}`` references:
      ``ssm:GetParameters`` on exactly those parameters. The CDK guide does not say which
      principal resolves them; the execution-role policies AWS's own sample validated against
      CloudTrail grant it (ABCA ``cdk/bootstrap/policies/observability.json``), and a bootstrap
      whose execution role had no permissions failed on ``ssm:GetParameters``
      (aws-samples/aws-iam-identity-center-automation#3). Reading the asset bucket to *upload*
      and the bootstrap version *check* by the CLI are the deploy and file-publishing roles' job
      (they have their own policies in the bootstrap template), not this role's.
    * ``iam:PassRole`` wherever a schema lists it, with an ``iam:PassedToService`` condition naming
      the services the templates pass roles to: for each resource of such a type, the roles its
      properties reference (``Ref``/``Fn::GetAtt`` in the template, ``Fn::ImportValue`` followed to
      the exporting stack) and the ``Service`` principals of those roles' trust policies; a
      service-linked role's service is read from its path. Roles of other accounts are not counted
      (the grant covers the account's own roles only; the pipeline's cross-account deploy roles
      are assumed, not passed); a same-account role given only by ARN is reported as a note,
      since its trust policy is not in the templates.

Narrowed (everything else is ``Resource: "*"``: CloudFormation creates resources under names it
generates or the config sets, in regions and, for keys and buckets of the organization trail,
accounts that differ; a name pattern would be a guess that breaks the next deploy)
    * ``iam:PassRole``: roles of the deploying account only (``${aws:PrincipalAccount}``, a global
      condition key used as a policy variable) and only to the services above.
    * ``iam:CreateServiceLinkedRole``: only ``role/aws-service-role/*`` of the account, the path
      every service-linked role has.
    * ``lambda:InvokeFunction`` / ``sns:Publish`` for custom resources: the account's functions and
      topics (CDK's provider functions live in the stack); a token in another account is granted by
      its exact ARN.
    * ``s3:GetObject`` / ``s3:GetObjectVersion``: only the buckets the templates name as object
      sources (``OBJECT_SOURCES``: Lambda code and layers, conformance-pack templates, DynamoDB
      imports; here the CDK file-asset bucket ``cdk-<qualifier>-assets-<account>-<region>``, with
      the account written as ``${aws:PrincipalAccount}`` and the region as ``*``); a type that
      reads objects from elsewhere, or a source that does not resolve, gets ``*``.
    * ``ssm:GetParameters``: the parameters named above.
    * IAM user and group policy actions (``iam:PutUserPolicy``, ``iam:AttachGroupPolicy``...):
      only when a template's ``AWS::IAM::Policy``/``ManagedPolicy`` sets ``Users``/``Groups``
      (``ATTACHMENT_ACTIONS``); these templates attach policies to roles only, so the role cannot
      grant permissions to IAM users or groups. (A managed policy attached to a user outside the
      templates could then not be deleted by CloudFormation.)
    Not narrowed, and why: KMS (the trail and the log-archive bucket use keys of other accounts;
    ``kms:CreateKey`` has no resource), ``organizations:*`` actions (organization-wide by nature),
    and every action whose resource has a generated name.

Corrections to the schemas (``CORRECTIONS``, ``PREFIX_ALIASES``), each with its source: some
schemas list S3 *API operation* names that IAM authorizes as another action
(``s3:DeleteBucketCors`` is authorized as ``s3:PutBucketCORS``), write EFS's prefix as ``efs``
(IAM's is ``elasticfilesystem``) or list ``s3:REST.PUT.OBJECT`` (an access-log operation name).
Four actions absent from the pinned Service Authorization Reference serve features these templates
do not use; they are left out while the feature is unused and come back when a template uses it.

Size: IAM limits a customer-managed policy to 6,144 characters, white space not counted, and a role
to 10 attached managed policies by default (``MANAGED_POLICY_LIMIT``, ``MAX_ATTACHED_POLICIES``;
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html). Statements (one per
service) are packed first-fit-decreasing into as few documents as fit; a statement larger than a
document is split.

Sources
    * https://docs.aws.amazon.com/cdk/v2/guide/bootstrapping-customizing.html
    * https://docs.aws.amazon.com/cdk/v2/guide/ref-cli-cmd-bootstrap.html
    * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-iam-servicerole.html
    * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
    * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
    * https://aws-samples.github.io/sample-autonomous-cloud-coding-agents/architecture/deployment-roles/

CLI: ``python -m delivery.execution_policy cdk.out --output delivery/execution-policy/`` writes
``cloudformation-execution-policy-<n>.json`` for the assemblies given (several may be);
``--with-single-account`` also synthesizes cdk.json without its ``organization`` and ``delivery``
blocks (in-process, ``tools.template_snapshot.synthesize``) and covers that platform too, as the
committed documents do. ``--check`` writes nothing and exits 1 with one line per resource type and
action the committed documents do not cover (0 when covered, 2 when an assembly cannot be read).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata, resources
from pathlib import Path
from typing import Any

from gates.arn_match import Resolver, render
from gates.assembly import AssemblyError, stacks
from gates.policy_checker import as_list, glob_regex
from gates.policy_refs import StackTemplate

MANAGED_POLICY_LIMIT = 6144
"""Characters of a customer-managed policy, white space not counted (IAM quotas)."""
MAX_ATTACHED_POLICIES = 10
"""Managed policies attached to one role, IAM's default quota (it can be raised to 20)."""
ACCOUNT = "${aws:PrincipalAccount}"
"""The deploying account, as a policy variable: the same documents serve every account."""
FILE_PREFIX = "cloudformation-execution-policy-"
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "execution-policy"
HANDLERS = ("create", "read", "update", "delete", "list")
PROVIDERS_REGION = "us-east-1"
VERSION = "2012-10-17"

CUSTOM_RESOURCE = "AWS::CloudFormation::CustomResource"
NO_PERMISSIONS = {"AWS::CDK::Metadata": "CDK's version-reporting resource; no service is called"}


@dataclass(frozen=True)
class TypePermissions:
    """The actions a resource type without schema handlers needs, and where AWS documents them."""

    type_name: str
    actions: tuple[str, ...]
    source: str


SUPPLEMENTS: tuple[TypePermissions, ...] = (
    TypePermissions(
        "AWS::CodeBuild::Project",
        (
            "codebuild:BatchGetProjects",
            "codebuild:CreateProject",
            "codebuild:DeleteProject",
            "codebuild:UpdateProject",
            "iam:PassRole",  # "CreateProject ... Actions: codebuild:CreateProject, iam:PassRole"
        ),
        "https://docs.aws.amazon.com/codebuild/latest/userguide/auth-and-access-control-permissions-reference.html",
    ),
)

S3_ACTIONS_PAGE = (
    "https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html"
)


@dataclass(frozen=True)
class Correction:
    """A schema permission IAM does not know by that name.

    ``replacement`` is the IAM action that authorizes it, or "" when it is left out. With
    ``kept_when`` = (type, property, value or None for "set at all"), the schema's action is kept
    as written as soon as a resource of that type uses the feature.
    """

    action: str
    replacement: str
    reason: str
    source: str
    kept_when: tuple[str, str, str | None] | None = None


CORRECTIONS: tuple[Correction, ...] = (
    *(
        Correction(f"s3:{operation}", f"s3:{action}", "S3 API operation name", S3_ACTIONS_PAGE)
        for operation, action in (
            ("DeleteBucketAnalyticsConfiguration", "PutAnalyticsConfiguration"),
            ("DeleteBucketCors", "PutBucketCORS"),
            ("DeleteBucketEncryption", "PutEncryptionConfiguration"),
            ("DeleteBucketLifecycle", "PutLifecycleConfiguration"),
            ("DeleteBucketMetricsConfiguration", "PutMetricsConfiguration"),
            ("DeleteBucketReplication", "PutReplicationConfiguration"),
            ("PutBucketReplication", "PutReplicationConfiguration"),
            ("PutObjectLockConfiguration", "PutBucketObjectLockConfiguration"),
        )
    ),
    Correction(
        "s3:REST.PUT.OBJECT",
        "",
        "an S3 server-access-log operation name, not an IAM action",
        S3_ACTIONS_PAGE,
    ),
    Correction(
        "lambda:AssociateRuntimeAlias",
        "",
        "customer-managed runtimes only (Runtime 'custom'); not in the pinned reference",
        "https://docs.aws.amazon.com/lambda/latest/dg/cmr-aliases.html",
        ("AWS::Lambda::Function", "Runtime", "custom"),
    ),
    Correction(
        "s3files:ListMountTargets",
        "",
        "S3 Files mounts only (FileSystemConfigs); not in the pinned reference",
        "https://docs.aws.amazon.com/AmazonS3/latest/API/API_S3Files_ListMountTargets.html",
        ("AWS::Lambda::Function", "FileSystemConfigs", None),
    ),
    Correction(
        "vpc-lattice:DescribeServiceNetworkVpcEndpointAssociation",
        "",
        "service-network endpoints only (ServiceNetworkArn); not in the pinned reference",
        "https://docs.aws.amazon.com/vpc-lattice/latest/ug/service-network-associations.html",
        ("AWS::EC2::VPCEndpoint", "ServiceNetworkArn", None),
    ),
    Correction(
        "s3:UpdateBucketMetadataAnnotationTableConfiguration",
        "",
        "S3 Metadata tables only (MetadataConfiguration); not in the pinned reference",
        "https://docs.aws.amazon.com/AmazonS3/latest/API/API_MetadataConfiguration.html",
        ("AWS::S3::Bucket", "MetadataConfiguration", None),
    ),
)
_CORRECTIONS = {c.action.lower(): c for c in CORRECTIONS}

PREFIX_ALIASES = {"efs": "elasticfilesystem"}
"""Service prefixes schemas write differently from IAM ("Amazon Elastic File System (service
prefix: elasticfilesystem)",
https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticfilesystem.html)."""

OBJECT_READS = frozenset({"s3:getobject", "s3:getobjectversion"})
OBJECT_SOURCES: dict[str, tuple[str, ...]] = {
    # Where a type's handler reads S3 objects from: a property holding S3Bucket, or an s3:// URI.
    "AWS::Lambda::Function": ("Code", "S3Bucket"),
    "AWS::Lambda::LayerVersion": ("Content", "S3Bucket"),
    "AWS::Config::OrganizationConformancePack": ("TemplateS3Uri",),
    "AWS::Config::ConformancePack": ("TemplateS3Uri",),
    "AWS::DynamoDB::Table": ("ImportSourceSpecification", "S3BucketSource", "S3Bucket"),
}

ATTACHMENT_ACTIONS: dict[tuple[str, str], str] = {
    # (type, action) -> the property that must be set on the resource for the handler to need it
    **{("AWS::IAM::Policy", f"iam:{verb}userpolicy"): "Users" for verb in ("get", "put", "delete")},
    **{
        ("AWS::IAM::Policy", f"iam:{verb}grouppolicy"): "Groups"
        for verb in ("get", "put", "delete")
    },
    **{
        ("AWS::IAM::ManagedPolicy", f"iam:{verb}userpolicy"): "Users"
        for verb in ("attach", "detach")
    },
    **{
        ("AWS::IAM::ManagedPolicy", f"iam:{verb}grouppolicy"): "Groups"
        for verb in ("attach", "detach")
    },
}

SID_PASS_ROLE = "PassRoleToServices"
SID_SERVICE_LINKED = "CreateServiceLinkedRoles"
SID_INVOKE = "InvokeCustomResourceProviders"
SID_PUBLISH = "PublishCustomResourceRequests"
SID_ASSETS = "ReadDeploymentAssets"
SID_PARAMETERS = "ReadTemplateParameters"
PASSED_TO_SERVICE = "iam:PassedToService"

_ROLE_ARN = re.compile(r"^arn:[^:]*:iam::([^:]*):role/(.+)$")
_SERVICE_LINKED = re.compile(r"^aws-service-role/([^/]+)/")
_TOKEN_ARN = re.compile(r"^arn:[^:]*:(lambda|sns):[^:]*:([^:]*):")
_DYNAMIC = re.compile(r"\{\{resolve:(ssm|ssm-secure|secretsmanager):([^}]*)\}\}")


@dataclass(frozen=True, order=True)
class Requirement:
    """One permission CloudFormation needs: an action on a resource, maybe under a condition."""

    sid: str
    action: str
    resource: str = "*"
    condition_key: str = ""
    condition_value: str = ""

    def describe(self) -> str:
        """``action [on resource] [with key=value]``: how ``--check`` names it."""
        text = self.action
        if self.resource != "*":
            text += f" on {self.resource}"
        if self.condition_key:
            text += f" with {self.condition_key}={self.condition_value}"
        return text


@dataclass
class Derivation:
    """What the templates need: each requirement with the resource types (or inputs) needing it."""

    requirements: dict[Requirement, set[str]] = field(default_factory=dict)
    resource_types: set[str] = field(default_factory=set)
    unknown: dict[str, str] = field(default_factory=dict)  # type or input -> why not derived
    notes: list[str] = field(default_factory=list)

    def add(self, requirement: Requirement, needed_by: str) -> None:
        """Record that ``needed_by`` needs ``requirement``."""
        self.requirements.setdefault(requirement, set()).add(needed_by)

    def actions(self) -> set[str]:
        """Every action needed, lowercased."""
        return {r.action.lower() for r in self.requirements}


# --- schemas ------------------------------------------------------------------------------------


def _schemas() -> Any:
    return resources.files("cfnlint").joinpath("data", "schemas")


@cache
def _providers() -> dict[str, str]:
    path = _schemas().joinpath("providers", f"{PROVIDERS_REGION}.json")
    data: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    return data


def cfn_lint_version() -> str:
    """The installed cfn-lint's version (its schemas are what the policy is derived from)."""
    return metadata.version("cfn-lint")


def _normalize(action: str) -> str:
    prefix, _, name = action.partition(":")
    prefix = prefix.lower()
    return f"{PREFIX_ALIASES.get(prefix, prefix)}:{name}"


@cache
def type_actions(type_name: str) -> tuple[str, ...] | None:
    """The handler permissions of a type (prefixes lowercased), its supplement's, or None."""
    file_id = _providers().get(type_name)
    if file_id is not None:
        schema = json.loads(
            _schemas().joinpath("resources", f"{file_id}.json").read_text(encoding="utf-8")
        )
        handlers = schema.get("handlers", {})
        found = {
            _normalize(action)
            for handler in HANDLERS
            for action in handlers.get(handler, {}).get("permissions", [])
        }
        if found:
            return tuple(sorted(found))
    for supplement in SUPPLEMENTS:
        if supplement.type_name == type_name:
            return tuple(sorted(_normalize(a) for a in supplement.actions))
    return None


# --- templates ----------------------------------------------------------------------------------


ExportKey = tuple[str, str, str]  # account, region, export name


@dataclass(frozen=True)
class _Context:
    templates: Sequence[StackTemplate]
    exports: Mapping[ExportKey, tuple[StackTemplate, Any]]
    partition: str


def _resolver(stack: StackTemplate) -> Resolver:
    return Resolver(stack.template, stack.account, stack.region, stack.stack_name, {})


def _literal_text(stack: StackTemplate, value: Any) -> str | None:
    """The value as text when it resolves to literal characters only, else None."""
    pattern = _resolver(stack).resolve(value)
    return render(pattern) if all(len(token) == 1 for token in pattern) else None


def _rendered(stack: StackTemplate, value: Any) -> str:
    return render(_resolver(stack).resolve(value))


def _exports(templates: Sequence[StackTemplate]) -> dict[ExportKey, tuple[StackTemplate, Any]]:
    found: dict[ExportKey, tuple[StackTemplate, Any]] = {}
    for stack in templates:
        for output in stack.template.get("Outputs", {}).values():
            if isinstance(output, dict) and "Export" in output:
                name = _literal_text(stack, output["Export"].get("Name"))
                if name is not None:
                    found[(stack.account, stack.region, name)] = (stack, output.get("Value"))
    return found


def partition_of(regions: Iterable[str]) -> str:
    """The ARN partition of the regions deployed to (``*`` when they span partitions)."""
    found = {
        "aws-cn" if r.startswith("cn-") else "aws-us-gov" if r.startswith("us-gov-") else "aws"
        for r in regions
        if not r.startswith("unknown-")
    }
    return found.pop() if len(found) == 1 else "*"


def _imported(
    value: Any, stack: StackTemplate, context: _Context
) -> tuple[StackTemplate, Any] | None:
    name = _literal_text(stack, value)
    return None if name is None else context.exports.get((stack.account, stack.region, name))


def _intrinsic(value: Any) -> tuple[str, Any] | None:
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Ref" or function.startswith("Fn::"):
            return function, argument
    return None


def _target(function: str, argument: Any) -> str | None:
    if function == "Ref" and isinstance(argument, str):
        return argument
    if function == "Fn::GetAtt":
        if isinstance(argument, list) and argument and isinstance(argument[0], str):
            return argument[0]
        if isinstance(argument, str):
            return argument.split(".", 1)[0]
    return None


def _resource(stack: StackTemplate, logical_id: str | None) -> dict[str, Any]:
    found = stack.template.get("Resources", {}).get(logical_id or "")
    return found if isinstance(found, dict) else {}


RoleReference = tuple[StackTemplate, str] | str  # a role of a template, or an ARN as text


def role_references(
    value: Any, stack: StackTemplate, context: _Context, depth: int = 0
) -> Iterator[RoleReference]:
    """The IAM roles a property value references: in a template, or by ARN."""
    if depth > 10:
        return
    call = _intrinsic(value)
    if call is not None:
        function, argument = call
        if function in ("Ref", "Fn::GetAtt"):
            logical_id = _target(function, argument)
            if _resource(stack, logical_id).get("Type") == "AWS::IAM::Role":
                yield stack, str(logical_id)
            return
        if function == "Fn::ImportValue":
            found = _imported(argument, stack, context)
            if found is not None:
                yield from role_references(found[1], found[0], context, depth + 1)
            return
        if function in ("Fn::Join", "Fn::Sub"):
            text = _rendered(stack, value)
            if _ROLE_ARN.match(text):
                yield text
            return
    if isinstance(value, dict):
        for item in value.values():
            yield from role_references(item, stack, context, depth)
    elif isinstance(value, list):
        for item in value:
            yield from role_references(item, stack, context, depth)
    elif isinstance(value, str) and _ROLE_ARN.match(value):
        yield value


def trust_services(stack: StackTemplate, logical_id: str) -> set[str]:
    """The ``Service`` principals a role of the template trusts (Allow statements)."""
    document = _resource(stack, logical_id).get("Properties", {}).get("AssumeRolePolicyDocument")
    services: set[str] = set()
    for statement in as_list(document.get("Statement") if isinstance(document, dict) else None):
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal")
        if isinstance(principal, dict):
            for service in as_list(principal.get("Service")):
                services.add(_rendered(stack, service))
    return services


def passed_services(
    properties: Any, stack: StackTemplate, context: _Context, where: str, notes: list[str]
) -> set[str]:
    """The services a resource passes roles to, from the roles its properties reference."""
    services: set[str] = set()
    for reference in role_references(properties, stack, context):
        if isinstance(reference, tuple):
            services |= trust_services(*reference)
            continue
        match = _ROLE_ARN.match(reference)
        if match is None:
            continue
        account, path = match.groups()
        linked = _SERVICE_LINKED.match(path)
        if linked:
            services.add(linked.group(1))
        elif account == stack.account or account.startswith("<"):
            notes.append(
                f"{where}: passes role {reference}, whose trust policy is not in the templates;"
                " add its service to iam:PassedToService by hand if CloudFormation passes it"
            )
    return services


def _object_buckets(
    type_name: str, properties: Mapping[str, Any], stack: StackTemplate
) -> list[str] | None:
    """The buckets a type's handler reads objects from (None: cannot tell)."""
    path = OBJECT_SOURCES.get(type_name)
    if path is None:
        return None
    value: Any = properties
    for step in path:
        value = value.get(step) if isinstance(value, dict) else None
    if value is None:
        return []  # the source is inline (ZipFile, TemplateBody): nothing is read from S3
    text = _literal_text(stack, value)
    if text is None:
        return None
    bucket = text.removeprefix("s3://").split("/", 1)[0] if path[-1].endswith("Uri") else text
    if not bucket or "*" in bucket:
        return None
    if stack.account:
        bucket = bucket.replace(stack.account, ACCOUNT)
    return [bucket.replace(stack.region, "*") if stack.region else bucket]


def _feature_used(templates: Sequence[StackTemplate], rule: tuple[str, str, str | None]) -> bool:
    type_name, prop, value = rule
    for stack in templates:
        for resource in stack.template.get("Resources", {}).values():
            if not isinstance(resource, dict) or resource.get("Type") != type_name:
                continue
            properties = resource.get("Properties", {})
            if prop in properties and (value is None or properties[prop] == value):
                return True
    return False


def service_sid(prefix: str) -> str:
    """A statement ID for a service prefix: ``access-analyzer`` -> ``AccessAnalyzer``."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", prefix))


def _corrected(
    actions: Iterable[str], templates: Sequence[StackTemplate], kept: dict[str, bool]
) -> Iterator[str]:
    for action in actions:
        correction = _CORRECTIONS.get(action.lower())
        if correction is None:
            yield action
            continue
        rule = correction.kept_when
        if rule is not None:
            key = "|".join(str(part) for part in rule)
            if key not in kept:
                kept[key] = _feature_used(templates, rule)
            if kept[key]:
                yield action
                continue
        if correction.replacement:
            yield correction.replacement


def _custom_resource(
    properties: Mapping[str, Any], stack: StackTemplate, context: _Context, where: str
) -> tuple[Requirement, str | None]:
    """What invoking a custom resource's service token needs (and a note when assumed)."""
    lambda_any = f"arn:{context.partition}:lambda:*:{ACCOUNT}:function:*"
    value: Any = properties.get("ServiceToken")
    current = stack
    for _ in range(10):
        call = _intrinsic(value)
        if call is not None and call[0] == "Fn::ImportValue":
            found = _imported(call[1], current, context)
            if found is None:
                break
            current, value = found
            continue
        if call is not None and call[0] in ("Ref", "Fn::GetAtt"):
            kind = _resource(current, _target(*call)).get("Type", "")
            if kind.startswith("AWS::Lambda::"):
                return Requirement(SID_INVOKE, "lambda:InvokeFunction", lambda_any), None
            if kind == "AWS::SNS::Topic":
                topic_any = f"arn:{context.partition}:sns:*:{ACCOUNT}:*"
                return Requirement(SID_PUBLISH, "sns:Publish", topic_any), None
            break
        text = _literal_text(current, value)
        match = _TOKEN_ARN.match(text or "")
        if text is not None and match is not None:
            service, account = match.groups()
            same = account == current.account
            if service == "sns":
                topic = f"arn:{context.partition}:sns:*:{ACCOUNT}:*" if same else text
                return Requirement(SID_PUBLISH, "sns:Publish", topic), None
            function = lambda_any if same else text
            return Requirement(SID_INVOKE, "lambda:InvokeFunction", function), None
        break
    note = f"{where}: service token not followed; assumed a Lambda function of the account"
    return Requirement(SID_INVOKE, "lambda:InvokeFunction", lambda_any), note


def _parameter_arn(partition: str, name: str) -> str:
    return f"arn:{partition}:ssm:*:{ACCOUNT}:parameter/{name.removeprefix('/')}"


def _schema_requirements(
    type_name: str,
    properties: Mapping[str, Any],
    stack: StackTemplate,
    context: _Context,
    where: str,
    result: Derivation,
    kept: dict[str, bool],
) -> None:
    actions = type_actions(type_name) or ()
    partition = context.partition
    buckets: list[str] | None = None
    for action in sorted(set(_corrected(actions, context.templates, kept))):
        lower = action.lower()
        attached_to = ATTACHMENT_ACTIONS.get((type_name, lower))
        if attached_to is not None and not properties.get(attached_to):
            continue  # the policy is attached to no IAM user (group) here: no user (group) action
        if lower == "iam:passrole":
            role = f"arn:{partition}:iam::{ACCOUNT}:role/*"
            for service in sorted(passed_services(properties, stack, context, where, result.notes)):
                requirement = Requirement(SID_PASS_ROLE, action, role, PASSED_TO_SERVICE, service)
                result.add(requirement, type_name)
        elif lower == "iam:createservicelinkedrole":
            role = f"arn:{partition}:iam::{ACCOUNT}:role/aws-service-role/*"
            result.add(Requirement(SID_SERVICE_LINKED, action, role), type_name)
        elif lower in OBJECT_READS:
            if buckets is None:
                buckets = _object_buckets(type_name, properties, stack)
            if buckets is None:
                result.add(Requirement(service_sid("s3"), action), type_name)
            for bucket in buckets or ():
                arn = f"arn:{partition}:s3:::{bucket}/*"
                result.add(Requirement(SID_ASSETS, action, arn), type_name)
        else:
            result.add(Requirement(service_sid(action.split(":", 1)[0]), action), type_name)


def derive(templates: Sequence[StackTemplate]) -> Derivation:
    """Everything CloudFormation needs to manage every resource of these templates (pure)."""
    context = _Context(templates, _exports(templates), partition_of(t.region for t in templates))
    result = Derivation()
    kept: dict[str, bool] = {}
    for stack in templates:
        template = stack.template
        for name, parameter in template.get("Parameters", {}).items():
            kind = str(parameter.get("Type", "")) if isinstance(parameter, dict) else ""
            default = parameter.get("Default") if isinstance(parameter, dict) else None
            if kind.startswith("AWS::SSM::Parameter::"):
                if not isinstance(default, str):
                    result.unknown[f"{stack.stack_name} parameter {name}"] = (
                        f"{kind} without a Default: the parameter it reads is not known here"
                    )
                    continue
                arn = _parameter_arn(context.partition, default)
                result.add(Requirement(SID_PARAMETERS, "ssm:GetParameters", arn), kind)
        for kind, reference in _DYNAMIC.findall(json.dumps(template.get("Resources", {}))):
            if kind == "secretsmanager":
                result.unknown["{{resolve:secretsmanager}}"] = (
                    "Secrets Manager dynamic references are not derived yet"
                )
                continue
            if reference.startswith("arn:"):  # a parameter ARN, maybe with :version
                arn = re.sub(r":\d+$", "", reference)
            else:
                arn = _parameter_arn(context.partition, reference.split(":", 1)[0])
            result.add(Requirement(SID_PARAMETERS, "ssm:GetParameters", arn), f"{{{{{kind}}}}}")
        for logical_id, resource in template.get("Resources", {}).items():
            if not isinstance(resource, dict):
                continue
            type_name = str(resource.get("Type", ""))
            properties = resource.get("Properties", {})
            where = f"{stack.stack_name} {logical_id}"
            result.resource_types.add(type_name)
            if type_name.startswith("Custom::") or type_name == CUSTOM_RESOURCE:
                requirement, note = _custom_resource(properties, stack, context, where)
                result.add(requirement, type_name)
                if note:
                    result.notes.append(note)
            elif type_name in NO_PERMISSIONS:
                continue
            elif type_actions(type_name) is None:
                result.unknown[type_name] = (
                    f"no handler permissions in cfn-lint {cfn_lint_version()}'s resource schema"
                    " and no entry in SUPPLEMENTS (delivery/execution_policy.py)"
                )
            else:
                _schema_requirements(type_name, properties, stack, context, where, result, kept)
    result.notes = sorted(set(result.notes))
    return result


# --- documents ----------------------------------------------------------------------------------


def compact_size(document: Any) -> int:
    """Characters IAM counts: the JSON without white space (none inside these strings)."""
    return len(json.dumps(document, separators=(",", ":")))


def statements(derivation: Derivation) -> list[dict[str, Any]]:
    """One statement per service (``*``) or per narrowed grant, actions sorted, Sid-sorted."""
    groups: dict[tuple[str, str], tuple[set[str], set[str], set[str]]] = {}
    for requirement in derivation.requirements:
        key = (requirement.sid, requirement.condition_key)
        actions, resources_, values = groups.setdefault(key, (set(), set(), set()))
        actions.add(requirement.action)
        resources_.add(requirement.resource)
        if requirement.condition_value:
            values.add(requirement.condition_value)
    everywhere = {
        action.lower()
        for (_, condition), (actions, resources_, _) in groups.items()
        if not condition and resources_ == {"*"}
        for action in actions
    }
    built: list[dict[str, Any]] = []
    for (sid, condition), (actions, resources_, values) in sorted(groups.items()):
        if resources_ != {"*"} or condition:
            actions = {a for a in actions if a.lower() not in everywhere}
        spelled: dict[str, str] = {}
        for action in sorted(actions):
            spelled.setdefault(action.lower(), action)
        if not spelled:
            continue
        statement: dict[str, Any] = {
            "Sid": sid,
            "Effect": "Allow",
            "Action": sorted(spelled.values(), key=str.lower),
            "Resource": sorted(resources_) if len(resources_) > 1 else min(resources_),
        }
        if condition:
            statement["Condition"] = {"StringEquals": {condition: sorted(values)}}
        built.append(statement)
    return built


def _split(statement: dict[str, Any], budget: int) -> list[dict[str, Any]]:
    if compact_size(statement) <= budget:
        return [statement]
    parts: list[dict[str, Any]] = []
    current: dict[str, Any] = {**statement, "Action": []}
    for action in statement["Action"]:
        trial = {**current, "Action": [*current["Action"], action]}
        if current["Action"] and compact_size(trial) > budget:
            parts.append(current)
            current = {**statement, "Action": [action]}
        else:
            current = trial
    parts.append(current)
    for index, part in enumerate(parts[1:], start=2):
        part["Sid"] = f"{statement['Sid']}Part{index}"
    return parts


def documents(derivation: Derivation, limit: int = MANAGED_POLICY_LIMIT) -> list[dict[str, Any]]:
    """The statements packed first-fit-decreasing into as few documents as ``limit`` allows."""
    budget = limit - compact_size({"Version": VERSION, "Statement": []})
    pieces = [part for s in statements(derivation) for part in _split(s, budget)]
    pieces.sort(key=lambda s: (-compact_size(s), s["Sid"]))
    bins: list[list[dict[str, Any]]] = []
    used: list[int] = []
    for piece in pieces:
        size = compact_size(piece)
        for index, filled in enumerate(used):
            if filled + 1 + size <= budget:  # +1: the comma between statements
                bins[index].append(piece)
                used[index] += 1 + size
                break
        else:
            bins.append([piece])
            used.append(size)
    ordered = sorted(
        (sorted(b, key=lambda s: str(s["Sid"])) for b in bins), key=lambda b: str(b[0]["Sid"])
    )
    return [{"Version": VERSION, "Statement": b} for b in ordered]


def document_name(index: int) -> str:
    """The file name of the ``index``-th document (from 1)."""
    return f"{FILE_PREFIX}{index}.json"


def dumps(document: Mapping[str, Any]) -> str:
    """The committed form of a document: two-space indent, keys in policy order, newline."""
    return json.dumps(document, indent=2) + "\n"


def write_documents(docs: Sequence[Mapping[str, Any]], output: Path) -> list[Path]:
    """Write the documents (and remove stale ones of a larger set); returns the paths."""
    output.mkdir(parents=True, exist_ok=True)
    written = []
    for index, document in enumerate(docs, start=1):
        path = output / document_name(index)
        path.write_text(dumps(document), encoding="utf-8")
        written.append(path)
    for stale in output.glob(f"{FILE_PREFIX}*.json"):
        if stale not in written:
            stale.unlink()
    return written


def _index(path: Path) -> int:
    number = path.stem.removeprefix(FILE_PREFIX)
    return int(number) if number.isdigit() else 0


def load_documents(directory: Path) -> list[tuple[Path, dict[str, Any]]]:
    """The committed documents in ``directory``, in file-number order."""
    paths = sorted(directory.glob(f"{FILE_PREFIX}*.json"), key=_index)
    return [(p, json.loads(p.read_text(encoding="utf-8"))) for p in paths]


# --- coverage -----------------------------------------------------------------------------------


def _covers(statement: Mapping[str, Any], requirement: Requirement) -> bool:
    if statement.get("Effect") != "Allow" or "NotAction" in statement:
        return False
    actions = [a for a in as_list(statement.get("Action")) if isinstance(a, str)]
    if not any(glob_regex(a.lower()).fullmatch(requirement.action.lower()) for a in actions):
        return False
    patterns = [r for r in as_list(statement.get("Resource")) if isinstance(r, str)]
    if not any(glob_regex(r).fullmatch(requirement.resource) for r in patterns):
        return False
    conditions = statement.get("Condition") or {}
    if not isinstance(conditions, dict):
        return False
    for operator, pairs in conditions.items():
        for key, values in pairs.items() if isinstance(pairs, dict) else ():
            if key.lower() != requirement.condition_key.lower():
                return False
            allowed = [v for v in as_list(values) if isinstance(v, str)]
            if operator == "StringEquals":
                matched = requirement.condition_value in allowed
            elif operator == "StringLike":
                matched = any(glob_regex(v).fullmatch(requirement.condition_value) for v in allowed)
            else:
                matched = False
            if not matched:
                return False
    return True


def uncovered(docs: Sequence[Mapping[str, Any]], derivation: Derivation) -> list[str]:
    """One line per (resource type, permission) the documents do not grant, sorted."""
    granted = [s for d in docs for s in as_list(d.get("Statement")) if isinstance(s, dict)]
    lines = {
        f"{needed_by}: {requirement.describe()}"
        for requirement, needers in derivation.requirements.items()
        if not any(_covers(s, requirement) for s in granted)
        for needed_by in needers
    }
    lines |= {f"{name}: {why}" for name, why in derivation.unknown.items()}
    return sorted(lines)


def size_problems(docs: Sequence[tuple[Path, Mapping[str, Any]]]) -> list[str]:
    """A line per document over the managed-policy size limit, and one when there are too many."""
    lines = [
        f"{path.name}: {compact_size(doc)} characters, over IAM's {MANAGED_POLICY_LIMIT}"
        for path, doc in docs
        if compact_size(doc) > MANAGED_POLICY_LIMIT
    ]
    if len(docs) > MAX_ATTACHED_POLICIES:
        lines.append(
            f"{len(docs)} documents: a role takes {MAX_ATTACHED_POLICIES} managed policies by"
            " default (raise the quota or merge services)"
        )
    return lines


def templates_of(outdirs: Iterable[Path]) -> list[StackTemplate]:
    """Every stack of the assemblies, as the derivation reads them."""
    return [
        StackTemplate(s.stack_name, s.account, s.region, s.template())
        for outdir in outdirs
        for s in stacks(outdir)
    ]


# --- CLI ----------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Write the documents, or with ``--check`` verify the committed ones cover the templates."""
    parser = argparse.ArgumentParser(
        prog="python -m delivery.execution_policy",
        description="Derive the CloudFormation execution policy from synthesized templates.",
    )
    parser.add_argument("assemblies", nargs="+", type=Path, help="cdk.out directories")
    parser.add_argument(
        "--output", type=Path, default=DEFAULT_OUTPUT, help="where the documents are (written)"
    )
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if the documents fall short"
    )
    parser.add_argument(
        "--with-single-account",
        action="store_true",
        help="also cover the single-account platform: cdk.json without its organization and"
        " delivery blocks, synthesized in-process into a temporary directory",
    )
    args = parser.parse_args(argv)
    try:
        templates = templates_of(args.assemblies)
        if args.with_single_account:
            templates += _single_account_templates()
        derivation = derive(templates)
    except AssemblyError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for note in derivation.notes:
        print(f"note: {note}", file=sys.stderr)
    if args.check:
        return _check(derivation, args.output)
    if derivation.unknown:
        for name, why in sorted(derivation.unknown.items()):
            print(f"{name}: {why}")
        print("error: not written; cover the types above first", file=sys.stderr)
        return 1
    docs = documents(derivation)
    paths = write_documents(docs, args.output)
    for path, doc in zip(paths, docs, strict=True):
        print(f"{path}: {compact_size(doc)}/{MANAGED_POLICY_LIMIT} characters")
    problems = size_problems(list(zip(paths, docs, strict=True)))
    for line in problems:
        print(line)
    print(
        f"{len(derivation.resource_types)} resource types, {len(derivation.actions())} actions,"
        f" {len(docs)} documents (cfn-lint {cfn_lint_version()} schemas)"
    )
    return 1 if problems else 0


def _single_account_templates() -> list[StackTemplate]:
    """The single-account platform's templates (``tools.template_snapshot.synthesize``)."""
    from tools.template_snapshot import synthesize  # imports aws_cdk: only when asked

    with tempfile.TemporaryDirectory() as scratch:
        outdir = Path(scratch) / "single-account"
        synthesize(outdir, organization=False)
        return templates_of([outdir])


def _check(derivation: Derivation, output: Path) -> int:
    committed = load_documents(output)
    if not committed:
        print(f"{output}: no {FILE_PREFIX}*.json documents to check")
        return 1
    lines = uncovered([doc for _, doc in committed], derivation) + size_problems(committed)
    for line in lines:
        print(line)
    if lines:
        print(
            "error: regenerate with python -m delivery.execution_policy <cdk.out> --output"
            f" {output}",
            file=sys.stderr,
        )
        return 1
    needed = derivation.actions()
    surplus = {
        a.lower()
        for _, doc in committed
        for s in as_list(doc.get("Statement"))
        if isinstance(s, dict)
        for a in as_list(s.get("Action"))
        if isinstance(a, str)
    } - needed
    if surplus:
        print(
            f"note: {len(surplus)} granted actions are not needed by these assemblies (another"
            " configuration, such as the single-account platform, may need them)",
            file=sys.stderr,
        )
    print(
        f"covered: {len(derivation.resource_types)} resource types, "
        f"{len(derivation.actions())} actions by {len(committed)} documents"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
