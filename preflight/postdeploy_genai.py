"""Post-deployment checks of the GenAI stack: the pinned guardrail version and invocation logging.

The guardrail version is a deploy-time number (``Fn::GetAtt <GuardrailVersion>.Version``): the
GenAI template exports it and the guardrail's ARN as stack outputs, so the deployed stack's
outputs (``DescribeStacks``) name the version its invocation role and function are pinned to.
The template also pins the version's description (a hash of the guardrail config), which says
whether the deployed version is the one this ``cdk.out`` publishes. Invocation logging is
compared with the parameters of the stack's ``PutModelInvocationLoggingConfiguration`` call.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from preflight.plan import Resource
from preflight.postdeploy_context import DeployedContext, NotDeployed
from preflight.results import Outcome, Unanswered, error_code, ok, problem

UNRESOLVED = "<not resolvable>"


def _output_key(template: Mapping[str, Any], logical_id: str, attributes: tuple[str, ...]) -> str:
    """The template output whose value is ``Fn::GetAtt [logical_id, <one of attributes>]``."""
    for key, output in template.get("Outputs", {}).items():
        value = output.get("Value")
        if isinstance(value, dict) and set(value) == {"Fn::GetAtt"}:
            target = value["Fn::GetAtt"]
            if len(target) == 2 and target[0] == logical_id and target[1] in attributes:
                return str(key)
    raise Unanswered(
        f"the template has no output of {logical_id}'s {'/'.join(attributes)}: the deployed "
        "version cannot be found"
    )


def _guardrail_of(version: Resource) -> str:
    identifier = version.properties.get("GuardrailIdentifier")
    if isinstance(identifier, dict):
        target = identifier.get("Fn::GetAtt") or [identifier.get("Ref")]
        if target and isinstance(target[0], str):
            return target[0]
    raise Unanswered(f"{version.logical_id}'s GuardrailIdentifier is not a reference")


def guardrail(context: DeployedContext) -> Outcome:
    """The guardrail version the template pins exists, is READY and is this config's version."""
    versions = context.plan.of_type("AWS::Bedrock::GuardrailVersion")
    if not versions:
        return ok("the templates publish no guardrail version: nothing to check")
    version = versions[0]
    stack = version.stack
    template = context.template(stack)
    version_key = _output_key(template, version.logical_id, ("Version",))
    arn_key = _output_key(template, _guardrail_of(version), ("GuardrailArn", "GuardrailId"))
    outputs = context.outputs(stack)
    if version_key not in outputs or arn_key not in outputs:
        raise NotDeployed(stack, f"its outputs lack {version_key}/{arn_key} (an older deploy)")
    arn, number = outputs[arn_key], outputs[version_key]
    deploy = context.redeploy(stack)
    try:
        found = context.aws("bedrock").get_guardrail(
            guardrailIdentifier=arn, guardrailVersion=number
        )
    except ClientError as err:
        if error_code(err) != "ResourceNotFoundException":
            raise
        return problem(
            f"guardrail {arn} version {number} (the stack's {version_key} output) not found: "
            "the invocation role and guarded-invoke function are pinned to a version that is gone",
            f"{deploy}; if the version was deleted outside CloudFormation (DeleteGuardrail in "
            "CloudTrail), change the guardrail config so the stack publishes a new version",
        )
    status = found.get("status")
    if status != "READY":
        reasons = "; ".join(
            [*found.get("statusReasons", []), *found.get("failureRecommendations", [])]
        )
        return problem(
            f"guardrail {found.get('name')} version {number} is {status}"
            f"{f' ({reasons})' if reasons else ''}",
            f"wait for it if CREATING/VERSIONING, else fix the reasons and {deploy}",
        )
    pinned = version.properties.get("Description")
    described = found.get("description")
    if isinstance(pinned, str) and described != pinned:
        return problem(
            f"guardrail {found.get('name')} version {number} is {described!r}, this cdk.out "
            f"pins {pinned!r}: the deployed version is of another config",
            f"{deploy} (it publishes the version of this config)",
        )
    return ok(f"guardrail {found.get('name')} version {number} READY ({described})")


def _expected_logging(context: DeployedContext, call: Resource) -> dict[str, Any]:
    """The ``loggingConfig`` the stack's custom resource puts (unresolvable parts marked)."""
    create = context.resolve(call.properties.get("Create"), UNRESOLVED)
    if create is None:
        raise Unanswered(f"{call.logical_id}'s Create is not a JSON text")
    parameters = json.loads(create).get("parameters", {})
    config: dict[str, Any] = parameters.get("loggingConfig", {})
    return config


FLAGS = ("textDataDeliveryEnabled", "imageDataDeliveryEnabled", "embeddingDataDeliveryEnabled")


def invocation_logging(context: DeployedContext) -> Outcome:
    """Bedrock model invocation logging is on; when owned, to the configured bucket and prefix."""
    response = context.aws("bedrock").get_model_invocation_logging_configuration()
    deployed: dict[str, Any] = response.get("loggingConfig") or {}
    calls = context.plan.of_type("Custom::BedrockInvocationLogging")
    owned = context.owner("bedrock_invocation_logging") == "stack" and bool(calls)
    s3 = deployed.get("s3Config") or {}
    where = (f"s3://{s3.get('bucketName')}/{s3.get('keyPrefix', '')}" if s3 else "no S3 bucket") + (
        ", CloudWatch Logs" if deployed.get("cloudWatchConfig") else ""
    )
    if not owned:
        note = context.owner_note("bedrock_invocation_logging")
        if not deployed:
            return problem(
                f"model invocation logging is off; {note}",
                context.owner_fix(
                    "bedrock_invocation_logging", "turn on Bedrock model invocation logging"
                ),
            )
        return ok(f"on ({where}); {note}")
    stack = calls[0].stack
    expected = _expected_logging(context, calls[0])
    want_s3 = expected.get("s3Config") or {}
    bucket = str(want_s3.get("bucketName", ""))
    prefix = str(want_s3.get("keyPrefix", ""))
    restore = (
        f"redeploy {stack} after any change to its InvocationLogging construct (an unchanged "
        "custom resource is not called again), or restore it with aws bedrock "
        "put-model-invocation-logging-configuration with the template's parameters; "
        "CloudTrail's Put/DeleteModelInvocationLoggingConfiguration events say who changed it"
    )
    if not deployed:
        return problem(
            "model invocation logging is off: prompts and answers are not recorded", restore
        )
    if UNRESOLVED in bucket:
        raise Unanswered(
            "the invocation log bucket is an import CloudFormation does not export: is the data "
            "stack deployed?"
        )
    wrong: list[str] = []
    if want_s3 and s3.get("bucketName") != bucket:
        wrong.append(f"bucket {s3.get('bucketName') or 'none'}, not {bucket}")
    if want_s3 and str(s3.get("keyPrefix", "")).rstrip("/") != prefix.rstrip("/"):
        wrong.append(f"prefix {s3.get('keyPrefix', '')!r}, not {prefix!r}")
    if expected.get("cloudWatchConfig") and not deployed.get("cloudWatchConfig"):
        wrong.append("no CloudWatch Logs delivery")
    for flag in FLAGS:
        if flag in expected and bool(deployed.get(flag)) != bool(expected[flag]):
            wrong.append(f"{flag} {bool(deployed.get(flag))}, not {bool(expected[flag])}")
    if wrong:
        return problem(f"model invocation logging delivers elsewhere: {'; '.join(wrong)}", restore)
    return ok(f"on, to {where}")
