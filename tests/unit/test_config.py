"""The config loader: the shipped environments load, and every invalid value is named clearly."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from platform_config import CONTEXT_KEY, ConfigError, load_config
from tests.conftest import CDK_JSON_CONTEXT, ENV_NAMES, ROOT, raw_platform

Mutator = Callable[[dict[str, Any]], None]


def _dev(change: Callable[[dict[str, Any]], None]) -> Mutator:
    return lambda platform: change(platform["environments"]["dev"])


def _set(key: str, value: Any) -> Mutator:
    return _dev(lambda env: env.__setitem__(key, value))


def _delete(key: str) -> Mutator:
    return _dev(lambda env: env.pop(key))


DEV = f"{CONTEXT_KEY}.environments.dev"
AUDIT = f"{DEV}.audit"


def _audit(change: Callable[[dict[str, Any]], Any]) -> Mutator:
    return _dev(lambda env: change(env["audit"]))


def _cdi(change: Callable[[dict[str, Any]], Any]) -> Mutator:
    return _audit(lambda audit: change(audit["macie"]["custom_data_identifiers"][0]))


GUARD = f"{DEV}.genai.guardrail"


def _both(first: Mutator, second: Mutator) -> Mutator:
    return lambda platform: (first(platform), second(platform))[-1]


def _prod_in_dev_account(change: Callable[[dict[str, Any]], Any]) -> Mutator:
    """Move prod into dev's account and region (role ARNs follow), then apply ``change``."""

    def mutate(platform: dict[str, Any]) -> None:
        prod = platform["environments"]["prod"]
        text = json.dumps(prod).replace("222222222222", "111111111111")
        platform["environments"]["prod"] = json.loads(text)
        change(platform["environments"]["prod"])

    return mutate


def _ml(change: Callable[[dict[str, Any]], None]) -> Mutator:
    return _dev(lambda env: change(env["ml"]))


def _monitoring(change: Callable[[dict[str, Any]], None]) -> Mutator:
    def mutate(ml: dict[str, Any]) -> None:
        ml["monitoring"] = {
            "endpoint_name": "clinical-note-triage",
            "schedule_expression": "cron(0 * ? * * *)",
            "instance_type": "ml.m5.large",
            "analyzer_image_uri": (
                "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"
            ),
        }
        change(ml["monitoring"])

    return _ml(mutate)


def _genai(change: Callable[[dict[str, Any]], None]) -> Mutator:
    return _dev(lambda env: change(env["genai"]))


def _kb(change: Callable[[dict[str, Any]], Any]) -> Mutator:
    return _genai(lambda genai: change(genai["knowledge_base"]))


def _batch(change: Callable[[dict[str, Any]], Any]) -> Mutator:
    return _genai(lambda genai: change(genai["batch_inference"]))


def _phi(change: Callable[[dict[str, Any]], None]) -> Mutator:
    return _genai(lambda genai: change(genai["phi"]))


def _guard(change: Callable[[dict[str, Any]], None]) -> Mutator:
    return _genai(lambda genai: change(genai["guardrail"]))


def _bad_card() -> Path:
    """A copy of the shipped model card with one invalid value (a temporary file)."""
    card = json.loads((ROOT / "governance" / "model_card.json").read_text())
    card["intended_use"]["risk_rating"] = "Severe"
    path = Path(tempfile.mkdtemp()) / "model_card.json"
    path.write_text(json.dumps(card))
    return path


_BAD_CARD = _bad_card()


def _endpoints_without(name: str) -> str:
    """How the error shows dev's endpoint list once ``name`` is removed."""
    endpoints = CDK_JSON_CONTEXT[CONTEXT_KEY]["environments"]["dev"]["interface_endpoints"]
    return json.dumps([e for e in endpoints if e != name])


# (case id, mutation, key named in the error, value shown in the error, words of "allowed")
BAD_INPUTS: list[tuple[str, Mutator, str, str, str]] = [
    ("account-too-short", _set("account", "12345"), f"{DEV}.account", '"12345"', "12-digit"),
    ("account-not-digits", _set("account", "11111111111x"), f"{DEV}.account", '"11111111111x"', "12-digit"),
    ("account-number-type", _set("account", 111111111111), f"{DEV}.account", "111111111111", "as a string"),
    ("region-unknown", _set("region", "us-moon-1"), f"{DEV}.region", '"us-moon-1"', "supported region"),
    ("region-outside-residency", _set("region", "eu-west-1"), f"{DEV}.region", '"eu-west-1"', "allowed_regions"),
    ("allowed-region-unknown", _set("allowed_regions", ["us-east-1", "mars-1"]), f"{DEV}.allowed_regions", '"mars-1"', "supported region"),
    ("allowed-regions-empty", _set("allowed_regions", []), f"{DEV}.allowed_regions", "[]", "at least 1"),
    ("az-not-in-region", _set("availability_zones", ["us-east-1a", "us-west-2a"]), f"{DEV}.availability_zones", '"us-west-2a"', "an AZ of us-east-1"),
    ("az-letter-unknown", _set("availability_zones", ["us-east-1a", "us-east-1z"]), f"{DEV}.availability_zones", '"us-east-1z"', "us-east-1a, us-east-1b"),
    ("one-az", _set("availability_zones", ["us-east-1a"]), f"{DEV}.availability_zones", '["us-east-1a"]', "at least 2"),
    ("duplicate-az", _set("availability_zones", ["us-east-1a", "us-east-1a"]), f"{DEV}.availability_zones", '"us-east-1a"', "at most once"),
    ("cidr-garbage", _set("vpc_cidr", "10.0.0/16"), f"{DEV}.vpc_cidr", '"10.0.0/16"', "CIDR notation"),
    ("cidr-host-bits", _set("vpc_cidr", "10.0.0.1/16"), f"{DEV}.vpc_cidr", '"10.0.0.1/16"', "no host bits"),
    ("cidr-public", _set("vpc_cidr", "8.8.0.0/16"), f"{DEV}.vpc_cidr", '"8.8.0.0/16"', "private IPv4 range"),
    ("cidr-larger-than-aws-allows", _set("vpc_cidr", "10.0.0.0/8"), f"{DEV}.vpc_cidr", '"10.0.0.0/8"', "/16 or longer"),
    ("cidr-too-small", _set("vpc_cidr", "10.0.0.0/22"), f"{DEV}.vpc_cidr", '"10.0.0.0/22"', "too small: 2 AZs need"),
    ("cidr-ipv6", _set("vpc_cidr", "fd00::/56"), f"{DEV}.vpc_cidr", '"fd00::/56"', "private IPv4 range"),
    ("nat-above-az-count", _set("nat_gateways", 3), f"{DEV}.nat_gateways", "3", "from 1 to the number of availability_zones (2)"),
    ("nat-zero", _set("nat_gateways", 0), f"{DEV}.nat_gateways", "0", "from 1"),
    ("nat-bool", _set("nat_gateways", True), f"{DEV}.nat_gateways", "true", "an integer"),
    ("endpoint-unknown", _set("interface_endpoints", ["bedrock", "bedrok-runtime"]), f"{DEV}.interface_endpoints", '"bedrok-runtime"', "a known endpoint service"),
    ("endpoint-duplicate", _set("interface_endpoints", ["sts", "sts"]), f"{DEV}.interface_endpoints", '"sts"', "at most once"),
    ("endpoint-not-string", _set("interface_endpoints", [42]), f"{DEV}.interface_endpoints", "42", "list of strings"),
    ("endpoint-az-outside", _set("endpoint_availability_zones", ["us-east-1c"]), f"{DEV}.endpoint_availability_zones", '"us-east-1c"', "one of the environment's availability_zones"),
    ("endpoint-azs-empty", _set("endpoint_availability_zones", []), f"{DEV}.endpoint_availability_zones", "[]", "at least 1"),
    ("retention-invalid", _set("flow_log_retention_days", 100), f"{DEV}.flow_log_retention_days", "100", "a CloudWatch Logs retention"),
    ("email-malformed", _set("alert_email", "ops-at-example.com"), f"{DEV}.alert_email", '"ops-at-example.com"', "an email address"),
    ("email-no-tld", _set("alert_email", "ops@example"), f"{DEV}.alert_email", '"ops@example"', "an email address"),
    ("termination-protection-string", _set("termination_protection", "yes"), f"{DEV}.termination_protection", '"yes"', "true or false"),
    ("tags-missing-owner", _dev(lambda e: e["tags"].pop("owner")), f"{DEV}.tags.owner", "(missing)", "a required tag"),
    ("tags-bad-classification", _dev(lambda e: e["tags"].__setitem__("data-classification", "secret")), f"{DEV}.tags.data-classification", '"secret"', "public, internal, confidential, restricted"),
    ("tags-aws-prefix", _dev(lambda e: e["tags"].__setitem__("aws:owner", "x")), f"{DEV}.tags", '"aws:owner"', "must not start with 'aws:'"),
    ("tags-empty-value", _dev(lambda e: e["tags"].__setitem__("owner", "")), f"{DEV}.tags.owner", '""', "1-256 characters"),
    ("missing-account", _delete("account"), f"{DEV}.account", "(missing)", "required"),
    ("missing-vpc-cidr", _delete("vpc_cidr"), f"{DEV}.vpc_cidr", "(missing)", "required"),
    ("missing-tags", _delete("tags"), f"{DEV}.tags", "(missing)", "required"),
    ("unknown-key", _set("nat_gateway", 1), f"{DEV}.nat_gateway", "1", "unknown key; known: account"),
    ("environment-not-object", lambda p: p["environments"].__setitem__("dev", []), DEV, "[]", "an object"),
    ("environment-name", lambda p: p["environments"].__setitem__("Dev_1", p["environments"].pop("dev")), f"{CONTEXT_KEY}.environments.Dev_1", '"Dev_1"', "2-10 lowercase"),
    ("no-environments", lambda p: p.__setitem__("environments", {}), f"{CONTEXT_KEY}.environments", "{}", "at least one environment"),
    ("project-name", lambda p: p.__setitem__("project", "Secure_ML"), f"{CONTEXT_KEY}.project", '"Secure_ML"', "lowercase letters"),
    ("bucket-name-uppercase", _dev(lambda e: e["data"]["buckets"]["raw"].__setitem__("name", "Raw-Data")), f"{DEV}.data.buckets.raw.name", '"Raw-Data"', "must not contain uppercase letters"),
    ("bucket-name-underscore", _dev(lambda e: e["data"]["buckets"]["curated"].__setitem__("name", "curated_data")), f"{DEV}.data.buckets.curated.name", '"curated_data"', "must not contain underscores"),
    ("bucket-name-ip", _dev(lambda e: e["data"]["buckets"]["audit"].__setitem__("name", "10.1.2.3")), f"{DEV}.data.buckets.audit.name", '"10.1.2.3"', "IP address"),
    ("bucket-name-suffix", _dev(lambda e: e["data"]["buckets"]["raw"].__setitem__("name", "raw-s3alias")), f"{DEV}.data.buckets.raw.name", '"raw-s3alias"', "must not end with '-s3alias'"),
    ("bucket-name-duplicate", _dev(lambda e: (e["data"]["buckets"]["raw"].__setitem__("name", "ml-data-1"), e["data"]["buckets"]["curated"].__setitem__("name", "ml-data-1"))), f"{DEV}.data.buckets.curated.name", '"ml-data-1"', "already used by bucket raw"),
    ("lifecycle-ia-too-early", _dev(lambda e: e["data"]["buckets"]["access_logs"]["lifecycle"]["transitions"][0].__setitem__("days", 10)), f"{DEV}.data.buckets.access_logs.lifecycle", '{"transitions": [{"storage_class": "STANDARD_IA", "days": 10}, {"storage_class": "GLACIER", "days": 90}], "expiration_days": 365, "noncurrent_expiration_days": 30, "abort_incomplete_multipart_days": 7}', "only after 30 days"),
    ("lifecycle-glacier-minimum", _dev(lambda e: e["data"]["buckets"]["raw"]["lifecycle"].__setitem__("expiration_days", 100)), f"{DEV}.data.buckets.raw.lifecycle", '{"transitions": [{"storage_class": "GLACIER_IR", "days": 90}, {"storage_class": "DEEP_ARCHIVE", "days": 365}], "expiration_days": 100, "noncurrent_expiration_days": 30, "abort_incomplete_multipart_days": 7}', "minimum storage duration ends (day 545)"),
    ("lifecycle-unknown-class", _dev(lambda e: e["data"]["buckets"]["curated"]["lifecycle"]["transitions"][0].__setitem__("storage_class", "COLD")), f"{DEV}.data.buckets.curated.lifecycle", '{"transitions": [{"storage_class": "COLD", "days": 0}], "expiration_days": null, "noncurrent_expiration_days": 30, "abort_incomplete_multipart_days": 7}', "unknown storage class 'COLD'"),
    ("lifecycle-transition-shape", _dev(lambda e: e["data"]["buckets"]["curated"]["lifecycle"]["transitions"].append({"storage_class": "GLACIER"})), f"{DEV}.data.buckets.curated.lifecycle.transitions[1]", '{"storage_class": "GLACIER"}', "exactly storage_class and days"),
    ("lifecycle-missing-noncurrent", _dev(lambda e: e["data"]["buckets"]["raw"]["lifecycle"].pop("noncurrent_expiration_days")), f"{DEV}.data.buckets.raw.lifecycle.noncurrent_expiration_days", "(missing)", "required"),
    ("audit-expires-before-lock", _dev(lambda e: e["data"]["audit_object_lock"].__setitem__("days", 500)), f"{DEV}.data.buckets.audit.lifecycle.expiration_days", "400", "before the object lock retention ends (day 500)"),
    ("object-lock-mode", _dev(lambda e: e["data"]["audit_object_lock"].__setitem__("mode", "LEGAL_HOLD")), f"{DEV}.data.audit_object_lock.mode", '"LEGAL_HOLD"', "GOVERNANCE or COMPLIANCE"),
    ("object-lock-days", _dev(lambda e: e["data"]["audit_object_lock"].__setitem__("days", 0)), f"{DEV}.data.audit_object_lock.days", "0", "at least 1"),
    ("admin-arn-other-account", _dev(lambda e: e["data"].__setitem__("admin_principal_arns", ["arn:aws:iam::222222222222:role/admin"])), f"{DEV}.data.admin_principal_arns", '"arn:aws:iam::222222222222:role/admin"', "arn:aws:iam::111111111111:role/NAME"),
    ("admin-arn-user", _dev(lambda e: e["data"].__setitem__("admin_principal_arns", ["arn:aws:iam::111111111111:user/bob"])), f"{DEV}.data.admin_principal_arns", '"arn:aws:iam::111111111111:user/bob"', "an IAM role ARN"),
    ("bucket-missing", _dev(lambda e: e["data"]["buckets"].pop("model_artifacts")), f"{DEV}.data.buckets.model_artifacts", "(missing)", "required"),
    ("bucket-unknown", _dev(lambda e: e["data"]["buckets"].__setitem__("scratch", {})), f"{DEV}.data.buckets.scratch", "{}", "unknown key"),
    ("platform-unknown-key", lambda p: p.__setitem__("enviroments", {}), f"{CONTEXT_KEY}.enviroments", "{}", "unknown key"),
    # --- audit ---
    ("audit-missing", _delete("audit"), f"{DEV}.audit", "(missing)", "required: an object with access_review"),
    ("audit-unknown-key", _audit(lambda a: a.__setitem__("org_trail", True)), f"{AUDIT}.org_trail", "true", "unknown key; known: access_review"),
    ("audit-service-unknown", _audit(lambda a: a.__setitem__("account_services", ["guardduty", "detective"])), f"{AUDIT}.account_services", '"detective"', "one of config_recorder, guardduty"),
    ("audit-service-duplicate", _audit(lambda a: a.__setitem__("account_services", ["macie", "macie"])), f"{AUDIT}.account_services", '"macie"', "at most once"),
    ("audit-disable-on-delete-string", _audit(lambda a: a.__setitem__("disable_on_delete", "no")), f"{AUDIT}.disable_on_delete", '"no"', "true or false"),
    ("audit-org-trail-without-id", _audit(lambda a: a.__setitem__("organization_trail", True)), f"{AUDIT}.organization_id", "null", "an organization ID such as o-a1b2c3d4e5"),
    ("audit-org-id-malformed", _audit(lambda a: a.update(organization_trail=True, organization_id="org-123")), f"{AUDIT}.organization_id", '"org-123"', "an organization ID such as o-a1b2c3d4e5"),
    ("audit-org-id-without-org-trail", _audit(lambda a: a.__setitem__("organization_id", "o-a1b2c3d4e5")), f"{AUDIT}.organization_id", '"o-a1b2c3d4e5"', "null unless organization_trail is true"),
    ("audit-org-trail-id-absent", _audit(lambda a: (a.pop("organization_id"), a.__setitem__("organization_trail", True))), f"{AUDIT}.organization_id", "null", "an organization ID such as o-a1b2c3d4e5"),
    ("audit-trail-retention", _audit(lambda a: a.__setitem__("cloudtrail_log_retention_days", 100)), f"{AUDIT}.cloudtrail_log_retention_days", "100", "a CloudWatch Logs retention"),
    ("audit-global-region-unknown", _audit(lambda a: a.__setitem__("config_global_resources_region", "us-moon-1")), f"{AUDIT}.config_global_resources_region", '"us-moon-1"', "a supported region"),
    ("audit-recording-frequency", _audit(lambda a: a.__setitem__("config_recording_frequency", "HOURLY")), f"{AUDIT}.config_recording_frequency", '"HOURLY"', "one of CONTINUOUS, DAILY"),
    ("audit-standard-unknown", _audit(lambda a: a.__setitem__("securityhub_standards", ["nist-800-53/v/4.0.0"])), f"{AUDIT}.securityhub_standards", '"nist-800-53/v/4.0.0"', "a known standard: aws-foundational-security-best-practices/v/1.0.0"),
    ("audit-standards-without-hub", _audit(lambda a: a.__setitem__("account_services", ["guardduty"])), f"{AUDIT}.securityhub_standards", '["aws-foundational-security-best-practices/v/1.0.0", "cis-aws-foundations-benchmark/v/3.0.0"]', "empty unless account_services includes securityhub"),
    ("audit-threshold", _audit(lambda a: a.__setitem__("findings_severity_threshold", "SEVERE")), f"{AUDIT}.findings_severity_threshold", '"SEVERE"', "one of INFORMATIONAL, LOW, MEDIUM, HIGH, CRITICAL"),
    ("audit-review-cron-rate", _audit(lambda a: a["access_review"].__setitem__("schedule", "rate(7 days)")), f"{AUDIT}.access_review.schedule", '"rate(7 days)"', "an EventBridge cron expression such as cron(0 6 ? * MON *)"),
    ("audit-review-cron-fields", _audit(lambda a: a["access_review"].__setitem__("schedule", "cron(0 6 * * MON)")), f"{AUDIT}.access_review.schedule", '"cron(0 6 * * MON)"', "six fields"),
    ("audit-review-cron-both-days", _audit(lambda a: a["access_review"].__setitem__("schedule", "cron(0 6 1 * MON *)")), f"{AUDIT}.access_review.schedule", '"cron(0 6 1 * MON *)"', "exactly one of day-of-month and day-of-week must be '?'"),
    ("audit-review-cron-hour", _audit(lambda a: a["access_review"].__setitem__("schedule", "cron(0 25 ? * MON *)")), f"{AUDIT}.access_review.schedule", '"cron(0 25 ? * MON *)"', "hours field '25': 25 is outside 0-23"),
    ("audit-review-cron-name", _audit(lambda a: a["access_review"].__setitem__("schedule", "cron(0 6 ? * MONDAY *)")), f"{AUDIT}.access_review.schedule", '"cron(0 6 ? * MONDAY *)"', "day-of-week field 'MONDAY': 'MONDAY' is not accepted here"),
    ("audit-review-unused-days", _audit(lambda a: a["access_review"].__setitem__("max_unused_days", 0)), f"{AUDIT}.access_review.max_unused_days", "0", "a whole number of days, 1-3650"),
    ("audit-review-key-age-type", _audit(lambda a: a["access_review"].__setitem__("max_key_age_days", "90")), f"{AUDIT}.access_review.max_key_age_days", '"90"', "a whole number of days, 1-3650"),
    ("audit-review-missing", _audit(lambda a: a.pop("access_review")), f"{AUDIT}.access_review", "(missing)", "required: an object with max_key_age_days"),
    ("audit-macie-frequency", _audit(lambda a: a["macie"].__setitem__("finding_publishing_frequency", "HOURLY")), f"{AUDIT}.macie.finding_publishing_frequency", '"HOURLY"', "one of FIFTEEN_MINUTES, ONE_HOUR, SIX_HOURS"),
    ("audit-macie-schedule", _audit(lambda a: a["macie"].__setitem__("discovery_schedule", "YEARLY")), f"{AUDIT}.macie.discovery_schedule", '"YEARLY"', "one of DAILY, WEEKLY, MONTHLY"),
    ("audit-macie-sampling", _audit(lambda a: a["macie"].__setitem__("sampling_percentage", 0)), f"{AUDIT}.macie.sampling_percentage", "0", "an integer from 1 to 100"),
    ("audit-macie-identifiers-type", _audit(lambda a: a["macie"].__setitem__("custom_data_identifiers", {})), f"{AUDIT}.macie.custom_data_identifiers", "{}", "a list of objects"),
    ("audit-cdi-not-object", _audit(lambda a: a["macie"].__setitem__("custom_data_identifiers", ["mrn"])), f"{AUDIT}.macie.custom_data_identifiers[0]", '"mrn"', "an object with description, keywords"),
    ("audit-cdi-unknown-key", _cdi(lambda c: c.__setitem__("ignore_words", [])), f"{AUDIT}.macie.custom_data_identifiers[0].ignore_words", "[]", "unknown key; known: description"),
    ("audit-cdi-name", _cdi(lambda c: c.__setitem__("name", "MRN/2")), f"{AUDIT}.macie.custom_data_identifiers[0].name", '"MRN/2"', "letters, digits, spaces"),
    ("audit-cdi-regex-invalid", _cdi(lambda c: c.__setitem__("regex", "[0-9")), f"{AUDIT}.macie.custom_data_identifiers[0].regex", '"[0-9"', "a valid regular expression"),
    ("audit-cdi-regex-matches-empty", _cdi(lambda c: c.__setitem__("regex", "[0-9]*")), f"{AUDIT}.macie.custom_data_identifiers[0].regex", '"[0-9]*"', "must not match the empty string"),
    ("audit-cdi-regex-too-long", _cdi(lambda c: c.__setitem__("regex", "a" * 513)), f"{AUDIT}.macie.custom_data_identifiers[0].regex", '"' + "a" * 513 + '"', "1-512 characters"),
    ("audit-cdi-keyword-short", _cdi(lambda c: c.__setitem__("keywords", ["id"])), f"{AUDIT}.macie.custom_data_identifiers[0].keywords", '["id"]', "each keyword 3-90 characters"),
    ("audit-cdi-too-many-keywords", _cdi(lambda c: c.__setitem__("keywords", [f"word{i}" for i in range(51)])), f"{AUDIT}.macie.custom_data_identifiers[0].keywords", json.dumps([f"word{i}" for i in range(51)]), "at most 50 keywords"),
    ("audit-cdi-distance", _cdi(lambda c: c.__setitem__("maximum_match_distance", 301)), f"{AUDIT}.macie.custom_data_identifiers[0].maximum_match_distance", "301", "an integer from 1 to 300"),
    ("audit-cdi-description", _cdi(lambda c: c.__setitem__("description", "x" * 513)), f"{AUDIT}.macie.custom_data_identifiers[0].description", '"' + "x" * 513 + '"', "at most 512 characters"),
    ("audit-cdi-duplicate-name", _audit(lambda a: a["macie"]["custom_data_identifiers"].append(dict(a["macie"]["custom_data_identifiers"][0]))), f"{AUDIT}.macie.custom_data_identifiers[1].name", '"medical-record-number"', "each name at most once"),
    # --- ml (SageMaker) -------------------------------------------------------------------
    ("ml-missing", _delete("ml"), f"{DEV}.ml", "(missing)", "required"),
    ("ml-not-object", _set("ml", []), f"{DEV}.ml", "[]", "an object"),
    ("ml-unknown-key", _ml(lambda m: m.__setitem__("studio", {})), f"{DEV}.ml.studio", "{}", "unknown key; known: job_instance_types"),
    ("ml-endpoint-missing", _dev(lambda e: e["interface_endpoints"].remove("sagemaker.api")), f"{DEV}.interface_endpoints", _endpoints_without("sagemaker.api"), "must include sagemaker.api: Studio in VPC-only mode"),
    ("ml-profiles-not-list", _ml(lambda m: m.__setitem__("user_profiles", {})), f"{DEV}.ml.user_profiles", "{}", "a list of {name, persona}"),
    ("ml-profile-not-object", _ml(lambda m: m.__setitem__("user_profiles", ["alice"])), f"{DEV}.ml.user_profiles[0]", '"alice"', "an object with name and persona"),
    ("ml-profile-unknown-key", _ml(lambda m: m["user_profiles"][0].__setitem__("role", "x")), f"{DEV}.ml.user_profiles[0].role", '"x"', "unknown key"),
    ("ml-profile-name", _ml(lambda m: m["user_profiles"][0].__setitem__("name", "alice_smith")), f"{DEV}.ml.user_profiles[0].name", '"alice_smith"', "1-63 letters, digits and single hyphens"),
    ("ml-profile-duplicate", _ml(lambda m: m["user_profiles"][1].__setitem__("name", "data-scientist-1")), f"{DEV}.ml.user_profiles[1].name", '"data-scientist-1"', "each user profile name at most once"),
    ("ml-profile-persona", _ml(lambda m: m["user_profiles"][0].__setitem__("persona", "admin")), f"{DEV}.ml.user_profiles[0].persona", '"admin"', "one of data_scientist, mlops_engineer"),
    ("ml-instance-type", _ml(lambda m: m.__setitem__("job_instance_types", ["m5.large"])), f"{DEV}.ml.job_instance_types", '"m5.large"', "a SageMaker instance type such as ml.m5.xlarge"),
    ("ml-instance-types-empty", _ml(lambda m: m.__setitem__("job_instance_types", [])), f"{DEV}.ml.job_instance_types", "[]", "at least 1"),
    ("ml-log-retention", _ml(lambda m: m.__setitem__("log_retention_days", 100)), f"{DEV}.ml.log_retention_days", "100", "a CloudWatch Logs retention"),
    ("ml-package-group-name", _ml(lambda m: m.__setitem__("model_package_group_name", "-triage")), f"{DEV}.ml.model_package_group_name", '"-triage"', "1-63 letters, digits and single hyphens"),
    ("ml-model-card-file-missing", _ml(lambda m: m.__setitem__("model_card_file", "governance/missing.json")), f"{DEV}.ml.model_card_file", '"governance/missing.json"', "an existing model card file"),
    ("ml-model-card-content", _ml(lambda m: m.__setitem__("model_card_file", str(_BAD_CARD))), f"{DEV}.ml.model_card_file", json.dumps(str(_BAD_CARD)), 'intended_use.risk_rating = "Severe": one of High, Medium, Low, Unknown'),
    ("ml-model-card-file-type", _ml(lambda m: m.__setitem__("model_card_file", 7)), f"{DEV}.ml.model_card_file", "7", "a string"),
    ("ml-model-card-status", _ml(lambda m: m.__setitem__("model_card_status", "Published")), f"{DEV}.ml.model_card_status", '"Published"', "one of Draft, PendingReview, Approved, Archived"),
    ("ml-monitoring-not-object", _ml(lambda m: m.__setitem__("monitoring", "hourly")), f"{DEV}.ml.monitoring", '"hourly"', "null, or an object"),
    ("ml-monitoring-unknown-key", _monitoring(lambda mon: mon.__setitem__("baseline", "s3://x")), f"{DEV}.ml.monitoring.baseline", '"s3://x"', "unknown key"),
    ("ml-monitoring-endpoint", _monitoring(lambda mon: mon.__setitem__("endpoint_name", "triage endpoint")), f"{DEV}.ml.monitoring.endpoint_name", '"triage endpoint"', "a SageMaker endpoint name"),
    ("ml-monitoring-schedule", _monitoring(lambda mon: mon.__setitem__("schedule_expression", "rate(1 hour)")), f"{DEV}.ml.monitoring.schedule_expression", '"rate(1 hour)"', "a cron expression"),
    ("ml-monitoring-instance", _monitoring(lambda mon: mon.__setitem__("instance_type", "ml.c5.xlarge")), f"{DEV}.ml.monitoring.instance_type", '"ml.c5.xlarge"', "one of job_instance_types"),
    ("ml-monitoring-image-region", _monitoring(lambda mon: mon.__setitem__("analyzer_image_uri", "156813124566.dkr.ecr.us-west-2.amazonaws.com/sagemaker-model-monitor-analyzer")), f"{DEV}.ml.monitoring.analyzer_image_uri", '"156813124566.dkr.ecr.us-west-2.amazonaws.com/sagemaker-model-monitor-analyzer"', "the Model Monitor analyzer image of us-east-1"),
    ("s3-prefix-list-missing", _delete("s3_prefix_list_id"), f"{DEV}.s3_prefix_list_id", "(missing)", "required"),
    ("s3-prefix-list-malformed", _set("s3_prefix_list_id", "s3-prefix-list"), f"{DEV}.s3_prefix_list_id", '"s3-prefix-list"', "com.amazonaws.<region>.s3 managed prefix list"),
    # --- genai (Bedrock, PHI) -------------------------------------------------------------
    ("genai-missing", _delete("genai"), f"{DEV}.genai", "(missing)", "required"),
    ("genai-unknown-key", _genai(lambda g: g.__setitem__("agents", [])), f"{DEV}.genai.agents", "[]", "unknown key; known: allowed_model_ids"),
    ("genai-runtime-endpoint", _dev(lambda e: e["interface_endpoints"].remove("bedrock-runtime")), f"{DEV}.interface_endpoints", _endpoints_without("bedrock-runtime"), "must include bedrock-runtime"),
    ("genai-phi-endpoints", _dev(lambda e: e["interface_endpoints"].remove("comprehendmedical")), f"{DEV}.interface_endpoints", _endpoints_without("comprehendmedical"), "must include comprehendmedical: the PHI function"),
    ("genai-models-empty", _genai(lambda g: g.__setitem__("allowed_model_ids", [])), f"{DEV}.genai.allowed_model_ids", "[]", "at least 1"),
    ("genai-model-global-profile", _genai(lambda g: g["allowed_model_ids"].append("global.anthropic.claude-sonnet-4-20250514-v1:0")), f"{DEV}.genai.allowed_model_ids", '"global.anthropic.claude-sonnet-4-20250514-v1:0"', "data residency forbids them"),
    ("genai-model-other-geography", _genai(lambda g: g["allowed_model_ids"].append("eu.amazon.nova-pro-v1:0")), f"{DEV}.genai.allowed_model_ids", '"eu.amazon.nova-pro-v1:0"', "does not serve us-east-1"),
    ("genai-model-malformed", _genai(lambda g: g["allowed_model_ids"].append("Claude 3")), f"{DEV}.genai.allowed_model_ids", '"Claude 3"', "a foundation model ID such as"),
    ("genai-default-not-allowed", _genai(lambda g: g.__setitem__("default_model_id", "amazon.titan-text-express-v1")), f"{DEV}.genai.default_model_id", '"amazon.titan-text-express-v1"', "one of allowed_model_ids"),
    ("genai-invoker-other-account", _genai(lambda g: g.__setitem__("invoker_role_arns", ["arn:aws:iam::999999999999:role/app"])), f"{DEV}.genai.invoker_role_arns", '"arn:aws:iam::999999999999:role/app"', "arn:aws:iam::111111111111:role/NAME"),
    ("genai-invokers-empty", _genai(lambda g: g.__setitem__("invoker_role_arns", [])), f"{DEV}.genai.invoker_role_arns", "[]", "at least 1"),
    ("genai-enforce-string", _genai(lambda g: g.__setitem__("enforce_guardrail_in_account", "yes")), f"{DEV}.genai.enforce_guardrail_in_account", '"yes"', "true or false"),
    ("genai-log-retention", _genai(lambda g: g.__setitem__("log_retention_days", 10)), f"{DEV}.genai.log_retention_days", "10", "a CloudWatch Logs retention"),
    # --- genai.knowledge_base and genai.batch_inference --------------------------------------
    ("kb-not-object", _genai(lambda g: g.__setitem__("knowledge_base", "on")), f"{DEV}.genai.knowledge_base", '"on"', "an object (the knowledge base), or null for none"),
    ("kb-unknown-key", _kb(lambda k: k.__setitem__("vector_store", "opensearch")), f"{DEV}.genai.knowledge_base.vector_store", '"opensearch"', "unknown key; known: chunk_max_tokens"),
    ("kb-agent-endpoint", _dev(lambda e: e["interface_endpoints"].remove("bedrock-agent")), f"{DEV}.interface_endpoints", _endpoints_without("bedrock-agent"), "must include bedrock-agent: the knowledge-base functions"),
    ("kb-prefix-is-phi-output", _kb(lambda k: k.__setitem__("prefix", "clinical-redacted/kb/")), f"{DEV}.genai.knowledge_base.prefix", '"clinical-redacted/kb/"', "apart from genai.phi.curated_prefix (clinical-redacted/)"),
    ("kb-prefix-wildcard", _kb(lambda k: k.__setitem__("prefix", "know*/")), f"{DEV}.genai.knowledge_base.prefix", '"know*/"', "an S3 key prefix"),
    ("kb-model-not-embedding", _kb(lambda k: k.__setitem__("embedding_model_id", "anthropic.claude-3-haiku-20240307-v1:0")), f"{DEV}.genai.knowledge_base.embedding_model_id", '"anthropic.claude-3-haiku-20240307-v1:0"', "one of amazon.titan-embed-text-v1, amazon.titan-embed-text-v2:0"),
    ("kb-dimensions-unsupported", _kb(lambda k: k.__setitem__("dimensions", 768)), f"{DEV}.genai.knowledge_base.dimensions", "768", "one of 256, 512, 1024 for amazon.titan-embed-text-v2:0"),
    ("kb-dimensions-bool", _kb(lambda k: k.__setitem__("dimensions", True)), f"{DEV}.genai.knowledge_base.dimensions", "true", "one of 256, 512, 1024"),
    ("kb-results-over-max", _kb(lambda k: k.__setitem__("number_of_results", 21)), f"{DEV}.genai.knowledge_base.number_of_results", "21", "an integer from 1 to 20"),
    ("kb-max-results-over-api", _kb(lambda k: k.__setitem__("max_results", 101)), f"{DEV}.genai.knowledge_base.max_results", "101", "an integer from 1 to 100"),
    ("kb-question-over-grounding-limit", _kb(lambda k: k.__setitem__("max_question_chars", 1001)), f"{DEV}.genai.knowledge_base.max_question_chars", "1001", "an integer from 1 to 1000"),
    ("kb-chunk-over-model-limit", _kb(lambda k: k.update(embedding_model_id="cohere.embed-english-v3", chunk_max_tokens=600)), f"{DEV}.genai.knowledge_base.chunk_max_tokens", "600", "an integer from 20 to 512"),
    ("kb-overlap-zero", _kb(lambda k: k.__setitem__("chunk_overlap_percentage", 0)), f"{DEV}.genai.knowledge_base.chunk_overlap_percentage", "0", "an integer from 1 to 99"),
    ("kb-window-over-lambda-limit", _kb(lambda k: k.__setitem__("ingestion_window_seconds", 301)), f"{DEV}.genai.knowledge_base.ingestion_window_seconds", "301", "an integer from 1 to 300"),
    ("batch-not-object", _genai(lambda g: g.__setitem__("batch_inference", [])), f"{DEV}.genai.batch_inference", "[]", "an object (the batch-inference role), or null for none"),
    ("batch-input-not-redacted", _batch(lambda b: b.__setitem__("input_prefix", "training/")), f"{DEV}.genai.batch_inference.input_prefix", '"training/"', "a prefix under clinical-redacted/ or knowledge/ (redacted text only"),
    ("batch-output-overwrites-input", _batch(lambda b: b.__setitem__("output_prefix", "clinical-redacted/batch-input/out/")), f"{DEV}.genai.batch_inference.output_prefix", '"clinical-redacted/batch-input/out/"', "apart from clinical-redacted/"),
    ("batch-output-in-knowledge", _batch(lambda b: b.__setitem__("output_prefix", "knowledge/answers/")), f"{DEV}.genai.batch_inference.output_prefix", '"knowledge/answers/"', "apart from knowledge/"),
    ("batch-submitter-other-account", _batch(lambda b: b.__setitem__("submitter_role_arns", ["arn:aws:iam::999999999999:role/x"])), f"{DEV}.genai.batch_inference.submitter_role_arns", '"arn:aws:iam::999999999999:role/x"', "arn:aws:iam::111111111111:role/NAME"),
    ("batch-unknown-key", _batch(lambda b: b.__setitem__("guardrail", "x")), f"{DEV}.genai.batch_inference.guardrail", '"x"', "unknown key; known: input_prefix"),
    ("genai-logging-prefix", _genai(lambda g: g["invocation_logging"].__setitem__("s3_prefix", "/bedrock")), f"{DEV}.genai.invocation_logging.s3_prefix", '"/bedrock"', "an S3 key prefix"),
    ("genai-logging-flag", _genai(lambda g: g["invocation_logging"].__setitem__("text_data", 1)), f"{DEV}.genai.invocation_logging.text_data", "1", "true or false"),
    ("genai-logging-retention", _genai(lambda g: g["invocation_logging"].__setitem__("log_retention_days", 0)), f"{DEV}.genai.invocation_logging.log_retention_days", "0", "a CloudWatch Logs retention"),
    ("genai-logging-unknown", _genai(lambda g: g["invocation_logging"].__setitem__("video_data", True)), f"{DEV}.genai.invocation_logging.video_data", "true", "unknown key"),
    ("genai-invoke-concurrency-moved", _genai(lambda g: g["guarded_invoke"].__setitem__("reserved_concurrency", 5)), f"{DEV}.genai.guarded_invoke.reserved_concurrency", "5", "unknown key"),
    # --- deploy readiness: reservations, log groups, singletons, perimeter, invocation logs ----
    ("reserved-missing", _delete("reserved_concurrency"), f"{DEV}.reserved_concurrency", "(missing)", "an object with findings_router, access_review"),
    ("reserved-zero", _dev(lambda e: e["reserved_concurrency"].__setitem__("guarded_invoke", 0)), f"{DEV}.reserved_concurrency.guarded_invoke", "0", "an integer from 1 to 1000, or null for no reservation"),
    ("reserved-too-many", _dev(lambda e: e["reserved_concurrency"].__setitem__("phi_redaction", 1001)), f"{DEV}.reserved_concurrency.phi_redaction", "1001", "an integer from 1 to 1000, or null"),
    ("reserved-string", _dev(lambda e: e["reserved_concurrency"].__setitem__("findings_router", "5")), f"{DEV}.reserved_concurrency.findings_router", '"5"', "an integer from 1 to 1000, or null"),
    ("reserved-bool", _dev(lambda e: e["reserved_concurrency"].__setitem__("access_review", True)), f"{DEV}.reserved_concurrency.access_review", "true", "an integer from 1 to 1000, or null"),
    ("reserved-unknown-function", _dev(lambda e: e["reserved_concurrency"].__setitem__("guarded_invok", 5)), f"{DEV}.reserved_concurrency.guarded_invok", "5", "unknown key"),
    ("sagemaker-log-groups", _ml(lambda m: m.__setitem__("sagemaker_log_groups", "import")), f"{DEV}.ml.sagemaker_log_groups", '"import"', "create (the ML stack creates /aws/sagemaker/* encrypted; they must not exist yet) or adopt"),
    ("forward-access-not-a-principal", _dev(lambda e: e["data"].__setitem__("forward_access_services", ["athena"])), f"{DEV}.data.forward_access_services", '"athena"', "an AWS service principal such as athena.amazonaws.com"),
    ("invocation-logs-no-retention", _dev(lambda e: e["data"]["buckets"]["invocation_logs"]["lifecycle"].__setitem__("expiration_days", None)), f"{DEV}.data.buckets.invocation_logs.lifecycle.expiration_days", "null", "need a retention after which a deletion request can be honoured"),
    ("invocation-logs-missing", _dev(lambda e: e["data"]["buckets"].pop("invocation_logs")), f"{DEV}.data.buckets.invocation_logs", "(missing)", ""),
    ("singleton-shared-account", _prod_in_dev_account(lambda e: None), f"{CONTEXT_KEY}.environments.prod.audit.account_services", '"config_recorder"', "environments dev and prod share account 111111111111 and region us-east-1, and config_recorder exists once per account and region"),
    ("singleton-invocation-logging", _prod_in_dev_account(lambda e: e["audit"].update(account_services=["bedrock_invocation_logging"], securityhub_standards=[])), f"{CONTEXT_KEY}.environments.prod.audit.account_services", '"bedrock_invocation_logging"', "environments dev and prod share account"),
    ("singleton-enforced-guardrail", _both(_prod_in_dev_account(lambda e: e["audit"].update(account_services=[], securityhub_standards=[])), _dev(lambda e: e["genai"].__setitem__("enforce_guardrail_in_account", True))), f"{CONTEXT_KEY}.environments.prod.genai.enforce_guardrail_in_account", '"enforced_guardrail"', "environments dev and prod share account 111111111111"),
    ("genai-invoke-tokens-type", _genai(lambda g: g["guarded_invoke"].__setitem__("max_output_tokens", "4096")), f"{DEV}.genai.guarded_invoke.max_output_tokens", '"4096"', "an integer from 1"),
    ("genai-phi-prefix", _phi(lambda p: p.__setitem__("clinical_prefix", "clinical")), f"{DEV}.genai.phi.clinical_prefix", '"clinical"', "ending with '/'"),
    ("genai-phi-prefix-wildcard", _phi(lambda p: p.__setitem__("curated_prefix", "redacted/*/")), f"{DEV}.genai.phi.curated_prefix", '"redacted/*/"', "no wildcard"),
    ("genai-phi-min-score", _phi(lambda p: p.__setitem__("min_score", 1.5)), f"{DEV}.genai.phi.min_score", "1.5", "a number from 0.0 to 1.0"),
    ("genai-phi-min-score-bool", _phi(lambda p: p.__setitem__("min_score", True)), f"{DEV}.genai.phi.min_score", "true", "a number from 0.0 to 1.0"),
    ("genai-phi-redact-flag", _phi(lambda p: p.__setitem__("redact_low_score", "true")), f"{DEV}.genai.phi.redact_low_score", '"true"', "true or false"),
    ("genai-phi-max-bytes", _phi(lambda p: p.__setitem__("max_object_bytes", 0)), f"{DEV}.genai.phi.max_object_bytes", "0", "an integer from 1 to 100000000"),
    ("genai-phi-unknown", _phi(lambda p: p.__setitem__("languages", ["en"])), f"{DEV}.genai.phi.languages", '["en"]', "unknown key"),
    # --- genai.guardrail --------------------------------------------------------------------
    ("guardrail-unknown-key", _guard(lambda g: g.__setitem__("automated_reasoning", {})), f"{GUARD}.automated_reasoning", "{}", "unknown key"),
    ("guardrail-message-empty", _guard(lambda g: g.__setitem__("blocked_input_message", "")), f"{GUARD}.blocked_input_message", '""', "a string of 1-500 characters"),
    ("guardrail-message-long", _guard(lambda g: g.__setitem__("blocked_output_message", "x" * 501)), f"{GUARD}.blocked_output_message", json.dumps("x" * 501), "a string of 1-500 characters"),
    ("guardrail-filter-missing", _guard(lambda g: g["content_filters"].pop("MISCONDUCT")), f"{GUARD}.content_filters", '["HATE", "INSULTS", "PROMPT_ATTACK", "SEXUAL", "VIOLENCE"]', "all six filters configured; missing MISCONDUCT"),
    ("guardrail-filter-unknown", _guard(lambda g: g["content_filters"].__setitem__("SPAM", {"input": "LOW", "output": "LOW"})), f"{GUARD}.content_filters", '"SPAM"', "a filter type: HATE, INSULTS"),
    ("guardrail-filter-shape", _guard(lambda g: g["content_filters"].__setitem__("HATE", "HIGH")), f"{GUARD}.content_filters.HATE", '"HIGH"', "exactly input and output"),
    ("guardrail-filter-strength", _guard(lambda g: g["content_filters"]["HATE"].__setitem__("input", "EXTREME")), f"{GUARD}.content_filters.HATE.input", '"EXTREME"', "a filter strength: NONE, LOW, MEDIUM, HIGH"),
    ("guardrail-prompt-attack-output", _guard(lambda g: g["content_filters"]["PROMPT_ATTACK"].__setitem__("output", "HIGH")), f"{GUARD}.content_filters.PROMPT_ATTACK.output", '"HIGH"', "applies to input only"),
    ("guardrail-topic-name", _guard(lambda g: g["denied_topics"][0].__setitem__("name", "Diagnosis/treatment")), f"{GUARD}.denied_topics[0].name", '"Diagnosis/treatment"', "letters, digits, spaces"),
    ("guardrail-topic-duplicate", _guard(lambda g: g["denied_topics"][1].__setitem__("name", g["denied_topics"][0]["name"])), f"{GUARD}.denied_topics[1].name", '"Individual diagnosis or treatment"', "each topic name at most once"),
    ("guardrail-topic-definition", _guard(lambda g: g["denied_topics"][0].__setitem__("definition", "d" * 201)), f"{GUARD}.denied_topics[0].definition", json.dumps("d" * 201), "a string of 1-200 characters"),
    ("guardrail-topic-examples", _guard(lambda g: g["denied_topics"][0].__setitem__("examples", [f"e{i}" for i in range(6)])), f"{GUARD}.denied_topics[0].examples", "6", "at most 5 examples"),
    ("guardrail-topic-unknown", _guard(lambda g: g["denied_topics"][0].__setitem__("action", "BLOCK")), f"{GUARD}.denied_topics[0].action", '"BLOCK"', "unknown key"),
    ("guardrail-pii-unknown", _guard(lambda g: g["pii"]["block"].append("MEDICAL_RECORD")), f"{GUARD}.pii.block", '"MEDICAL_RECORD"', "a PII entity type: ADDRESS, AGE"),
    ("guardrail-pii-both", _guard(lambda g: g["pii"]["anonymize"].append("US_SOCIAL_SECURITY_NUMBER")), f"{GUARD}.pii.anonymize", '"US_SOCIAL_SECURITY_NUMBER"', "not already in pii_block"),
    ("guardrail-pii-shape", _guard(lambda g: g.__setitem__("pii", ["NAME"])), f"{GUARD}.pii", '["NAME"]', "an object with block and anonymize"),
    ("guardrail-regex-invalid", _guard(lambda g: g["regexes"][0].__setitem__("pattern", "MRN[0-9")), f"{GUARD}.regexes[0].pattern", '"MRN[0-9"', "a valid regular expression"),
    ("guardrail-regex-action", _guard(lambda g: g["regexes"][0].__setitem__("action", "NONE")), f"{GUARD}.regexes[0].action", '"NONE"', "BLOCK or ANONYMIZE"),
    ("guardrail-regex-duplicate", _guard(lambda g: g["regexes"][1].__setitem__("name", "medical-record-number")), f"{GUARD}.regexes[1].name", '"medical-record-number"', "each pattern name at most once"),
    ("guardrail-word-long", _guard(lambda g: g["words"].append("w" * 101)), f"{GUARD}.words", json.dumps("w" * 101), "a string of 1-100 characters"),
    ("guardrail-word-duplicate", _guard(lambda g: g["words"].append("DEANONYMIZE")), f"{GUARD}.words", '"DEANONYMIZE"', "each word at most once (case-insensitive)"),
    ("guardrail-grounding-high", _guard(lambda g: g["contextual_grounding"].__setitem__("grounding_threshold", 1.0)), f"{GUARD}.contextual_grounding.grounding_threshold", "1.0", "a number from 0 to 0.99, or null"),
    ("guardrail-relevance-negative", _guard(lambda g: g["contextual_grounding"].__setitem__("relevance_threshold", -0.1)), f"{GUARD}.contextual_grounding.relevance_threshold", "-0.1", "a number from 0 to 0.99, or null"),
    ("guardrail-grounding-type", _guard(lambda g: g["contextual_grounding"].__setitem__("grounding_threshold", "high")), f"{GUARD}.contextual_grounding.grounding_threshold", '"high"', "a number from 0 to 0.99, or null"),
    ("guardrail-profanity-type", _guard(lambda g: g.__setitem__("profanity_filter", "on")), f"{GUARD}.profanity_filter", '"on"', "true or false"),
]  # fmt: skip


def test_shipped_environments_load() -> None:
    config = load_config(CDK_JSON_CONTEXT)
    by_name = {env.name: env for env in config.environments}
    assert set(by_name) >= {"dev", "prod"}
    dev, prod = by_name["dev"], by_name["prod"]
    # dev is the cheap profile, prod the resilient one.
    assert (len(dev.availability_zones), dev.nat_gateways) == (2, 1)
    assert len(prod.availability_zones) == 3
    assert prod.nat_gateways == len(prod.availability_zones)
    assert prod.termination_protection and not dev.termination_protection
    for env in (dev, prod):
        assert env.region in env.allowed_regions
        assert {"owner", "cost-center", "data-classification"} <= set(env.tag_map)


def test_shipped_audit_config() -> None:
    by_name = {env.name: env for env in load_config(CDK_JSON_CONTEXT).environments}
    dev, prod = by_name["dev"].audit, by_name["prod"].audit
    for audit in (dev, prod):
        assert set(audit.account_services) == {
            "config_recorder",
            "guardduty",
            "securityhub",
            "macie",
            "inspector",
            "access_analyzer",
            "bedrock_invocation_logging",
        }
        assert not audit.organization_trail and audit.organization_id is None
        assert "aws-foundational-security-best-practices/v/1.0.0" in audit.securityhub_standards
        assert audit.macie.custom_data_identifiers[0].name == "medical-record-number"
    # dev tears down cleanly and samples; prod keeps detection on and records continuously.
    assert dev.disable_on_delete and not prod.disable_on_delete
    assert (dev.config_recording_frequency, prod.config_recording_frequency) == (
        "DAILY",
        "CONTINUOUS",
    )
    assert {"nist-800-53/v/5.0.0", "pci-dss/v/4.0.1"} <= set(prod.securityhub_standards)
    assert prod.macie.sampling_percentage == 100


def test_optional_ml_genai_settings_may_be_absent() -> None:
    # The CDK CLI drops null context values: absent must mean the same as null.
    platform = raw_platform()
    dev = platform["environments"]["dev"]
    dev["ml"].pop("monitoring")
    dev["genai"]["guardrail"]["contextual_grounding"] = {"grounding_threshold": 0.5}
    env = load_config({CONTEXT_KEY: platform}, selected="dev").environments[0]
    assert env.ml.monitoring is None
    assert env.genai.guardrail.grounding_threshold == 0.5
    assert env.genai.guardrail.relevance_threshold is None


def test_config_objects_are_frozen() -> None:
    env = load_config(CDK_JSON_CONTEXT).environments[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        env.nat_gateways = 5  # type: ignore[misc]


def test_selecting_one_environment() -> None:
    config = load_config(CDK_JSON_CONTEXT, selected="prod")
    assert [env.name for env in config.environments] == ["prod"]


# A name no one will add as an environment (names are 2-10 lowercase letters or digits, so this
# one can never be configured), and the list of names as cdk.json has it.
UNKNOWN_ENV = "Not-An-Env"
KNOWN_ENVS = ", ".join(sorted(ENV_NAMES))


def test_unknown_environment_selected() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(CDK_JSON_CONTEXT, selected=UNKNOWN_ENV)
    assert str(caught.value) == f'environment = "{UNKNOWN_ENV}": one of {KNOWN_ENVS}'


def test_missing_platform_block() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({})
    assert str(caught.value).startswith(f"{CONTEXT_KEY} = (missing): required")


@pytest.mark.parametrize(
    ("mutate", "key", "shown", "allowed"),
    [case[1:] for case in BAD_INPUTS],
    ids=[case[0] for case in BAD_INPUTS],
)
def test_bad_input_names_key_value_and_allowed(
    mutate: Mutator, key: str, shown: str, allowed: str
) -> None:
    platform = raw_platform()
    mutate(platform)
    with pytest.raises(ConfigError) as caught:
        load_config({CONTEXT_KEY: platform})
    message = str(caught.value)
    assert caught.value.key == key
    assert message.startswith(f"{key} = {shown}: "), message
    assert allowed in message, message
    assert "\n" not in message


def test_too_small_cidr_suggests_a_prefix_that_fits() -> None:
    platform = raw_platform()
    platform["environments"]["prod"]["vpc_cidr"] = "10.30.0.0/20"
    with pytest.raises(ConfigError) as caught:
        load_config({CONTEXT_KEY: platform}, selected="prod")
    assert "3 AZs need 4864 addresses" in str(caught.value)
    assert "use /19 or a shorter prefix" in str(caught.value)
    platform["environments"]["prod"]["vpc_cidr"] = "10.30.0.0/19"
    assert (
        load_config({CONTEXT_KEY: platform}, selected="prod").environments[0].vpc_cidr
        == "10.30.0.0/19"
    )


# --- the same errors as a user meets them: through app.py ----------------------------------


def run_app(
    outdir: Path, platform: dict[str, Any], *extra: str
) -> subprocess.CompletedProcess[str]:
    """Run app.py as the CDK CLI does (context and outdir in the environment)."""
    context = {**CDK_JSON_CONTEXT, CONTEXT_KEY: platform}
    for item in extra:
        key, value = item.split("=", 1)
        context[key] = value
    env = {
        **os.environ,
        "CDK_CONTEXT_JSON": json.dumps(context),
        "CDK_OUTDIR": str(outdir),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    return subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )


def _stale_assembly(outdir: Path) -> None:
    """What an earlier successful synth left behind."""
    (outdir / "assembly-dev").mkdir(parents=True)
    (outdir / "manifest.json").write_text("{}")
    (outdir / "assembly-dev" / "devNetwork.template.json").write_text("{}")
    (outdir / "synth.lock").write_text("")  # the CLI's lock stays


@pytest.mark.slow
@pytest.mark.parametrize(
    ("mutate", "extra", "expected"),
    [
        (_set("nat_gateways", 3), (), f"config error: {DEV}.nat_gateways = 3: an integer from 1"),
        (
            lambda p: None,
            (f"environment={UNKNOWN_ENV}",),
            f'config error: environment = "{UNKNOWN_ENV}": one of {KNOWN_ENVS}',
        ),
    ],
    ids=["bad-value", "unknown-environment"],
)
def test_app_prints_one_line_exits_2_and_leaves_no_templates(
    tmp_path: Path, mutate: Mutator, extra: tuple[str, ...], expected: str
) -> None:
    _stale_assembly(tmp_path)
    platform = raw_platform()
    mutate(platform)
    result = run_app(tmp_path, platform, *extra)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(expected), lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["synth.lock"]


def _shared_account_platform() -> dict[str, Any]:
    platform = raw_platform()
    _prod_in_dev_account(lambda e: None)(platform)
    return platform


def test_two_environments_share_an_account_when_each_singleton_has_one_owner() -> None:
    platform = _shared_account_platform()
    prod = platform["environments"]["prod"]
    prod["audit"].update(account_services=[], securityhub_standards=[])
    prod["genai"]["enforce_guardrail_in_account"] = False
    config = load_config({CONTEXT_KEY: platform})
    assert [e.account for e in config.environments] == ["111111111111", "111111111111"]
    assert config.environments[1].audit.account_services == ()


def test_singleton_conflict_is_refused_also_when_one_environment_is_selected() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({CONTEXT_KEY: _shared_account_platform()}, selected="dev")
    assert "environments dev and prod" in str(caught.value)


def test_two_environments_in_one_account_but_different_regions_do_not_conflict() -> None:
    platform = _shared_account_platform()
    prod = platform["environments"]["prod"]
    prod.update(region="us-east-2", availability_zones=["us-east-2a", "us-east-2b", "us-east-2c"])
    prod["endpoint_availability_zones"] = ["us-east-2a", "us-east-2b", "us-east-2c"]
    prod["audit"]["config_global_resources_region"] = "us-east-1"
    prod["s3_prefix_list_id"] = "pl-7ba54012"
    prod["genai"]["allowed_model_ids"] = ["anthropic.claude-3-haiku-20240307-v1:0"]
    prod["genai"]["default_model_id"] = "anthropic.claude-3-haiku-20240307-v1:0"
    (env,) = [e for e in load_config({CONTEXT_KEY: platform}).environments if e.name == "prod"]
    assert env.region == "us-east-2" and env.account == "111111111111"


def test_reservations_and_the_account_limit_they_need() -> None:
    dev, prod = load_config(CDK_JSON_CONTEXT).environments
    # 17 + knowledge ingestion 1, guarded retrieval 5, Bedrock Config rules 1
    assert (dev.reserved_concurrency.total, dev.reserved_concurrency.account_limit_needed) == (
        24,
        124,
    )
    # 70 + 1, 10, 1
    assert (prod.reserved_concurrency.total, prod.reserved_concurrency.account_limit_needed) == (
        82,
        182,
    )
    platform = raw_platform()
    platform["environments"]["dev"]["reserved_concurrency"] = {"guarded_invoke": None}
    (none,) = load_config({CONTEXT_KEY: platform}, "dev").environments
    assert none.reserved_concurrency.total == 0
    assert none.reserved_concurrency.account_limit_needed == 0  # no reservation, no minimum
    assert none.reserved_concurrency.findings_router is None  # absent counts as null
