"""An emulated AWS account for preflight: in-process moto, Stubbers where moto has no answer.

moto 5.2.5 has no ``lambda:GetAccountSettings`` (HTTP 404), no IAM Access Analyzer (404) and no
Bedrock ``GetFoundationModel``/``GetInferenceProfile``/``ListEnforcedGuardrailsConfiguration``
(NotImplementedError): those three clients are ``botocore.stub.Stubber``s, which also validate
every request and canned response against the pinned botocore's service models. Everything
else (STS, EC2, Config, GuardDuty, Security Hub, Macie, Inspector, Logs, SSM, CloudFormation)
is moto. moto starts with Macie enabled; a clean account disables it.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from preflight.checks import platform_models
from preflight.plan import Plan, build_plan
from preflight.results import CLIENT_CONFIG, Clients, Context, Result
from preflight.runner import run
from tests.conftest import Synthesized

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "preflight",
    "AWS_SECRET_ACCESS_KEY": "preflight",
    "AWS_SESSION_TOKEN": "preflight",
}
BOOTSTRAP_PARAMETER = "/cdk-bootstrap/hnb659fds/version"
STUBBED = ("lambda", "accessanalyzer", "bedrock")
"""The clients moto cannot answer for preflight (see the module docstring)."""


def bootstrap_template(version: str) -> str:
    """A stand-in CDKToolkit stack: just the version parameter that ``cdk bootstrap`` writes."""
    return json.dumps(
        {
            "Resources": {
                "Version": {
                    "Type": "AWS::SSM::Parameter",
                    "Properties": {"Name": BOOTSTRAP_PARAMETER, "Type": "String", "Value": version},
                }
            }
        }
    )


def seed_clean(client: Callable[[str], Any], version: str = "30") -> None:
    """What a clean, bootstrapped account looks like (moto starts with Macie enabled)."""
    client("cloudformation").create_stack(
        StackName="CDKToolkit", TemplateBody=bootstrap_template(version)
    )
    client("macie2").disable_macie()


def without_resources(plan: Plan, kind: str) -> Plan:
    """The plan as if the templates did not declare resources of ``kind``."""
    return dataclasses.replace(plan, resources=tuple(r for r in plan.resources if r.type != kind))


def with_env(plan: Plan, **changes: Any) -> Plan:
    """The plan with config values replaced (bypassing validation: tests only)."""
    return dataclasses.replace(plan, env=dataclasses.replace(plan.env, **changes))


@dataclass
class Account:
    """One emulated account and region, with the stubbed clients preflight will use."""

    plan: Plan
    session: boto3.session.Session
    stubbed: dict[str, Any] = field(default_factory=dict)
    stubs: dict[str, Stubber] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for service in STUBBED:
            client = self.session.client(
                service, region_name=self.plan.env.region, config=CLIENT_CONFIG
            )
            self.stubbed[service] = client
            self.stubs[service] = Stubber(client)
            self.stubs[service].activate()

    def client(self, service: str) -> Any:
        """A moto client of the account, to seed it."""
        return self.session.client(service, region_name=self.plan.env.region)

    def queue(
        self,
        *,
        limits: tuple[int, int] = (1000, 1000),
        lambda_error: str | None = None,
        functions: tuple[str, ...] = (),
        analyzers: tuple[str, ...] = (),
        logging: dict[str, Any] | None = None,
        enforced: tuple[str, ...] = (),
        missing_models: tuple[str, ...] = (),
    ) -> None:
        """Queue the stubbed answers, in the order the checks ask; the defaults are clean."""
        env = self.plan.env
        lam, analyzer, bedrock = (self.stubs[s] for s in STUBBED)
        if lambda_error:
            lam.add_client_error("get_account_settings", lambda_error, "denied for test")
        else:
            limit, unreserved = limits
            lam.add_response(
                "get_account_settings",
                {
                    "AccountLimit": {
                        "ConcurrentExecutions": limit,
                        "UnreservedConcurrentExecutions": unreserved,
                    }
                },
            )
            lam.add_response(
                "list_functions", {"Functions": [{"FunctionName": n} for n in functions]}
            )
        analyzer.add_response(
            "list_analyzers",
            {
                "analyzers": [
                    {
                        "arn": f"arn:aws:access-analyzer:{env.region}:{env.account}:analyzer/{n}",
                        "name": n,
                        "type": "ACCOUNT",
                        "createdAt": "2026-01-01T00:00:00Z",
                        "status": "ACTIVE",
                    }
                    for n in analyzers
                ]
            },
            {"type": "ACCOUNT"},
        )
        if self.plan.of_type("Custom::BedrockInvocationLogging"):
            bedrock.add_response(
                "get_model_invocation_logging_configuration",
                {"loggingConfig": logging} if logging else {},
            )
        if self.plan.of_type("AWS::Bedrock::EnforcedGuardrailConfiguration"):
            bedrock.add_response(
                "list_enforced_guardrails_configuration",
                {
                    "guardrailsConfig": [
                        {"configId": f"cfg-{g}", "guardrailId": g, "guardrailVersion": "1"}
                        for g in enforced
                    ]
                },
            )
        for model in platform_models(env):
            if model in missing_models:
                bedrock.add_client_error(
                    "get_foundation_model",
                    "ResourceNotFoundException",
                    "The model does not exist",
                    expected_params={"modelIdentifier": model},
                )
                continue
            bedrock.add_response(
                "get_foundation_model",
                {
                    "modelDetails": {
                        "modelArn": f"arn:aws:bedrock:{env.region}::foundation-model/{model}",
                        "modelId": model,
                        "modelLifecycle": {"status": "ACTIVE"},
                    }
                },
                {"modelIdentifier": model},
            )

    def run(self, plan: Plan | None = None, *, verify: bool = True) -> dict[str, Result]:
        """Run every check through the stubbed and moto clients; results by check name."""
        context = Context(
            plan or self.plan, Clients(self.session, self.plan.env.region, self.stubbed)
        )
        results = {r.name: r for r in run(context)}
        if verify:
            for stub in self.stubs.values():
                stub.assert_no_pending_responses()
        return results


@pytest.fixture(scope="session")
def plans(synthesized: Synthesized) -> dict[str, Plan]:
    """Each environment's plan, from the session's synthesized assembly."""
    return {
        env.name: build_plan(env, [a for a in synthesized.artifacts if a.stage == env.name])
        for env in synthesized.config.environments
    }


@pytest.fixture
def fake_aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No real AWS settings leak in: fake credentials, no profile, endpoint or metadata probe."""
    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key)
    for key, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def account_of(
    plans: dict[str, Plan], monkeypatch: pytest.MonkeyPatch, fake_aws_env: None
) -> Iterator[Callable[..., Account]]:
    """Opens the account of an environment in moto (``caller`` pretends to be another)."""
    with mock_aws():

        def open_account(name: str = "dev", *, caller: str = "", clean: bool = True) -> Account:
            plan = plans[name]
            monkeypatch.setenv("MOTO_ACCOUNT_ID", caller or plan.env.account)
            account = Account(plan, boto3.session.Session(region_name=plan.env.region))
            if clean:
                seed_clean(account.client)
            return account

        yield open_account


@pytest.fixture
def account(account_of: Callable[..., Account]) -> Account:
    """dev's account, clean and bootstrapped."""
    return account_of("dev")
