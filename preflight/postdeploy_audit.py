"""Post-deployment checks of the recording services: the CloudTrail trail and the Config recorder.

Each is a function of the ``DeployedContext`` returning an ``Outcome``; AWS errors they do not
interpret propagate (``preflight.postdeploy`` turns a denial into "could not check" naming the
IAM action). Operations and response fields are the pinned botocore's (``cloudtrail``
``GetTrail``/``GetTrailStatus``, ``config`` ``DescribeConfigurationRecorderStatus``).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from preflight.postdeploy_context import DeployedContext
from preflight.results import Outcome, error_code, ok, problem


def _trail_name(context: DeployedContext) -> tuple[str, str, dict[str, Any]] | None:
    """(stack, trail name, template properties) of the environment's trail, if it has one."""
    trails = context.plan.of_type("AWS::CloudTrail::Trail")
    if not trails:
        return None
    trail = trails[0]
    name = context.resolve(trail.properties.get("TrailName"))
    return trail.stack, name or context.physical_id(trail), trail.properties


def cloudtrail_trail(context: DeployedContext) -> Outcome:
    """The trail logs, validates its files, is KMS-encrypted with the template's key, multi-region.

    And an organization trail when the template's is; its last delivery to S3 did not fail.
    """
    found = _trail_name(context)
    if found is None:
        return ok("the templates declare no trail: nothing to check")
    stack, name, properties = found
    cloudtrail = context.aws("cloudtrail")
    try:
        trail = cloudtrail.get_trail(Name=name)["Trail"]
    except ClientError as err:
        if error_code(err) != "TrailNotFoundException":
            raise
        return problem(
            f"trail {name} not found in {context.plan.env.region}",
            f"{context.redeploy(stack)}; if it is deployed, the trail was "
            "deleted outside CloudFormation: CloudTrail's DeleteTrail event says by whom",
        )
    status = cloudtrail.get_trail_status(Name=name)
    wrong: list[str] = []
    fixes: list[str] = []
    if not status.get("IsLogging"):
        wrong.append("not logging")
        fixes.append(f"aws cloudtrail start-logging --name {name}")
    if not trail.get("LogFileValidationEnabled"):
        wrong.append("log file validation off")
        fixes.append(f"aws cloudtrail update-trail --name {name} --enable-log-file-validation")
    expected_key = context.resolve(properties.get("KMSKeyId"))
    key = trail.get("KmsKeyId")
    if not key:
        wrong.append("no KMS key (SSE-S3 only)")
        fixes.append(
            f"aws cloudtrail update-trail --name {name} --kms-key-id {expected_key or '<logs key>'}"
        )
    elif expected_key and expected_key.startswith("arn:") and key != expected_key:
        wrong.append(f"encrypted with {key}, the template's key is {expected_key}")
        fixes.append(f"aws cloudtrail update-trail --name {name} --kms-key-id {expected_key}")
    if not trail.get("IsMultiRegionTrail"):
        wrong.append("single-region")
        fixes.append(f"aws cloudtrail update-trail --name {name} --is-multi-region-trail")
    if properties.get("IsOrganizationTrail") is True and not trail.get("IsOrganizationTrail"):
        wrong.append("not an organization trail (the template's is)")
        fixes.append(context.redeploy(stack))
    delivery_error = status.get("LatestDeliveryError")
    if delivery_error:
        wrong.append(f"last delivery to S3 failed ({delivery_error})")
        fixes.append("check the audit bucket policy and the logs key policy (CloudTrail's grants)")
    if wrong:
        return problem(
            f"trail {name}: {'; '.join(wrong)}",
            "; ".join(fixes) + f"; CloudFormation drift detection on {stack} shows what changed "
            "and CloudTrail (StopLogging, UpdateTrail) who changed it",
        )
    return ok(f"trail {name} logging, validated, KMS-encrypted, multi-region")


def config_recorder(context: DeployedContext) -> Outcome:
    """The account's customer-managed Config recorder records and its last status is not Failure.

    AWS Config allows one customer-managed recorder per region (service-linked recorders sit
    beside it), so that one is the environment's when it owns it, and the one the Config rules
    depend on when it does not.
    """
    env = context.plan.env
    owned = context.owner("config_recorder") == "stack"
    statuses = context.aws("config").describe_configuration_recorder_status()[
        "ConfigurationRecordersStatus"
    ]
    own = [s for s in statuses if not s.get("servicePrincipal")]
    whose = "" if owned else f"; {context.owner_note('config_recorder')}"
    if not own:
        audit = context.stack("audit")
        return problem(
            f"no customer-managed Config recorder in {env.region}{whose}",
            context.redeploy(audit)
            if owned
            else context.owner_fix("config_recorder", "create and start a Config recorder"),
        )
    recorder = own[0]
    name = str(recorder.get("name"))
    last = str(recorder.get("lastStatus", "")).upper()
    if not recorder.get("recording"):
        return problem(
            f"Config recorder {name} is not recording (last status {last or 'none'}){whose}",
            f"aws configservice start-configuration-recorder --configuration-recorder-name {name}"
            " (and find the StopConfigurationRecorder event in CloudTrail)",
        )
    if last == "FAILURE":
        detail = " ".join(
            str(recorder.get(k, "")) for k in ("lastErrorCode", "lastErrorMessage")
        ).strip()
        return problem(
            f"Config recorder {name} records but its last delivery failed ({detail or 'Failure'})"
            f"{whose}",
            "check the delivery channel: the Config history bucket's policy and the logs key "
            "policy must let AWS Config write",
        )
    return ok(f"Config recorder {name} recording (last status {last or 'none'}){whose}")
