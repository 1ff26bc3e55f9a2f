"""The organization policies, created and attached in moto from the synthesized templates.

moto's Organizations backend stands in for the management account: the organization, its OUs
(named as in cdk.json; moto chooses the IDs, mapped here from the config's) and the accounts
are created, then every ``AWS::Organizations::Policy`` of the management stage's templates is
created with its exact content and attached to the OUs its ``TargetIds`` name, and the
attachments are read back. CloudFormation itself is not run here (moto's CloudFormation has no
``AWS::Organizations::Policy``): the test does what the resource handler does, call for call.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from platform_config import load_config
from secure_constructs.organization.policy_document import MAX_ATTACHED_PER_TARGET
from tests.conftest import SHIPPED_CONTEXT, Synthesized, resources_of

POLICY_TYPES = ("SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY", "AISERVICES_OPT_OUT_POLICY")


def _policies(synth: Synthesized) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for artifact in synth.artifacts:
        if artifact.stage == "management":
            for resource in resources_of(
                artifact.template(), "AWS::Organizations::Policy"
            ).values():
                found.append(resource["Properties"])
    return found


@pytest.fixture(scope="module")
def organization(org_synthesized: Synthesized) -> Iterator[dict[str, Any]]:
    org = load_config(SHIPPED_CONTEXT).organization
    assert org is not None
    with mock_aws():
        client = boto3.client("organizations", region_name="us-east-1")
        client.create_organization(FeatureSet="ALL")
        root = client.list_roots()["Roots"][0]["Id"]
        for policy_type in POLICY_TYPES:
            client.enable_policy_type(RootId=root, PolicyType=policy_type)
        ou_ids = {
            config_id: client.create_organizational_unit(ParentId=root, Name=name)[
                "OrganizationalUnit"
            ]["Id"]
            for name, config_id in org.organizational_units
        }
        accounts: dict[str, str] = {}
        for env, ou_name in org.environment_ous:
            status = client.create_account(AccountName=env, Email=f"{env}@example.com")
            account = status["CreateAccountStatus"]["AccountId"]
            client.move_account(
                AccountId=account,
                SourceParentId=root,
                DestinationParentId=ou_ids[org.ou_id(ou_name)],
            )
            accounts[env] = account
        created: dict[str, str] = {}
        for props in _policies(org_synthesized):
            policy = client.create_policy(
                Content=json.dumps(props["Content"]),
                Description=props["Description"],
                Name=props["Name"],
                Type=props["Type"],
            )["Policy"]["PolicySummary"]
            created[props["Name"]] = policy["Id"]
            for target in props["TargetIds"]:
                client.attach_policy(PolicyId=policy["Id"], TargetId=ou_ids[target])
        yield {
            "client": client,
            "root": root,
            "ou_ids": ou_ids,
            "accounts": accounts,
            "created": created,
            "config": org,
        }


def test_every_policy_type_in_the_templates_is_modelled(org_synthesized: Synthesized) -> None:
    assert {p["Type"] for p in _policies(org_synthesized)} <= set(POLICY_TYPES)


def test_every_policy_is_attached_to_exactly_its_targets(
    organization: dict[str, Any], org_synthesized: Synthesized
) -> None:
    client = organization["client"]
    for props in _policies(org_synthesized):
        policy_id = organization["created"][props["Name"]]
        targets = client.list_targets_for_policy(PolicyId=policy_id)["Targets"]
        assert sorted(t["TargetId"] for t in targets) == sorted(
            organization["ou_ids"][t] for t in props["TargetIds"]
        )
        stored = client.describe_policy(PolicyId=policy_id)["Policy"]
        assert json.loads(stored["Content"]) == props["Content"]
        assert stored["PolicySummary"]["Type"] == props["Type"]


def test_each_workload_ou_holds_its_guardrails(organization: dict[str, Any]) -> None:
    client, org = organization["client"], organization["config"]
    for env, ou_name in org.environment_ous:
        ou = organization["ou_ids"][org.ou_id(ou_name)]
        scps = client.list_policies_for_target(TargetId=ou, Filter="SERVICE_CONTROL_POLICY")
        rcps = client.list_policies_for_target(TargetId=ou, Filter="RESOURCE_CONTROL_POLICY")
        opt_out = client.list_policies_for_target(TargetId=ou, Filter="AISERVICES_OPT_OUT_POLICY")
        ours = [p["Name"] for p in scps["Policies"] if not p["AwsManaged"]]
        assert sorted(ours) == sorted(
            f"secure-ml-{ou_name}-{kind}" for kind in ("baseline", "residency", "ml-genai")
        ), env
        # AWS attaches FullAWSAccess to every new OU: it counts towards the five per target.
        assert "FullAWSAccess" in [p["Name"] for p in scps["Policies"]]
        assert len(scps["Policies"]) <= MAX_ATTACHED_PER_TARGET
        assert [p["Name"] for p in rcps["Policies"] if not p["AwsManaged"]] == [
            f"secure-ml-{ou_name}-perimeter"
        ]
        assert len(rcps["Policies"]) <= MAX_ATTACHED_PER_TARGET
        assert [p["Name"] for p in opt_out["Policies"]] == ["secure-ml-ai-services-opt-out"]
        # The environment's account sits under that OU, so the policies reach it.
        parents = client.list_parents(ChildId=organization["accounts"][env])["Parents"]
        assert [p["Id"] for p in parents] == [ou]


def test_nothing_is_attached_to_the_root(organization: dict[str, Any]) -> None:
    client = organization["client"]
    ours = set(organization["created"].values())
    for policy_type in POLICY_TYPES:
        attached = client.list_policies_for_target(
            TargetId=organization["root"], Filter=policy_type
        )["Policies"]
        assert not {p["Id"] for p in attached} & ours
