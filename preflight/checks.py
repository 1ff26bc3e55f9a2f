"""The account-level checks: identity, Lambda concurrency, AZs, endpoints, logs, models, bootstrap.

Each check is one small function of the ``Context`` returning an ``Outcome``; an AWS error it
does not interpret itself propagates and becomes "could not check" with the operation and code.
Every operation and response field used here was checked against the pinned botocore's service
models (``botocore/data/<service>/*/service-2.json``).
"""

from __future__ import annotations

import re
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from platform_config import LAMBDA_UNRESERVED_MINIMUM, EnvironmentConfig
from preflight.results import Check, Context, NoAccess, Outcome, error_code, ok, problem

LAMBDA_QUOTA_CODE = "L-B99A9384"
"""Service Quotas code of AWS Lambda's "Concurrent executions"."""

INFERENCE_PROFILE = re.compile(r"^(us|us-gov|eu|apac|ca|jp|au|global)\.")
"""Model IDs starting with a geography are cross-region inference profiles."""

TOOLKIT_STACK = "CDKToolkit"


def caller_identity(context: Context) -> Outcome:
    """The credentials belong to the environment's account (STS GetCallerIdentity).

    Raises:
        NoAccess: no credentials, or STS unreachable or refusing them.
    """
    env = context.plan.env
    try:
        identity = context.aws("sts").get_caller_identity()
    except NoCredentialsError:
        raise NoAccess(
            f"no AWS credentials found for {env.name} (account {env.account}): sign in "
            "(aws sso login, AWS_PROFILE or AWS_ACCESS_KEY_ID) and run again"
        ) from None
    except (ClientError, BotoCoreError) as err:
        detail = error_code(err) if isinstance(err, ClientError) else f"{type(err).__name__}"
        raise NoAccess(f"STS GetCallerIdentity failed ({detail}): {err}") from None
    account = str(identity.get("Account"))
    if account != env.account:
        return problem(
            f"credentials are for account {account} ({identity.get('Arn')}), but {env.name} "
            f"deploys to {env.account}",
            f"use credentials of account {env.account}, or correct "
            f"ml-platform.environments.{env.name}.account in cdk.json",
        )
    return ok(f"account {account} ({identity.get('Arn')})")


def _existing_functions(context: Context) -> dict[str, int]:
    """Functions of the plan's stacks that exist already, counted per stack.

    CloudFormation names a function without ``FunctionName`` ``<stack name>-<logical ID>-<suffix>``
    (truncated to 64 characters), so a name starting with ``<stack name>-`` is taken to be one of
    that stack's from an earlier deploy.
    """
    paginator = context.aws("lambda").get_paginator("list_functions")
    counts: dict[str, int] = {}
    for page in paginator.paginate():
        for function in page.get("Functions", []):
            name = str(function.get("FunctionName", ""))
            for stack in context.plan.stack_names:
                if name.startswith(f"{stack}-"):
                    counts[stack] = counts.get(stack, 0) + 1
    return counts


def lambda_concurrency(context: Context) -> Outcome:
    """The account can grant the templates' reserved concurrency and keep 100 unreserved.

    Functions that already exist (an earlier deploy of these stacks) have their reservations
    counted in the account's unreserved figure already: their stack's reservations are not
    counted again. A changed reservation of an existing function is not considered.
    """
    limits = context.aws("lambda").get_account_settings()["AccountLimit"]
    limit = int(limits["ConcurrentExecutions"])
    unreserved = int(limits["UnreservedConcurrentExecutions"])
    per_stack = context.plan.reservations()
    try:
        existing = _existing_functions(context)
        note = ""
    except (ClientError, BotoCoreError) as err:
        existing = {}
        note = f"; could not list functions ({error_code(err)}), assumed none deployed yet"
    new = {stack: n for stack, n in per_stack.items() if stack not in existing}
    needed = sum(new.values())
    if existing:
        counted = ", ".join(f"{stack} ({n})" for stack, n in sorted(existing.items()))
        note += (
            f"; functions of {counted} exist already: their reservations are in the unreserved "
            "figure and not counted again"
        )
    breakdown = ", ".join(f"{stack.rsplit('-', 1)[-1]} {n}" for stack, n in sorted(new.items()))
    summary = (
        f"account limit {limit}, unreserved {unreserved}; the templates reserve {needed}"
        f"{f' ({breakdown})' if breakdown else ''}"
    )
    left = unreserved - needed
    if left < LAMBDA_UNRESERVED_MINIMUM:
        required = needed + LAMBDA_UNRESERVED_MINIMUM + (limit - unreserved)
        return problem(
            f"{summary}, leaving {left}; Lambda keeps {LAMBDA_UNRESERVED_MINIMUM} unreserved, so "
            f"the limit must be at least {needed} + {LAMBDA_UNRESERVED_MINIMUM} + "
            f"{limit - unreserved} "
            f"other functions already reserve = {required}{note}",
            "request a Service Quotas increase of Lambda 'Concurrent executions' "
            f"({LAMBDA_QUOTA_CODE}) to at least {required}, or set the reservations to null "
            f"in cdk.json (ml-platform.environments.{context.plan.env.name}.reserved_concurrency)",
        )
    return ok(f"{summary}, leaving {left} unreserved{note}")


def availability_zones(context: Context) -> Outcome:
    """Every configured AZ is offered to this account and available."""
    env = context.plan.env
    zones = context.aws("ec2").describe_availability_zones()["AvailabilityZones"]
    state = {str(z["ZoneName"]): str(z.get("State")) for z in zones}
    wrong = [
        f"{az} {state.get(az, 'not offered')}"
        for az in env.availability_zones
        if state.get(az) != "available"
    ]
    if wrong:
        return problem(
            f"{', '.join(wrong)} (this account has: {', '.join(sorted(state)) or 'none'})",
            f"choose available AZs in availability_zones (and endpoint_availability_zones) of "
            f"{env.name} in cdk.json; see aws ec2 describe-availability-zones --region "
            f"{env.region}",
        )
    return ok(f"{', '.join(env.availability_zones)} available")


def _endpoint_service(context: Context, full_name: str) -> dict[str, Any] | None:
    """The service's details, or ``None`` when the region does not offer it."""
    try:
        response = context.aws("ec2").describe_vpc_endpoint_services(ServiceNames=[full_name])
    except ClientError as err:
        if error_code(err) == "InvalidServiceName":
            return None
        raise
    details: list[dict[str, Any]] = response.get("ServiceDetails", [])
    return next((d for d in details if d.get("ServiceName") == full_name), None)


def interface_endpoints(context: Context) -> Outcome:
    """Each interface endpoint's service is offered in every endpoint AZ, and takes its policy."""
    env = context.plan.env
    endpoints = context.plan.interface_endpoints()
    wanted_azs = env.endpoint_availability_zones
    missing: list[str] = []
    no_policy: list[str] = []
    for name, has_policy in sorted(endpoints.items()):
        details = _endpoint_service(context, f"com.amazonaws.{env.region}.{name}")
        if details is None:
            missing.append(f"{name} (not offered in {env.region})")
            continue
        offered = set(details.get("AvailabilityZones", []))
        absent = [az for az in wanted_azs if az not in offered]
        if absent:
            missing.append(f"{name} (not in {', '.join(absent)})")
        if has_policy and not details.get("VpcEndpointPolicySupported", False):
            no_policy.append(name)
    if missing or no_policy:
        reasons, fixes = [], []
        if missing:
            reasons.append(f"not offered: {'; '.join(missing)}")
            fixes.append(
                "choose endpoint_availability_zones where every service is offered, or drop "
                "the service from interface_endpoints"
            )
        if no_policy:
            reasons.append(f"the template sets a policy but the service takes none: {no_policy}")
            fixes.append("give it actions=None in platform_config/catalogue.py")
        return problem("; ".join(reasons), "; ".join(fixes))
    return ok(f"{len(endpoints)} services offered in {', '.join(wanted_azs)}, policies supported")


def sagemaker_log_groups(context: Context) -> Outcome:
    """SageMaker's fixed-name log groups: free when the ML stack creates them, present if not."""
    # Imported here: the module loads aws-cdk-lib (a Node.js process), which a usage error or
    # a failed identity check never needs.
    from secure_constructs.ml.sagemaker_rules import SAGEMAKER_LOG_GROUPS

    plan = context.plan
    names = [f"/aws/sagemaker/{name}" for name in SAGEMAKER_LOG_GROUPS]
    created = plan.log_group_names()
    existing: set[str] = set()
    paginator = context.aws("logs").get_paginator("describe_log_groups")
    for page in paginator.paginate(logGroupNamePrefix="/aws/sagemaker/"):
        existing.update(str(g["logGroupName"]) for g in page.get("logGroups", []))
    deployed = context.deployed_stacks()
    clash = [n for n in names if n in created and n in existing and created[n] not in deployed]
    absent = [n for n in names if n not in created and n not in existing]
    mode = plan.env.ml.sagemaker_log_groups
    if clash:
        return problem(
            f"{', '.join(clash)} {'exists' if len(clash) == 1 else 'exist'} already and "
            f"{created[clash[0]]} creates {'it' if len(clash) == 1 else 'them'}: "
            "CloudFormation fails on a log group that exists",
            f'set ml.sagemaker_log_groups to "adopt" for {plan.env.name} in cdk.json, or '
            "cdk import them into the ML stack",
        )
    if absent:
        return problem(
            f"{', '.join(absent)} {'does' if len(absent) == 1 else 'do'} not exist and the "
            "templates do not create them "
            f"(ml.sagemaker_log_groups {mode!r}): SageMaker would create them unencrypted, "
            "never expiring, on first use",
            f'set ml.sagemaker_log_groups to "create" for {plan.env.name} in cdk.json',
        )
    made = [n for n in names if n in created]
    own = [n for n in made if n in existing]
    if len(made) == len(names) and not own:
        return ok(f"none of the {len(names)} exists yet; {created[names[0]]} creates them")
    parts = [
        f"{len(made) - len(own)} to create" if len(made) > len(own) else "",
        f"{len(own)} exist from the deployed ML stack" if own else "",
        f"{len(names) - len(made)} exist and are adopted" if len(made) < len(names) else "",
    ]
    return ok(f"{', '.join(p for p in parts if p)} (of {len(names)})")


def _model_status(context: Context, model_id: str) -> str | None:
    """A model's or inference profile's status in the region, ``None`` when not found."""
    bedrock = context.aws("bedrock")
    try:
        if INFERENCE_PROFILE.match(model_id):
            profile = bedrock.get_inference_profile(inferenceProfileIdentifier=model_id)
            return str(profile.get("status", "ACTIVE"))
        details = bedrock.get_foundation_model(modelIdentifier=model_id)["modelDetails"]
        return str(details.get("modelLifecycle", {}).get("status", "ACTIVE"))
    except ClientError as err:
        if error_code(err) in ("ResourceNotFoundException", "ValidationException"):
            return None
        raise


def platform_models(env: EnvironmentConfig) -> tuple[str, ...]:
    """The model IDs the environment's templates name: the allow-list, then the embedding model."""
    knowledge = env.genai.knowledge_base
    embedding = (knowledge.embedding_model_id,) if knowledge is not None else ()
    return (*env.genai.allowed_model_ids, *embedding)


def bedrock_models(context: Context) -> Outcome:
    """Every model ID of the environment is a foundation model or inference profile of the region.

    The allow-list and, with a knowledge base, its embedding model (Bedrock refuses to create
    the knowledge base with a model the region does not offer).
    """
    env = context.plan.env
    found = {m: _model_status(context, m) for m in platform_models(env)}
    missing = [m for m, status in found.items() if status is None]
    if missing:
        allowed = set(env.genai.allowed_model_ids)
        keys = ["genai.allowed_model_ids"] if allowed.intersection(missing) else []
        if env.genai.knowledge_base and env.genai.knowledge_base.embedding_model_id in missing:
            keys.append("genai.knowledge_base.embedding_model_id")
        return problem(
            f"not found in {env.region}: {', '.join(missing)}",
            f"use IDs from aws bedrock list-foundation-models (or list-inference-profiles) "
            f"--region {env.region} in {' and '.join(keys)} of {env.name}",
        )
    return ok(", ".join(f"{m} {s}" for m, s in found.items()))


def cdk_bootstrap(context: Context) -> Outcome:
    """The account and region are bootstrapped, with at least the version the templates require."""
    plan = context.plan
    env = plan.env
    bootstrap = f"npx cdk bootstrap aws://{env.account}/{env.region}"
    try:
        parameter = context.aws("ssm").get_parameter(Name=plan.bootstrap_parameter)["Parameter"]
    except ClientError as err:
        if error_code(err) != "ParameterNotFound":
            raise
        return problem(
            f"{plan.bootstrap_parameter} not found: {env.account}/{env.region} is not bootstrapped",
            f"{bootstrap} (see 'Deploying for real' in the README)",
        )
    version = str(parameter.get("Value", ""))
    required = plan.bootstrap_min_version
    if required is not None and (not version.isdigit() or int(version) < required):
        return problem(
            f"bootstrap version {version}, the templates require {required} or newer",
            f"{bootstrap} with the pinned CLI (it upgrades the CDKToolkit stack)",
        )
    try:
        stack = context.aws("cloudformation").describe_stacks(StackName=TOOLKIT_STACK)["Stacks"][0]
        toolkit = f"stack {TOOLKIT_STACK} {stack.get('StackStatus')}"
    except ClientError as err:
        toolkit = f"no stack {TOOLKIT_STACK} ({error_code(err)}; a custom --toolkit-stack-name?)"
    return ok(f"version {version} (templates need {required or 'any'}), {toolkit}")


IDENTITY = Check("caller identity", caller_identity)
"""Runs first: without credentials nothing else can be checked, with another account's nothing
else would mean anything."""

CHECKS: tuple[Check, ...] = (
    Check("lambda concurrency", lambda_concurrency),
    Check("availability zones", availability_zones),
    Check("interface endpoints", interface_endpoints),
    Check("sagemaker log groups", sagemaker_log_groups),
    Check("bedrock models", bedrock_models),
    Check("cdk bootstrap", cdk_bootstrap),
)
"""The checks after caller identity (the runner puts the account singletons after endpoints)."""
