"""The policy evaluator: IAM statement semantics, then SCP/RCP and cross-account evaluation."""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Any

import pytest

from ml_genai_checks import evaluator
from ml_genai_checks.evaluator import (
    FULL_AWS_ACCESS,
    RCP_FULL_AWS_ACCESS,
    RCP_SUPPORTED_SERVICES,
    Organization,
    Policy,
    Request,
    allowed,
    decide,
    evaluate,
)

BUCKET = "arn:aws:s3:::clinical-notes"
OBJECT = f"{BUCKET}/2026/note.txt"
ALLOW_ALL = {"Effect": "Allow", "Action": "*", "Resource": "*"}


def allow(action: Any = "*", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any = "*", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def when(condition: dict[str, Any], context: dict[str, Any] | None = None) -> bool:
    """Whether an Allow with ``condition`` applies to a request with ``context``."""
    statement = allow("s3:GetObject", Condition=condition)
    return allowed([statement], Request("s3:GetObject", OBJECT, context or {}))


# --- statements --------------------------------------------------------------------------------


def test_the_module_imports_only_the_standard_library() -> None:
    tree = ast.parse(Path(evaluator.__file__).read_text(encoding="utf-8"))
    imported = {
        alias.name for n in ast.walk(tree) if isinstance(n, ast.Import) for alias in n.names
    }
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    roots = {name.split(".")[0] for name in imported}
    assert roots <= set(sys.stdlib_module_names) | {"__future__"}, roots


def test_explicit_deny_wins_over_any_allow() -> None:
    request = Request("s3:GetObject", OBJECT)
    assert decide([ALLOW_ALL], request) == "Allow"
    assert decide([ALLOW_ALL, deny("s3:Get*", f"{BUCKET}/*")], request) == "Deny"
    assert decide([deny("s3:PutObject")], request) == "ImplicitDeny"
    assert decide([], request) == "ImplicitDeny"


def test_actions_match_case_insensitively_with_wildcards_resources_case_sensitively() -> None:
    statement = allow("S3:get?bject", f"{BUCKET}/2026/*")
    assert allowed([statement], Request("s3:GetObject", OBJECT))
    assert not allowed([statement], Request("s3:GetObjectAcl", OBJECT))
    assert not allowed([statement], Request("s3:GetObject", OBJECT.upper()))
    assert not allowed([statement], Request("s3:GetObject", f"{BUCKET}/2025/note.txt"))


def test_brackets_are_plain_characters_not_character_classes() -> None:
    statement = allow("s3:GetObject", f"{BUCKET}/[ab]*")
    assert not allowed([statement], Request("s3:GetObject", f"{BUCKET}/a.txt"))
    assert allowed([statement], Request("s3:GetObject", f"{BUCKET}/[ab]1.txt"))


def test_not_action_and_not_resource() -> None:
    everything_but_iam = {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}
    assert allowed([everything_but_iam], Request("s3:GetObject", OBJECT))
    assert not allowed([everything_but_iam], Request("iam:CreateRole", "*"))
    outside_bucket = {"Effect": "Deny", "Action": "s3:*", "NotResource": [BUCKET, f"{BUCKET}/*"]}
    assert decide([outside_bucket], Request("s3:GetObject", OBJECT)) == "ImplicitDeny"
    assert decide([outside_bucket], Request("s3:GetObject", "arn:aws:s3:::other/x")) == "Deny"


REGION_DENY = {
    "Sid": "DenyOutsideEU",
    "Effect": "Deny",
    "NotAction": ["iam:*", "organizations:*", "sts:*", "cloudfront:*", "support:*"],
    "Resource": "*",
    "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1", "eu-central-1"]}},
}


@pytest.mark.parametrize(
    ("action", "region", "denied"),
    [
        ("ec2:RunInstances", "us-east-1", True),
        ("bedrock:InvokeModel", "us-west-2", True),
        ("ec2:RunInstances", "eu-west-1", False),
        ("ec2:RunInstances", "eu-central-1", False),
        ("iam:CreateRole", "us-east-1", False),  # global services are exempt
        ("STS:AssumeRole", "us-east-1", False),
        ("ec2:RunInstances", None, True),  # no region: a negated operator on a missing key is true
    ],
)
def test_not_action_region_deny_list_exempts_global_services(
    action: str, region: str | None, denied: bool
) -> None:
    context = {} if region is None else {"aws:RequestedRegion": region}
    outcome = decide([ALLOW_ALL, REGION_DENY], Request(action, "*", context))
    assert outcome == ("Deny" if denied else "Allow")


def test_multiple_values_are_or_keys_and_operators_are_and() -> None:
    regions = {"StringEquals": {"aws:RequestedRegion": ["eu-west-1", "eu-central-1"]}}
    assert when(regions, {"aws:RequestedRegion": "eu-central-1"})
    assert not when(regions, {"aws:RequestedRegion": "us-east-1"})
    two_keys = {"StringEquals": {"aws:RequestedRegion": "eu-west-1", "aws:PrincipalAccount": "1"}}
    assert when(two_keys, {"aws:RequestedRegion": "eu-west-1", "aws:PrincipalAccount": "1"})
    assert not when(two_keys, {"aws:RequestedRegion": "eu-west-1", "aws:PrincipalAccount": "2"})
    two_operators = {**regions, "Bool": {"aws:SecureTransport": "true"}}
    assert when(two_operators, {"aws:RequestedRegion": "eu-west-1", "aws:SecureTransport": True})
    assert not when(two_operators, {"aws:RequestedRegion": "eu-west-1"})


def test_condition_keys_are_case_insensitive_values_are_not() -> None:
    condition = {"StringEquals": {"aws:PrincipalTag/Team": "ml"}}
    assert when(condition, {"AWS:principaltag/team": "ml"})
    assert not when(condition, {"aws:PrincipalTag/Team": "ML"})
    assert when(
        {"StringEqualsIgnoreCase": {"aws:PrincipalTag/Team": "ml"}}, {"aws:PrincipalTag/Team": "ML"}
    )


def test_missing_key_is_false_except_negated_ifexists_forallvalues_and_null() -> None:
    key = "aws:SourceVpce"
    assert not when({"StringEquals": {key: "vpce-1"}})
    assert not when({"StringLike": {key: "*"}})
    assert not when({"Bool": {"aws:SecureTransport": "true"}})
    assert when({"StringNotEquals": {key: "vpce-1"}})
    assert when({"StringNotLike": {key: "vpce-*"}})
    assert when({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}})
    assert when({"StringEqualsIfExists": {key: "vpce-1"}})
    assert when({"BoolIfExists": {"aws:SecureTransport": "true"}})
    assert when({"ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}})
    assert not when({"ForAnyValue:StringEquals": {"aws:TagKeys": ["team"]}})
    assert not when({"ForAnyValue:StringNotEquals": {"aws:TagKeys": ["team"]}})
    # A null value and an empty set count as missing.
    assert when({"ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}}, {"aws:TagKeys": []})
    assert when({"StringEqualsIfExists": {key: "vpce-1"}}, {key: None})


def test_ifexists_evaluates_normally_when_the_key_is_present() -> None:
    condition = {"StringEqualsIfExists": {"aws:SourceVpce": "vpce-1"}}
    assert when(condition, {"aws:SourceVpce": "vpce-1"})
    assert not when(condition, {"aws:SourceVpce": "vpce-2"})
    negated = {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-mine"}}
    assert not when(negated, {"aws:PrincipalOrgID": "o-mine"})
    assert when(negated, {"aws:PrincipalOrgID": "o-theirs"})


def test_null() -> None:
    absent = {"Null": {"aws:MultiFactorAuthAge": "true"}}
    present = {"Null": {"aws:MultiFactorAuthAge": "false"}}
    assert when(absent)
    assert not when(absent, {"aws:MultiFactorAuthAge": "30"})
    assert not when(present)
    assert when(present, {"aws:MultiFactorAuthAge": "30"})
    assert when({"Null": {"aws:MultiFactorAuthAge": True}})  # JSON true works too


def test_for_all_values_and_for_any_value_on_present_sets() -> None:
    allowed_keys = {"ForAllValues:StringEquals": {"aws:TagKeys": ["team", "env"]}}
    assert when(allowed_keys, {"aws:TagKeys": ["team"]})
    assert when(allowed_keys, {"aws:TagKeys": ["team", "env"]})
    assert not when(allowed_keys, {"aws:TagKeys": ["team", "owner"]})
    any_key = {"ForAnyValue:StringEquals": {"aws:TagKeys": ["team", "env"]}}
    assert when(any_key, {"aws:TagKeys": ["owner", "env"]})
    assert not when(any_key, {"aws:TagKeys": ["owner"]})
    # Only Athena may be in the chain: ForAllValues with a negated operator.
    only_athena = {"ForAllValues:StringNotEquals": {"aws:CalledVia": ["athena.amazonaws.com"]}}
    assert not when(only_athena, {"aws:CalledVia": ["athena.amazonaws.com"]})
    assert when(only_athena, {"aws:CalledVia": ["glue.amazonaws.com"]})


def test_unqualified_operators_on_a_multivalued_key() -> None:
    called_via = {"aws:CalledVia": ["athena.amazonaws.com", "glue.amazonaws.com"]}
    assert when({"StringEquals": {"aws:CalledVia": "glue.amazonaws.com"}}, called_via)
    assert not when({"StringNotEquals": {"aws:CalledVia": "glue.amazonaws.com"}}, called_via)
    assert when({"StringNotEquals": {"aws:CalledVia": "emr.amazonaws.com"}}, called_via)


def test_ip_address_and_not_ip_address() -> None:
    office = {"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:db8::/32"]}}
    assert when(office, {"aws:SourceIp": "203.0.113.7"})
    assert when(office, {"aws:SourceIp": "2001:db8::1"})
    assert not when(office, {"aws:SourceIp": "198.51.100.7"})
    assert not when(office, {"aws:SourceIp": "not-an-ip"})
    assert not when({"IpAddress": {"aws:SourceIp": "203.0.113.7"}}, {"aws:SourceIp": "203.0.113.8"})
    outside = {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}
    assert when(outside, {"aws:SourceIp": "198.51.100.7"})
    assert not when(outside, {"aws:SourceIp": "203.0.113.7"})


def test_numeric_and_date_operators() -> None:
    assert when({"NumericLessThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": 10})
    assert not when({"NumericLessThan": {"s3:max-keys": "10"}}, {"s3:max-keys": "10"})
    assert when(
        {"NumericGreaterThan": {"aws:MultiFactorAuthAge": 3600}}, {"aws:MultiFactorAuthAge": "7200"}
    )
    assert when({"NumericNotEquals": {"s3:max-keys": ["1", "2"]}}, {"s3:max-keys": "3"})
    assert not when({"NumericEquals": {"s3:max-keys": "1"}}, {"s3:max-keys": "many"})
    before = {"DateLessThan": {"aws:CurrentTime": "2026-07-01T00:00:00Z"}}
    assert when(before, {"aws:CurrentTime": "2026-06-30T23:59:59Z"})
    assert not when(before, {"aws:CurrentTime": "2026-07-01T00:00:00Z"})
    assert when({"DateGreaterThan": {"aws:EpochTime": "1700000000"}}, {"aws:EpochTime": 1800000000})


def test_unknown_operators_are_refused_not_guessed() -> None:
    with pytest.raises(NotImplementedError):
        when({"BinaryEquals": {"aws:SourceIp": "AQID"}}, {"aws:SourceIp": "AQID"})
    with pytest.raises(NotImplementedError):
        when({"ForEach:StringEquals": {"aws:TagKeys": "x"}}, {"aws:TagKeys": ["x"]})


def test_non_string_values_go_through_the_flatten_hook() -> None:
    statement = allow("s3:GetObject", {"Fn::Join": ["", [{"Fn::GetAtt": ["B", "Arn"]}, "/*"]]})
    default = '{"Fn::Join":["",[{"Fn::GetAtt":["B","Arn"]},"/*"]]}'
    assert allowed([statement], Request("s3:GetObject", default))

    def flatten(node: Any) -> str:
        if "Fn::Join" in node:
            return "".join(flatten(i) if isinstance(i, dict) else i for i in node["Fn::Join"][1])
        return f"<{'.'.join(node['Fn::GetAtt'])}>"

    assert allowed([statement], Request("s3:GetObject", "<B.Arn>/k"), flatten=flatten)
    assert not allowed([statement], Request("s3:GetObject", "<C.Arn>/k"), flatten=flatten)


def test_principal_and_not_principal() -> None:
    def applies(principal: Any, context: dict[str, Any], key: str = "Principal") -> bool:
        statement = {"Effect": "Allow", key: principal, "Action": "s3:GetObject", "Resource": "*"}
        return allowed([statement], Request("s3:GetObject", OBJECT, context))

    role = {
        "aws:PrincipalArn": "arn:aws:iam::222222222222:role/a",
        "aws:PrincipalAccount": "222222222222",
    }
    assert applies("*", {})
    assert applies({"AWS": "*"}, role)
    assert applies({"AWS": "222222222222"}, role)
    assert applies(
        {"AWS": ["arn:aws:iam::999999999999:root", "arn:aws:iam::222222222222:root"]}, role
    )
    assert applies({"AWS": "arn:aws:iam::222222222222:role/a"}, role)
    assert not applies({"AWS": "arn:aws:iam::222222222222:role/b"}, role)
    assert not applies({"AWS": "999999999999"}, role)
    service = {
        "aws:PrincipalServiceName": "cloudtrail.amazonaws.com",
        "aws:PrincipalIsAWSService": "true",
    }
    assert applies({"Service": "cloudtrail.amazonaws.com"}, service)
    assert not applies({"Service": "config.amazonaws.com"}, service)
    assert not applies({"AWS": "arn:aws:iam::222222222222:role/a"}, role, key="NotPrincipal")
    assert applies({"AWS": "arn:aws:iam::222222222222:role/b"}, role, key="NotPrincipal")
    # A statement naming a principal and no Resource applies to its own resource (trust policy).
    trust = {
        "Effect": "Allow",
        "Principal": {"Service": "sagemaker.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }
    context = {"aws:PrincipalServiceName": "sagemaker.amazonaws.com"}
    assert allowed([trust], Request("sts:AssumeRole", "arn:aws:iam::1:role/x", context))
    # An identity statement without Resource applies to nothing.
    assert not allowed([{"Effect": "Allow", "Action": "*"}], Request("s3:GetObject", OBJECT))


# --- organizations -----------------------------------------------------------------------------

MANAGEMENT = "111111111111"
WORKLOAD = "222222222222"  # r-root / ou-workloads / account
SANDBOX = "333333333333"  # r-root / ou-sandbox / account
EXTERNAL = "999999999999"  # another organization
PATHS = {
    MANAGEMENT: ("r-root", MANAGEMENT),
    WORKLOAD: ("r-root", "ou-workloads", WORKLOAD),
    SANDBOX: ("r-root", "ou-sandbox", SANDBOX),
}
ORG_ID = "o-example"

SCP_REGIONS = Policy("DenyOutsideEU", (REGION_DENY,))
RCP_PERIMETER = Policy.from_document(
    "IdentityPerimeter",
    """{"Version": "2012-10-17", "Statement": [{
        "Sid": "EnforceOrgIdentities", "Effect": "Deny", "Principal": "*",
        "Action": ["s3:*", "sqs:*", "kms:*", "sts:AssumeRole", "secretsmanager:*"],
        "Resource": "*",
        "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-example"},
                      "BoolIfExists": {"aws:PrincipalIsAWSService": "false"}}}]}""",
)


def role(account: str, name: str = "analyst") -> str:
    return f"arn:aws:iam::{account}:role/{name}"


def get(account: str, name: str = "analyst", **context: Any) -> Request:
    return Request("s3:GetObject", OBJECT, {"aws:PrincipalArn": role(account, name), **context})


def org(
    scps: dict[str, list[Policy]] | None = None, rcps: dict[str, list[Policy]] | None = None
) -> Organization:
    return Organization.with_defaults(MANAGEMENT, PATHS, scps=scps, rcps=rcps, org_id=ORG_ID)


def test_the_full_access_policies_are_aws_documents() -> None:
    assert FULL_AWS_ACCESS.statements == ({"Effect": "Allow", "Action": "*", "Resource": "*"},)
    assert RCP_FULL_AWS_ACCESS.statements == (
        {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"},
    )
    assert {"s3", "sts", "kms", "sqs", "secretsmanager"} <= set(RCP_SUPPORTED_SERVICES)


def test_default_organization_allows_what_identity_policies_allow() -> None:
    decision = evaluate(
        get(WORKLOAD),
        principal_account=WORKLOAD,
        identity_statements=[ALLOW_ALL],
        organization=org(),
    )
    assert decision.allowed
    assert (decision.outcome, decision.layer) == ("Allow", "identity")
    assert decision.reason == "identity policy statement 0 allows s3:GetObject"


def test_scp_level_without_full_aws_access_denies_implicitly() -> None:
    targets = ("r-root", "ou-workloads", WORKLOAD)
    for missing in targets:
        scps = {t: [FULL_AWS_ACCESS] for t in targets if t != missing}
        organization = Organization(MANAGEMENT, PATHS, scps=scps)
        decision = evaluate(
            get(WORKLOAD),
            principal_account=WORKLOAD,
            identity_statements=[ALLOW_ALL],
            organization=organization,
        )
        assert not decision.allowed
        assert (decision.outcome, decision.layer, decision.target) == (
            "ImplicitDeny",
            "scp",
            missing,
        )
        assert decision.reason.startswith(f"SCP: no SCP attached to {missing} allows s3:GetObject")


def test_scp_allow_at_each_level_can_be_a_narrower_policy() -> None:
    s3_only = Policy("S3Only", ({"Effect": "Allow", "Action": "s3:*", "Resource": "*"},))
    scps = {"r-root": [FULL_AWS_ACCESS], "ou-sandbox": [s3_only], SANDBOX: [FULL_AWS_ACCESS]}
    organization = Organization(MANAGEMENT, PATHS, scps=scps, org_id=ORG_ID)
    ok = evaluate(
        get(SANDBOX),
        principal_account=SANDBOX,
        identity_statements=[ALLOW_ALL],
        organization=organization,
    )
    assert ok.allowed
    sqs = Request("sqs:SendMessage", "arn:aws:sqs:eu-west-1:333333333333:q", {})
    blocked = evaluate(
        sqs, principal_account=SANDBOX, identity_statements=[ALLOW_ALL], organization=organization
    )
    assert (blocked.outcome, blocked.target) == ("ImplicitDeny", "ou-sandbox")


def test_scp_explicit_deny_names_policy_and_sid() -> None:
    organization = org(scps={"ou-workloads": [SCP_REGIONS]})
    run = Request("ec2:RunInstances", "*", {"aws:RequestedRegion": "us-east-1"})
    decision = evaluate(
        run, principal_account=WORKLOAD, identity_statements=[ALLOW_ALL], organization=organization
    )
    assert (decision.allowed, decision.outcome, decision.layer) == (False, "Deny", "scp")
    assert (decision.policy, decision.sid, decision.target) == (
        "DenyOutsideEU",
        "DenyOutsideEU",
        "ou-workloads",
    )
    assert decision.reason.startswith(
        "SCP DenyOutsideEU Sid DenyOutsideEU (attached to ou-workloads)"
    )
    # Another OU is not under the deny; a global service is exempt from it.
    assert evaluate(
        run, principal_account=SANDBOX, identity_statements=[ALLOW_ALL], organization=organization
    ).allowed
    iam = Request("iam:CreateRole", "*", {"aws:RequestedRegion": "us-east-1"})
    assert evaluate(
        iam, principal_account=WORKLOAD, identity_statements=[ALLOW_ALL], organization=organization
    ).allowed


def test_explicit_deny_in_any_layer_beats_allows_in_all_others() -> None:
    same_account = get(WORKLOAD)
    bucket_deny = [deny("s3:GetObject", OBJECT, Principal="*", Sid="NoReads")]
    decision = evaluate(
        same_account,
        principal_account=WORKLOAD,
        identity_statements=[ALLOW_ALL],
        resource_statements=[allow(Principal="*"), *bucket_deny],
        organization=org(),
    )
    assert (decision.outcome, decision.layer, decision.sid) == ("Deny", "resource", "NoReads")
    identity_deny = evaluate(
        same_account,
        principal_account=WORKLOAD,
        identity_statements=[ALLOW_ALL, deny("s3:*", Sid="NoS3")],
        resource_statements=[allow(Principal="*")],
    )
    assert (identity_deny.outcome, identity_deny.layer) == ("Deny", "identity")
    assert identity_deny.reason == "identity policy Sid NoS3 explicitly denies s3:GetObject"


def test_management_account_principals_are_not_affected_by_scps() -> None:
    # Nothing allows at the root, and the root denies outside the EU: members are blocked ...
    organization = Organization(MANAGEMENT, PATHS, scps={"r-root": [SCP_REGIONS]}, org_id=ORG_ID)
    run = Request("ec2:RunInstances", "*", {"aws:RequestedRegion": "us-east-1"})
    member = evaluate(
        run, principal_account=WORKLOAD, identity_statements=[ALLOW_ALL], organization=organization
    )
    assert not member.allowed
    # ... the management account's principals (root user included) are not.
    for principal in (role(MANAGEMENT, "admin"), f"arn:aws:iam::{MANAGEMENT}:root"):
        decision = evaluate(
            Request(run.action, run.resource, {**run.context, "aws:PrincipalArn": principal}),
            principal_account=MANAGEMENT,
            identity_statements=[ALLOW_ALL],
            organization=organization,
        )
        assert decision.allowed, decision.reason
    # A member account's root user is subject to SCPs.
    member_root = Request(
        run.action, "*", {**run.context, "aws:PrincipalArn": f"arn:aws:iam::{WORKLOAD}:root"}
    )
    assert not evaluate(
        member_root,
        principal_account=WORKLOAD,
        identity_statements=[ALLOW_ALL],
        organization=organization,
    ).allowed


def test_scps_do_not_apply_to_principals_outside_the_organization() -> None:
    deny_s3 = Policy("DenyS3", (deny("s3:*", Sid="NoS3"),))
    organization = org(scps={"r-root": [deny_s3]})
    kwargs: dict[str, Any] = {
        "resource_account": WORKLOAD,
        "identity_statements": [ALLOW_ALL],
        "resource_statements": [allow("s3:GetObject", Principal="*")],
        "organization": organization,
    }
    assert evaluate(get(SANDBOX), principal_account=SANDBOX, **kwargs).layer == "scp"
    assert evaluate(get(EXTERNAL), principal_account=EXTERNAL, **kwargs).allowed


def test_service_linked_roles_are_exempt_from_scps_and_rcps() -> None:
    deny_s3 = Policy("DenyS3", (deny("s3:*", Sid="NoS3"),))
    deny_s3_rcp = Policy("DenyS3Everywhere", (deny("s3:*", Principal="*", Sid="NoS3"),))
    organization = org(scps={"r-root": [deny_s3]}, rcps={"r-root": [deny_s3_rcp]})
    slr = get(WORKLOAD, "aws-service-role/macie.amazonaws.com/AWSServiceRoleForAmazonMacie")
    kwargs: dict[str, Any] = {
        "principal_account": WORKLOAD,
        "identity_statements": [ALLOW_ALL],
        "organization": organization,
    }
    blocked = evaluate(slr, **kwargs)
    assert (blocked.outcome, blocked.layer, blocked.policy) == ("Deny", "rcp", "DenyS3Everywhere")
    assert evaluate(slr, principal_is_service_linked_role=True, **kwargs).allowed
    # Exempt from the SCP on its own, too (no RCP in the way).
    scp_only = org(scps={"r-root": [deny_s3]})
    assert evaluate(slr, **{**kwargs, "organization": scp_only}).layer == "scp"
    assert evaluate(
        slr, principal_is_service_linked_role=True, **{**kwargs, "organization": scp_only}
    ).allowed
    # Identity policies still decide: an SLR gets only what its policy allows.
    assert not evaluate(
        slr,
        principal_account=WORKLOAD,
        organization=organization,
        principal_is_service_linked_role=True,
    ).allowed


def test_rcp_denies_a_principal_from_another_organization_on_s3() -> None:
    organization = org(rcps={"r-root": [RCP_PERIMETER]})
    bucket_policy = [
        allow(
            "s3:GetObject",
            f"{BUCKET}/*",
            Principal={"AWS": [f"arn:aws:iam::{EXTERNAL}:root", WORKLOAD, SANDBOX]},
        )
    ]
    kwargs: dict[str, Any] = {
        "resource_account": WORKLOAD,
        "identity_statements": [ALLOW_ALL],
        "resource_statements": bucket_policy,
        "organization": organization,
    }
    outside = evaluate(get(EXTERNAL), principal_account=EXTERNAL, **kwargs)
    assert (outside.allowed, outside.outcome, outside.layer) == (False, "Deny", "rcp")
    assert outside.reason.startswith(
        "RCP IdentityPerimeter Sid EnforceOrgIdentities (attached to r-root)"
    )
    # Inside the organization, cross-account: the bucket policy and the identity policy allow.
    inside = evaluate(get(SANDBOX), principal_account=SANDBOX, **kwargs)
    assert inside.allowed, inside.reason
    assert inside.reason.endswith("(cross-account)")
    # Without the RCP, the bucket policy alone opens the bucket to the other organization.
    assert evaluate(
        get(EXTERNAL), principal_account=EXTERNAL, **{**kwargs, "organization": org()}
    ).allowed
    # The other organization's own org ID does not pass the perimeter either.
    foreign = get(EXTERNAL, **{"aws:PrincipalOrgID": "o-other"})
    assert evaluate(foreign, principal_account=EXTERNAL, **kwargs).layer == "rcp"


def test_rcp_does_not_cover_services_outside_the_documented_list() -> None:
    deny_everything = Policy("DenyOutsiders", ({**RCP_PERIMETER.statements[0], "Action": "*"},))
    organization = org(rcps={"r-root": [deny_everything]})
    topic = f"arn:aws:sns:eu-west-1:{WORKLOAD}:alerts"
    publish = Request("sns:Publish", topic, {"aws:PrincipalArn": role(EXTERNAL)})
    topic_policy = [allow("sns:Publish", topic, Principal={"AWS": EXTERNAL})]
    decision = evaluate(
        publish,
        principal_account=EXTERNAL,
        resource_account=WORKLOAD,
        identity_statements=[ALLOW_ALL],
        resource_statements=topic_policy,
        organization=organization,
    )
    assert decision.allowed, decision.reason
    assert "sns" not in RCP_SUPPORTED_SERVICES
    # The same RCP on a covered service (SQS) denies.
    queue = f"arn:aws:sqs:eu-west-1:{WORKLOAD}:jobs"
    send = Request("sqs:SendMessage", queue, {"aws:PrincipalArn": role(EXTERNAL)})
    queue_policy = [allow("sqs:SendMessage", queue, Principal={"AWS": EXTERNAL})]
    blocked = evaluate(
        send,
        principal_account=EXTERNAL,
        resource_account=WORKLOAD,
        identity_statements=[ALLOW_ALL],
        resource_statements=queue_policy,
        organization=organization,
    )
    assert blocked.layer == "rcp"
    # kms:RetireGrant is not restricted by RCPs even under kms:*.
    key = f"arn:aws:kms:eu-west-1:{WORKLOAD}:key/1"
    for action, restricted in (("kms:Decrypt", True), ("kms:RetireGrant", False)):
        request = Request(action, key, {"aws:PrincipalArn": role(EXTERNAL)})
        result = evaluate(
            request,
            principal_account=EXTERNAL,
            resource_account=WORKLOAD,
            identity_statements=[ALLOW_ALL],
            resource_statements=[allow("kms:*", Principal={"AWS": EXTERNAL})],
            organization=organization,
        )
        assert (result.layer == "rcp") is restricted, action


def test_rcps_apply_to_member_resources_whoever_calls_but_not_to_management_resources() -> None:
    no_deletes = Policy("NoDeletes", (deny("s3:DeleteObject", Principal="*", Sid="Keep"),))
    organization = org(rcps={"ou-workloads": [no_deletes]})
    delete = Request("s3:DeleteObject", OBJECT, {"aws:PrincipalArn": role(MANAGEMENT, "admin")})
    everyone = [allow("s3:*", Principal="*")]
    member_bucket = evaluate(
        delete,
        principal_account=MANAGEMENT,
        resource_account=WORKLOAD,
        identity_statements=[ALLOW_ALL],
        resource_statements=everyone,
        organization=organization,
    )
    assert (member_bucket.outcome, member_bucket.layer, member_bucket.target) == (
        "Deny",
        "rcp",
        "ou-workloads",
    )
    # A bucket in the management account: RCPs do not apply, even one attached at the root.
    at_root = org(rcps={"r-root": [no_deletes]})
    own = evaluate(
        delete, principal_account=MANAGEMENT, identity_statements=[ALLOW_ALL], organization=at_root
    )
    assert own.allowed
    # A bucket in another OU is not under the OU's RCP.
    sandbox = evaluate(
        delete,
        principal_account=MANAGEMENT,
        resource_account=SANDBOX,
        identity_statements=[ALLOW_ALL],
        resource_statements=everyone,
        organization=organization,
    )
    assert sandbox.allowed


def test_rcp_lets_aws_services_through_when_the_policy_says_so() -> None:
    organization = org(rcps={"r-root": [RCP_PERIMETER]})
    delivery = Request(
        "s3:PutObject",
        OBJECT,
        {
            "aws:PrincipalServiceName": "cloudtrail.amazonaws.com",
            "aws:PrincipalIsAWSService": "true",
        },
    )
    bucket_policy = [
        allow("s3:PutObject", f"{BUCKET}/*", Principal={"Service": "cloudtrail.amazonaws.com"})
    ]
    decision = evaluate(
        delivery,
        principal_account=None,
        resource_account=WORKLOAD,
        resource_statements=bucket_policy,
        organization=organization,
    )
    assert decision.allowed, decision.reason
    assert (decision.layer, decision.reason.endswith("(an AWS service principal)")) == (
        "resource",
        True,
    )
    # Without a bucket policy grant, a service principal has nothing to be allowed by.
    none = evaluate(
        delivery, principal_account=None, resource_account=WORKLOAD, organization=organization
    )
    assert (none.outcome, none.layer) == ("ImplicitDeny", "resource")
    with pytest.raises(ValueError, match="principal_account"):
        evaluate(delivery, principal_account=None, identity_statements=[ALLOW_ALL])


def test_same_account_either_policy_suffices_cross_account_both_are_needed() -> None:
    bucket_policy = [
        allow(
            "s3:GetObject",
            f"{BUCKET}/*",
            Principal={"AWS": [role(WORKLOAD), role(SANDBOX)]},
            Sid="Readers",
        )
    ]
    identity = [allow("s3:GetObject", f"{BUCKET}/*", Sid="ReadNotes")]
    organization = org()

    def run(
        account: str,
        identity_statements: list[dict[str, Any]],
        resource_statements: list[dict[str, Any]],
    ) -> evaluator.Decision:
        return evaluate(
            get(account),
            principal_account=account,
            resource_account=WORKLOAD,
            identity_statements=identity_statements,
            resource_statements=resource_statements,
            organization=organization,
        )

    assert run(WORKLOAD, identity, []).allowed
    by_bucket = run(WORKLOAD, [], bucket_policy)
    assert (by_bucket.allowed, by_bucket.layer, by_bucket.sid) == (True, "resource", "Readers")
    nothing = run(WORKLOAD, [], [])
    assert (nothing.outcome, nothing.layer) == ("ImplicitDeny", "implicit")
    assert nothing.reason.startswith("implicit deny")
    assert run(SANDBOX, identity, bucket_policy).allowed
    only_identity = run(SANDBOX, identity, [])
    assert (only_identity.outcome, only_identity.layer) == ("ImplicitDeny", "resource")
    only_bucket = run(SANDBOX, [], bucket_policy)
    assert (only_bucket.outcome, only_bucket.layer) == ("ImplicitDeny", "identity")


def test_evaluate_fills_account_and_organization_keys_unless_given() -> None:
    probe = {
        "Effect": "Allow",
        "Action": "*",
        "Resource": "*",
        "Condition": {
            "StringEquals": {"aws:PrincipalOrgID": ORG_ID, "aws:ResourceAccount": WORKLOAD}
        },
    }
    decision = evaluate(
        get(SANDBOX),
        principal_account=SANDBOX,
        resource_account=WORKLOAD,
        identity_statements=[probe],
        resource_statements=[allow(Principal="*")],
        organization=org(),
    )
    assert decision.allowed
    paths = {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": "o-example/r-root/ou-sandbox/*"}}
    scoped = [allow(Condition=paths)]
    assert evaluate(
        get(SANDBOX), principal_account=SANDBOX, identity_statements=scoped, organization=org()
    ).allowed
    assert not evaluate(
        get(WORKLOAD), principal_account=WORKLOAD, identity_statements=scoped, organization=org()
    ).allowed
    explicit = get(SANDBOX, **{"aws:PrincipalOrgID": "o-other"})
    assert not evaluate(
        explicit, principal_account=SANDBOX, identity_statements=[probe], organization=org()
    ).allowed
    assert explicit.context == {
        "aws:PrincipalArn": role(SANDBOX),
        "aws:PrincipalOrgID": "o-other",
    }  # not mutated


def test_organization_is_checked_when_built() -> None:
    with pytest.raises(ValueError, match="must end with the account"):
        Organization(MANAGEMENT, {WORKLOAD: ("r-root", "ou-workloads")})
    custom_allow = Policy(
        "AllowS3", ({"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"},)
    )
    with pytest.raises(ValueError, match="Allow is supported only in RCPFullAWSAccess"):
        Organization(MANAGEMENT, PATHS, rcps={"r-root": [custom_allow]})
    # RCPFullAWSAccess cannot be detached: a target with no RCP listed still passes RCP evaluation.
    organization = Organization(
        MANAGEMENT, PATHS, scps={t: [FULL_AWS_ACCESS] for p in PATHS.values() for t in p}
    )
    assert evaluate(
        get(WORKLOAD),
        principal_account=WORKLOAD,
        identity_statements=[ALLOW_ALL],
        organization=organization,
    ).allowed
    # Policy types not enabled: no SCP evaluation at all.
    disabled = Organization(MANAGEMENT, PATHS, scps_enabled=False)
    assert evaluate(
        get(WORKLOAD),
        principal_account=WORKLOAD,
        identity_statements=[ALLOW_ALL],
        organization=disabled,
    ).allowed
