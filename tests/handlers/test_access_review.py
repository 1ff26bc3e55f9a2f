"""Tests for lambda/access_review: what is reported, pagination, the report, DLQ and config."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.iam.models import AccessKeyLastUsed, iam_backends

from tests.handlers.loader import load_handler

mod = load_handler("access_review")
scan = load_handler("access_review", "access_review_scan")
reporting = load_handler("access_review", "access_review_report")

REGION = "us-east-1"
ACCOUNT = DEFAULT_ACCOUNT_ID
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sagemaker.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)
SCHEDULED_EVENT = {
    "version": "0",
    "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": ACCOUNT,
    "time": "2024-01-01T00:00:00Z",
    "region": REGION,
    "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/access-review"],
    "detail": {},
}


@dataclass
class Aws:
    iam: Any
    sns: Any
    sqs: Any
    topic_arn: str
    reports_url: str
    dlq_url: str

    def env(self, **overrides: str) -> dict[str, str]:
        values = {
            "TOPIC_ARN": self.topic_arn,
            "DLQ_URL": self.dlq_url,
            "MAX_UNUSED_DAYS": "90",
            "MAX_KEY_AGE_DAYS": "90",
        }
        values.update(overrides)
        return values

    def config(self, **overrides: str) -> Any:
        return mod.load_settings(self.env(**overrides))

    def _drain(self, url: str) -> list[dict[str, Any]]:
        bodies = []
        while True:
            messages = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                return bodies
            for message in messages:
                bodies.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    def reports(self) -> list[tuple[str, dict[str, Any]]]:
        """(subject, parsed report) for every SNS message delivered."""
        return [(m["Subject"], json.loads(m["Message"])) for m in self._drain(self.reports_url)]

    def only_report(self) -> tuple[str, dict[str, Any]]:
        sent = self.reports()
        assert len(sent) == 1, sent
        return sent[0]

    def dead_letters(self) -> list[dict[str, Any]]:
        return self._drain(self.dlq_url)

    # moto keeps these as plain attributes ("part of the public API" per moto #5927).
    def role_used_at(self, name: str, when: datetime) -> None:
        iam_backends[ACCOUNT]["aws"].get_role(name).last_used = when

    def password_used_at(self, user: str, when: datetime) -> None:
        iam_backends[ACCOUNT]["aws"].get_user(user).password_last_used = when

    def key_used_at(self, key_id: str, when: datetime) -> None:
        iam_backends[ACCOUNT]["aws"].access_keys[key_id].last_used = AccessKeyLastUsed(
            timestamp=when, service="s3", region=REGION
        )


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        iam = boto3.client("iam", region_name=REGION)
        sns = boto3.client("sns", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        topic_arn = sns.create_topic(Name="access-review")["TopicArn"]
        reports_url = sqs.create_queue(QueueName="reports")["QueueUrl"]
        reports_arn = sqs.get_queue_attributes(QueueUrl=reports_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=reports_arn)
        dlq_url = sqs.create_queue(QueueName="access-review-dlq")["QueueUrl"]
        yield Aws(iam, sns, sqs, topic_arn, reports_url, dlq_url)


@pytest.fixture
def t0() -> datetime:
    """Roughly when moto stamps the entities the test creates."""
    return datetime.now(UTC)


def populate(aws: Aws, t0: datetime) -> dict[str, str]:
    """Roles, users and keys created at t0, with use times spread after it."""
    iam = aws.iam
    for name in ("never-used", "used-long-ago", "recently-used"):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)
    aws.role_used_at("used-long-ago", t0 + timedelta(days=5))
    aws.role_used_at("recently-used", t0 + timedelta(days=95))
    iam.create_service_linked_role(AWSServiceName="sagemaker.amazonaws.com")

    for name in ("dormant", "console-user", "key-user", "old-key-user"):
        iam.create_user(UserName=name)
    iam.create_login_profile(UserName="dormant", Password="Correct-Horse-9!")
    iam.create_login_profile(UserName="console-user", Password="Correct-Horse-9!")
    aws.password_used_at("console-user", t0 + timedelta(days=95))
    keys = {
        user: iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
        for user in ("key-user", "old-key-user")
    }
    aws.key_used_at(keys["key-user"], t0 + timedelta(days=98))
    return keys


def review(aws: Aws, now: datetime, page_size: int = 100, **env: str) -> dict[str, Any]:
    result: dict[str, Any] = mod.run(
        SCHEDULED_EVENT, aws.config(**env), aws.iam, aws.sns, aws.sqs, now, page_size
    )
    return result


# ---------------------------------------------------------------------------------------------
# What is reported
# ---------------------------------------------------------------------------------------------


def test_reports_exactly_the_stale_roles_users_and_keys(aws: Aws, t0: datetime) -> None:
    keys = populate(aws, t0)
    result = review(aws, t0 + timedelta(days=100))

    subject, report = aws.only_report()
    assert subject == "Access review: 2 unused roles, 2 stale users, 2 old keys"
    assert [r["name"] for r in report["unused_roles"]] == ["never-used", "used-long-ago"]
    assert [u["name"] for u in report["stale_users"]] == ["dormant", "old-key-user"]
    assert [(k["user"], k["access_key_id"]) for k in report["old_keys"]] == [
        ("key-user", keys["key-user"]),
        ("old-key-user", keys["old-key-user"]),
    ]
    assert report["counts"] == {
        "unused_roles": 2,
        "stale_users": 2,
        "old_keys": 2,
        "roles_reviewed": 3,
        "service_linked_roles_skipped": 1,
        "users_reviewed": 4,
        "keys_reviewed": 2,
    }
    assert result["status"] == "reported"
    assert result["counts"] == report["counts"]
    assert report["thresholds"] == {"max_unused_days": 90, "max_key_age_days": 90}
    assert report["truncated"] is False

    never, long_ago = report["unused_roles"]
    assert never["last_used"] is None
    assert never["days_unused"] == 99  # created a moment after t0
    assert long_ago["days_unused"] == 95
    assert long_ago["arn"] == f"arn:aws:iam::{ACCOUNT}:role/used-long-ago"
    dormant, old_key_user = report["stale_users"]
    assert dormant["has_console_password"] is True
    assert dormant["last_activity"] is None
    assert old_key_user["has_console_password"] is False
    assert old_key_user["access_keys"] == 1
    key_user_key = report["old_keys"][0]
    assert key_user_key["status"] == "Active"
    assert key_user_key["last_used"].startswith(str((t0 + timedelta(days=98)).date()))
    assert key_user_key["age_days"] == 99
    assert "Roles unused for more than 90 days: 2." in report["summary"]


def test_service_linked_roles_are_skipped_even_when_unused(aws: Aws, t0: datetime) -> None:
    aws.iam.create_service_linked_role(AWSServiceName="sagemaker.amazonaws.com")
    aws.iam.create_service_linked_role(AWSServiceName="elasticloadbalancing.amazonaws.com")
    review(aws, t0 + timedelta(days=1000))
    subject, report = aws.only_report()
    assert report["unused_roles"] == []
    assert report["counts"]["service_linked_roles_skipped"] == 2
    assert report["counts"]["roles_reviewed"] == 0
    assert subject.startswith("Access review: 0 unused roles")


def test_nothing_stale_yet_still_sends_a_report(aws: Aws, t0: datetime) -> None:
    populate(aws, t0)
    result = review(aws, t0 + timedelta(days=10))
    subject, report = aws.only_report()
    assert subject == "Access review: 0 unused roles, 0 stale users, 0 old keys"
    assert report["unused_roles"] == report["stale_users"] == report["old_keys"] == []
    assert report["counts"]["roles_reviewed"] == 3
    assert report["counts"]["users_reviewed"] == 4
    assert "Nothing to act on." in report["summary"]
    assert result["counts"]["unused_roles"] == 0


def test_empty_account_still_sends_a_report(aws: Aws, t0: datetime) -> None:
    review(aws, t0)
    subject, report = aws.only_report()
    assert subject == "Access review: 0 unused roles, 0 stale users, 0 old keys"
    assert report["counts"]["users_reviewed"] == 0
    assert report["generated_at"] == t0.isoformat()


def test_key_age_has_its_own_threshold(aws: Aws, t0: datetime) -> None:
    aws.iam.create_user(UserName="builder")
    active = aws.iam.create_access_key(UserName="builder")["AccessKey"]["AccessKeyId"]
    inactive = aws.iam.create_access_key(UserName="builder")["AccessKey"]["AccessKeyId"]
    aws.iam.update_access_key(UserName="builder", AccessKeyId=inactive, Status="Inactive")
    aws.key_used_at(active, t0 + timedelta(days=39))
    review(aws, t0 + timedelta(days=40), MAX_UNUSED_DAYS="365", MAX_KEY_AGE_DAYS="30")
    subject, report = aws.only_report()
    assert subject == "Access review: 0 unused roles, 0 stale users, 2 old keys"
    statuses = {k["access_key_id"]: k["status"] for k in report["old_keys"]}
    assert statuses == {active: "Active", inactive: "Inactive"}


def test_thresholds_are_strictly_more_than(aws: Aws, t0: datetime) -> None:
    aws.iam.create_role(RoleName="edge", AssumeRolePolicyDocument=TRUST)
    aws.role_used_at("edge", t0)
    review(aws, t0 + timedelta(days=90))
    _, report = aws.only_report()
    assert report["unused_roles"] == []
    review(aws, t0 + timedelta(days=90, seconds=1))
    _, report = aws.only_report()
    assert [r["name"] for r in report["unused_roles"]] == ["edge"]


def test_subject_uses_singular_for_one(aws: Aws, t0: datetime) -> None:
    aws.iam.create_role(RoleName="lonely", AssumeRolePolicyDocument=TRUST)
    aws.iam.create_user(UserName="solo")
    aws.iam.create_access_key(UserName="solo")
    review(aws, t0 + timedelta(days=100))
    subject, _ = aws.only_report()
    assert subject == "Access review: 1 unused role, 1 stale user, 1 old key"


def test_naive_now_is_taken_as_utc(aws: Aws, t0: datetime) -> None:
    aws.iam.create_role(RoleName="old", AssumeRolePolicyDocument=TRUST)
    naive = (t0 + timedelta(days=100)).replace(tzinfo=None)
    review(aws, naive)
    _, report = aws.only_report()
    assert [r["name"] for r in report["unused_roles"]] == ["old"]
    assert report["generated_at"].endswith("+00:00")


# ---------------------------------------------------------------------------------------------
# Pagination
# ---------------------------------------------------------------------------------------------


def test_roles_are_read_across_pages(aws: Aws, t0: datetime) -> None:
    names = [f"role-{i:02d}" for i in range(7)]
    for name in names:
        aws.iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)
    aws.iam.create_service_linked_role(AWSServiceName="sagemaker.amazonaws.com")
    calls: list[dict[str, Any]] = []
    aws.iam.meta.events.register(
        "provide-client-params.iam.ListRoles", lambda params, **_: calls.append(dict(params))
    )
    review(aws, t0 + timedelta(days=100), page_size=2)
    _, report = aws.only_report()
    assert [r["name"] for r in report["unused_roles"]] == names
    assert report["counts"]["service_linked_roles_skipped"] == 1
    assert len(calls) == 4  # 8 roles, 2 a page
    assert all(call["MaxItems"] == 2 for call in calls)
    assert sum("Marker" in call for call in calls) == 3


def _user(name: str, created: datetime) -> dict[str, Any]:
    return {
        "Path": "/",
        "UserName": name,
        "UserId": f"AIDA{name.upper():0<17}",
        "Arn": f"arn:aws:iam::{ACCOUNT}:user/{name}",
        "CreateDate": created,
    }


def _key(user: str, key_id: str, created: datetime) -> dict[str, Any]:
    return {"UserName": user, "AccessKeyId": key_id, "Status": "Active", "CreateDate": created}


def _never_used(user: str) -> dict[str, Any]:
    return {"UserName": user, "AccessKeyLastUsed": {"ServiceName": "N/A", "Region": "N/A"}}


def _no_such_entity(stubber: Stubber, operation: str, params: dict[str, Any]) -> None:
    stubber.add_client_error(
        operation, "NoSuchEntity", "not found", http_status_code=404, expected_params=params
    )


def test_users_and_keys_are_read_across_pages(aws: Aws, t0: datetime) -> None:
    """moto does not paginate ListUsers/ListAccessKeys, so the pages are stubbed."""
    iam = boto3.client("iam", region_name=REGION)
    created = t0 - timedelta(days=400)
    key1, key2 = "AKIAAAAAAAAAAAAAAAA1", "AKIAAAAAAAAAAAAAAAA2"
    with Stubber(iam) as stub:
        stub.add_response("list_roles", {"Roles": [], "IsTruncated": False}, {"MaxItems": 2})
        stub.add_response(
            "list_users",
            {"Users": [_user("alice", created)], "IsTruncated": True, "Marker": "users-2"},
            {"MaxItems": 2},
        )
        stub.add_response(
            "list_access_keys",
            {
                "AccessKeyMetadata": [_key("alice", key1, created)],
                "IsTruncated": True,
                "Marker": "keys-2",
            },
            {"UserName": "alice", "MaxItems": 2},
        )
        stub.add_response(
            "list_access_keys",
            {"AccessKeyMetadata": [_key("alice", key2, created)], "IsTruncated": False},
            {"UserName": "alice", "MaxItems": 2, "Marker": "keys-2"},
        )
        stub.add_response("get_access_key_last_used", _never_used("alice"), {"AccessKeyId": key1})
        stub.add_response("get_access_key_last_used", _never_used("alice"), {"AccessKeyId": key2})
        _no_such_entity(stub, "get_login_profile", {"UserName": "alice"})
        stub.add_response(
            "list_users",
            {"Users": [_user("bob", created)], "IsTruncated": False},
            {"MaxItems": 2, "Marker": "users-2"},
        )
        stub.add_response(
            "list_access_keys",
            {"AccessKeyMetadata": [], "IsTruncated": False},
            {"UserName": "bob", "MaxItems": 2},
        )
        stub.add_response(
            "get_login_profile",
            {"LoginProfile": {"UserName": "bob", "CreateDate": created}},
            {"UserName": "bob"},
        )
        found = mod.review_access(iam, aws.config(), t0, page_size=2)
        stub.assert_no_pending_responses()
    assert [u["name"] for u in found.stale_users] == ["alice", "bob"]
    assert [u["has_console_password"] for u in found.stale_users] == [False, True]
    assert [k["access_key_id"] for k in found.old_keys] == [key1, key2]
    assert found.keys_reviewed == 2


# ---------------------------------------------------------------------------------------------
# Failures: IAM errors raise (transient), deletions mid-run are skipped, bad events dead-letter
# ---------------------------------------------------------------------------------------------


def test_iam_throttling_raises_and_no_report_is_sent(aws: Aws, t0: datetime) -> None:
    iam = boto3.client("iam", region_name=REGION)
    with Stubber(iam) as stub:
        stub.add_client_error("list_roles", "Throttling", "Rate exceeded", http_status_code=400)
        with pytest.raises(ClientError, match="Throttling"):
            mod.run(SCHEDULED_EVENT, aws.config(), iam, aws.sns, aws.sqs, t0)
    assert aws.reports() == []
    assert aws.dead_letters() == []


def test_get_role_access_denied_raises(aws: Aws, t0: datetime) -> None:
    iam = boto3.client("iam", region_name=REGION)
    role = {
        "Path": "/",
        "RoleName": "app",
        "RoleId": "AROAAAAAAAAAAAAAAAAAA",
        "Arn": f"arn:aws:iam::{ACCOUNT}:role/app",
        "CreateDate": t0,
    }
    with Stubber(iam) as stub:
        stub.add_response("list_roles", {"Roles": [role], "IsTruncated": False})
        stub.add_client_error("get_role", "AccessDenied", "denied", http_status_code=403)
        with pytest.raises(ClientError, match="AccessDenied"):
            mod.review_access(iam, aws.config(), t0)


def test_role_and_user_deleted_mid_review_are_skipped(aws: Aws, t0: datetime) -> None:
    iam = boto3.client("iam", region_name=REGION)
    old = t0 - timedelta(days=400)
    role = {
        "Path": "/",
        "RoleName": "gone",
        "RoleId": "AROAAAAAAAAAAAAAAAAAA",
        "Arn": f"arn:aws:iam::{ACCOUNT}:role/gone",
        "CreateDate": old,
    }
    with Stubber(iam) as stub:
        stub.add_response("list_roles", {"Roles": [role], "IsTruncated": False})
        _no_such_entity(stub, "get_role", {"RoleName": "gone"})
        stub.add_response("list_users", {"Users": [_user("ghost", old)], "IsTruncated": False})
        _no_such_entity(stub, "list_access_keys", {"UserName": "ghost", "MaxItems": 100})
        found = mod.review_access(iam, aws.config(), t0)
        stub.assert_no_pending_responses()
    assert found.unused_roles == [] and found.stale_users == []
    assert found.roles_reviewed == 0 and found.users_reviewed == 0


def test_publish_to_missing_topic_raises(aws: Aws, t0: datetime) -> None:
    missing = f"arn:aws:sns:{REGION}:{ACCOUNT}:no-such-topic"
    with pytest.raises(ClientError):
        review(aws, t0, TOPIC_ARN=missing)


@pytest.mark.parametrize("bad_event", [["list"], "text", None, 42])
def test_non_dict_event_goes_to_dlq_without_a_review(
    aws: Aws, t0: datetime, bad_event: Any
) -> None:
    iam = boto3.client("iam", region_name=REGION)
    with Stubber(iam):  # no responses queued: any IAM call would fail the test
        result = mod.run(bad_event, aws.config(), iam, aws.sns, aws.sqs, t0)
    assert result == {"status": "dead_lettered"}
    (letter,) = aws.dead_letters()
    assert letter["reason"].startswith("event is not a JSON object")
    assert letter["event"] == bad_event
    assert aws.reports() == []


@pytest.mark.parametrize("odd_event", [{}, {"unexpected": [1, 2]}, SCHEDULED_EVENT])
def test_any_object_event_is_accepted(aws: Aws, t0: datetime, odd_event: dict[str, Any]) -> None:
    result = mod.run(odd_event, aws.config(), aws.iam, aws.sns, aws.sqs, t0)
    assert result["status"] == "reported"
    assert len(aws.reports()) == 1
    assert aws.dead_letters() == []


# ---------------------------------------------------------------------------------------------
# Report size
# ---------------------------------------------------------------------------------------------


def test_oversized_report_is_truncated_with_exact_counts(t0: datetime) -> None:
    found = scan.Review(
        unused_roles=[{"name": f"role-{i:05d}", "arn": "x" * 150} for i in range(3000)],
        roles_reviewed=3000,
    )
    config = mod.Settings(
        topic_arn=f"arn:aws:sns:{REGION}:{ACCOUNT}:t",
        dlq_url=f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/q",
        max_unused_days=90,
        max_key_age_days=90,
    )
    report = mod.build_report(found, config, t0)
    assert len(json.dumps(report)) > reporting.SNS_MESSAGE_MAX
    body = mod.fit_message(report)
    assert len(body.encode()) <= reporting.SNS_MESSAGE_MAX
    parsed = json.loads(body)
    assert parsed["truncated"] is True
    assert parsed["counts"]["unused_roles"] == 3000
    assert 0 < len(parsed["unused_roles"]) < 3000
    assert parsed["unused_roles"][0]["name"] == "role-00000"


# ---------------------------------------------------------------------------------------------
# Configuration and entry point
# ---------------------------------------------------------------------------------------------

GOOD_ENV = {
    "TOPIC_ARN": f"arn:aws:sns:{REGION}:{ACCOUNT}:t",
    "DLQ_URL": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/q",
    "MAX_UNUSED_DAYS": "90",
    "MAX_KEY_AGE_DAYS": "90",
}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"MAX_UNUSED_DAYS": ""}, "MAX_UNUSED_DAYS is not set"),
        ({"MAX_UNUSED_DAYS": "0"}, "MAX_UNUSED_DAYS='0' is invalid"),
        ({"MAX_UNUSED_DAYS": "ninety"}, "MAX_UNUSED_DAYS='ninety' is invalid"),
        ({"MAX_UNUSED_DAYS": "-5"}, "MAX_UNUSED_DAYS='-5' is invalid"),
        ({"MAX_KEY_AGE_DAYS": "1.5"}, "MAX_KEY_AGE_DAYS='1.5' is invalid"),
        ({"MAX_KEY_AGE_DAYS": "99999"}, "MAX_KEY_AGE_DAYS='99999' is invalid"),
        ({"TOPIC_ARN": "arn:aws:sqs:us-east-1:123456789012:q"}, "TOPIC_ARN="),
        ({"DLQ_URL": "not-a-url"}, "DLQ_URL='not-a-url' is invalid"),
    ],
)
def test_invalid_configuration_raises(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(mod.ConfigurationError, match=message.replace("'", ".")):
        mod.load_settings({**GOOD_ENV, **overrides})


def test_missing_variable_raises() -> None:
    env = dict(GOOD_ENV)
    del env["MAX_KEY_AGE_DAYS"]
    with pytest.raises(mod.ConfigurationError, match="MAX_KEY_AGE_DAYS is not set"):
        mod.load_settings(env)


def test_valid_configuration() -> None:
    config = mod.load_settings({**GOOD_ENV, "MAX_UNUSED_DAYS": " 45 "})
    assert config.max_unused_days == 45
    assert config.max_key_age_days == 90


def test_handler_end_to_end(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in aws.env().items():
        monkeypatch.setenv(name, value)
    aws.iam.create_role(RoleName="fresh", AssumeRolePolicyDocument=TRUST)
    result = mod.handler(SCHEDULED_EVENT, None)
    assert result["status"] == "reported"
    subject, report = aws.only_report()
    assert subject == "Access review: 0 unused roles, 0 stale users, 0 old keys"
    assert report["counts"]["roles_reviewed"] == 1


def test_handler_bad_config_raises_before_any_call(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in aws.env(MAX_UNUSED_DAYS="soon").items():
        monkeypatch.setenv(name, value)
    with pytest.raises(mod.ConfigurationError, match="MAX_UNUSED_DAYS"):
        mod.handler(SCHEDULED_EVENT, None)
    assert aws.reports() == []


def test_each_reported_item_is_logged(
    aws: Aws, t0: datetime, capsys: pytest.CaptureFixture[str]
) -> None:
    populate(aws, t0)
    review(aws, t0 + timedelta(days=100))
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    messages = [line["message"] for line in lines]
    assert messages.count("unused role") == 2
    assert messages.count("stale user") == 2
    assert messages.count("old access key") == 2
    assert lines[-1]["message"] == "access review published"
    assert lines[-1]["unused_roles"] == 2
