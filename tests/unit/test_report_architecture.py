"""The architecture picture: drawn from the templates alone, complete, rendered to standalone SVG.

Logical IDs are never written here: they are looked up in the synthesized templates and compared
as sets with what the DOT source holds.
"""

from __future__ import annotations

import json
import random
import re
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from gates.assembly import StackArtifact
from report.architecture import ArchitectureError, dot_source, render_svg
from tests.conftest import ENV_NAMES, Synthesized, resources_of

ENTRY = re.compile(r"([A-Za-z0-9]+) \(([A-Za-z0-9]+::[A-Za-z0-9:]+)\)")
ATTRIBUTE = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^,\]\s]+)')
NODE = re.compile(r'\s*"((?:[^"\\]|\\.)*)" \[(.*)\];')
EDGE = re.compile(r'\s*"((?:[^"\\]|\\.)*)" -> "((?:[^"\\]|\\.)*)" \[(.*)\];')
SUBGRAPH = re.compile(r'\s*subgraph "((?:[^"\\]|\\.)*)" \{')
GRAPH_ATTRIBUTE = re.compile(r'\s*(\w+)=("(?:[^"\\]|\\.)*");')


def unquote(value: str) -> str:
    if not value.startswith('"'):
        return value
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), value[1:-1])


def attributes(text: str) -> dict[str, str]:
    return {name: unquote(value) for name, value in ATTRIBUTE.findall(text)}


@dataclass
class Dot:
    """The statements of a DOT source as dot_source writes them: one per line."""

    nodes: dict[str, dict[str, str]] = field(default_factory=dict)
    parents: dict[str, list[str]] = field(default_factory=dict)
    clusters: dict[str, dict[str, str]] = field(default_factory=dict)
    cluster_parents: dict[str, list[str]] = field(default_factory=dict)
    edges: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)

    def cluster_ids(self, node: str) -> list[str]:
        """The ``id`` of every cluster around ``node`` (a VPC cluster's is the VPC's)."""
        return [self.clusters[c].get("id", "") for c in self.parents[node]]

    def cluster_labels(self, node: str) -> list[str]:
        return [self.clusters[c].get("label", "") for c in self.parents[node]]

    def visible_edges(self, edge_class: str | None = None) -> list[tuple[str, str, dict[str, str]]]:
        return [
            e
            for e in self.edges
            if e[2].get("style") != "invis" and edge_class in (None, e[2].get("class"))
        ]


def parse(source: str) -> Dot:
    dot = Dot()
    stack: list[str] = []
    for line in source.splitlines()[1:]:
        if match := SUBGRAPH.fullmatch(line):
            dot.clusters[match.group(1)] = {}
            dot.cluster_parents[match.group(1)] = list(stack)
            stack.append(match.group(1))
        elif line.strip() == "}":
            if stack:
                stack.pop()
        elif match := EDGE.fullmatch(line):
            dot.edges.append(
                (
                    unquote(f'"{match.group(1)}"'),
                    unquote(f'"{match.group(2)}"'),
                    attributes(match.group(3)),
                )
            )
        elif match := NODE.fullmatch(line):
            node = unquote(f'"{match.group(1)}"')
            dot.nodes[node] = attributes(match.group(2))
            dot.parents[node] = list(stack)
        elif (match := GRAPH_ATTRIBUTE.fullmatch(line)) and stack:
            dot.clusters[stack[-1]][match.group(1)] = unquote(match.group(2))
    return dot


def stage_stacks(synth: Synthesized, stage: str) -> list[StackArtifact]:
    return [a for a in synth.artifacts if a.stage == stage]


def of_type(stacks: list[StackArtifact], kind: str) -> dict[str, dict[str, Any]]:
    """``{"<stack>/<logical ID>": resource}`` for every resource of ``kind``."""
    return {
        f"{s.stack_name}/{logical_id}": resource
        for s in stacks
        for logical_id, resource in resources_of(s.template(), kind).items()
    }


def exports(stacks: list[StackArtifact]) -> dict[str, tuple[str, Any]]:
    found = {}
    for s in stacks:
        for output in s.template().get("Outputs", {}).values():
            if "Export" in output:
                found[output["Export"]["Name"]] = (s.stack_name, output["Value"])
    return found


def resolve(value: Any, stack: str, exported: dict[str, tuple[str, Any]]) -> str | None:
    """The ``<stack>/<logical ID>`` a Ref / GetAtt / ImportValue names."""
    if not isinstance(value, dict) or len(value) != 1:
        return None
    (function, argument), *_ = value.items()
    if function == "Ref":
        return f"{stack}/{argument}"
    if function == "Fn::GetAtt":
        return f"{stack}/{argument[0]}"
    if function == "Fn::ImportValue" and argument in exported:
        return resolve(exported[argument][1], exported[argument][0], exported)
    return None


def tags(resource: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource["Properties"].get("Tags", [])}


def statements(stacks: list[StackArtifact]) -> list[tuple[str, dict[str, Any]]]:
    """(stack, Allow statement) of every IAM policy and inline role policy."""
    found = []
    for s in stacks:
        for resource in s.template()["Resources"].values():
            props = resource.get("Properties", {})
            documents = []
            if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                documents.append(props["PolicyDocument"])
            if resource["Type"] == "AWS::IAM::Role":
                documents += [p["PolicyDocument"] for p in props.get("Policies", [])]
            for document in documents:
                for statement in document["Statement"]:
                    if statement["Effect"] == "Allow":
                        found.append((s.stack_name, statement))
    return found


def listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# ---- complete ----------------------------------------------------------------------------------


def coverage_problems(source: str, stacks: list[StackArtifact]) -> dict[str, Any]:
    """Resources the DOT source does not list exactly once (as ``<logical ID> (<type>)``)."""
    dot = parse(source)
    entries: Counter[tuple[str, str]] = Counter()
    holders = [*dot.nodes.items(), *((a.get("id", ""), a) for a in dot.clusters.values())]
    for node_id, attrs in holders:
        stack = node_id.split("/", 1)[0]
        lines = attrs.get("tooltip", "").split("\n")
        found = [m for m in map(ENTRY.fullmatch, lines) if m]
        entries.update((f"{stack}/{m.group(1)}", m.group(2)) for m in found)
        if attrs.get("class") == "other":
            count = re.search(r": (\d+) other resources", attrs["label"])
            assert count and int(count.group(1)) == len(found), node_id
    expected = {
        (f"{s.stack_name}/{logical_id}", resource["Type"])
        for s in stacks
        for logical_id, resource in s.template()["Resources"].items()
    }
    own_nodes = {n for n, a in dot.nodes.items() if a.get("id") == n}
    own_nodes |= {a["id"] for a in dot.clusters.values() if "id" in a}
    problems = {
        "missing": sorted(expected - set(entries)),
        "twice": sorted(e for e, n in entries.items() if n > 1),
        "unknown": sorted(set(entries) - expected),
    }
    if not {i for i, _ in expected} & own_nodes:
        problems["no node of its own"] = ["every resource"]
    return {k: v for k, v in problems.items() if v}


def test_every_resource_of_every_stack_is_in_the_dot_source(org_synthesized: Synthesized) -> None:
    stages = sorted({a.stage for a in org_synthesized.artifacts})
    assert "" in stages and set(ENV_NAMES) <= set(stages) and len(stages) > len(ENV_NAMES) + 1
    problems = {
        stage: coverage_problems(
            dot_source(stage, org_synthesized.artifacts), stage_stacks(org_synthesized, stage)
        )
        for stage in stages
    }
    assert not {stage: p for stage, p in problems.items() if p}


def test_every_drawn_node_names_its_resource(synthesized: Synthesized, env_name: str) -> None:
    dot = parse(dot_source(env_name, synthesized.artifacts))
    resources = {
        f"{s.stack_name}/{logical_id}"
        for s in stage_stacks(synthesized, env_name)
        for logical_id in s.template()["Resources"]
    }
    for node_id, attrs in dot.nodes.items():
        if node_id.startswith(("legend", "anchor/", "foundation-model/")) or node_id.endswith(
            "/other-resources"
        ):
            continue
        assert node_id in resources and attrs["id"] == node_id, node_id
        assert ENTRY.fullmatch(attrs["tooltip"].split("\n")[0]), node_id


# ---- network -----------------------------------------------------------------------------------


def test_subnets_are_drawn_per_tier_and_az(synthesized: Synthesized, env_name: str) -> None:
    stacks = stage_stacks(synthesized, env_name)
    dot = parse(dot_source(env_name, synthesized.artifacts))
    subnets = of_type(stacks, "AWS::EC2::Subnet")
    assert subnets
    assert {n for n, a in dot.nodes.items() if a.get("class") == "subnet"} == set(subnets)
    vpcs = set(of_type(stacks, "AWS::EC2::VPC"))
    for node_id, subnet in subnets.items():
        tier = tags(subnet)["aws-cdk:subnet-name"]
        label = dot.nodes[node_id]["label"]
        assert tier in label and subnet["Properties"]["AvailabilityZone"] in label
        assert subnet["Properties"]["CidrBlock"] in label
        assert vpcs & set(dot.cluster_ids(node_id))
        assert dot.cluster_labels(node_id)[-1].startswith(f"{tier} subnets")
    tiers = {tags(s)["aws-cdk:subnet-name"] for s in subnets.values()}
    azs = {s["Properties"]["AvailabilityZone"] for s in subnets.values()}
    assert len(subnets) == len(tiers) * len(azs)


def readable(value: Any, region: str) -> str:
    if isinstance(value, str):
        return value
    if value == {"Ref": "AWS::Region"}:
        return region
    if "Fn::Join" in value:
        delimiter, parts = value["Fn::Join"]
        return delimiter.join(readable(p, region) for p in parts)
    raise AssertionError(f"unexpected ServiceName {value}")


def test_every_vpc_endpoint_has_its_service_name_and_place(
    synthesized: Synthesized, env_name: str
) -> None:
    stacks = stage_stacks(synthesized, env_name)
    dot = parse(dot_source(env_name, synthesized.artifacts))
    region = {s.stack_name: s.region for s in stacks}
    endpoints = of_type(stacks, "AWS::EC2::VPCEndpoint")
    subnets = of_type(stacks, "AWS::EC2::Subnet")
    assert {"Gateway", "Interface"} == {
        e["Properties"]["VpcEndpointType"] for e in endpoints.values()
    }
    for node_id, endpoint in endpoints.items():
        props = endpoint["Properties"]
        name = readable(props["ServiceName"], region[node_id.split("/")[0]])
        assert re.fullmatch(r"com\.amazonaws\.[a-z0-9-]+\.[a-z0-9.-]+", name)
        assert (
            name
            in dot.nodes[node_id]["label"].split("\n")[
                -1 if props["VpcEndpointType"] == "Gateway" else 0
            ]
        )
        assert dot.nodes[node_id]["class"] == f"{props['VpcEndpointType'].lower()}-endpoint"
        if props["VpcEndpointType"] == "Interface":
            stack = node_id.split("/")[0]
            tiers = {
                tags(subnets[f"{stack}/{s['Ref']}"])["aws-cdk:subnet-name"]
                for s in props["SubnetIds"]
            }
            (tier,) = tiers
            assert any(label.startswith(f"{tier} subnets") for label in dot.cluster_labels(node_id))


def test_nat_gateways_sit_in_their_public_subnets(synthesized: Synthesized, env_name: str) -> None:
    stacks = stage_stacks(synthesized, env_name)
    dot = parse(dot_source(env_name, synthesized.artifacts))
    nats = of_type(stacks, "AWS::EC2::NatGateway")
    subnets = of_type(stacks, "AWS::EC2::Subnet")
    drawn = {n for n, a in dot.nodes.items() if a.get("class") == "nat-gateway"}
    assert drawn == set(nats) and len(nats) == synthesized.env(env_name).nat_gateways
    placements = {(s, d) for s, d, _ in dot.visible_edges("placement")}
    routes = {(s, d) for s, d, a in dot.visible_edges("route") if a["label"] == "0.0.0.0/0"}
    for node_id, nat in nats.items():
        subnet = f"{node_id.split('/')[0]}/{nat['Properties']['SubnetId']['Ref']}"
        tier = tags(subnets[subnet])["aws-cdk:subnet-name"]
        assert tags(subnets[subnet])["aws-cdk:subnet-type"] == "Public"
        assert dot.parents[node_id] == dot.parents[subnet]
        assert dot.cluster_labels(node_id)[-1].startswith(f"{tier} subnets")
        assert (node_id, subnet) in placements
        assert any(d == node_id for _s, d in routes), "no private subnet routes to it"
    igws = set(of_type(stacks, "AWS::EC2::InternetGateway"))
    assert {d for _s, d in routes} == set(nats) | igws


def test_in_vpc_functions_are_placed_in_their_subnet_tier(
    synthesized: Synthesized, env_name: str
) -> None:
    stacks = stage_stacks(synthesized, env_name)
    dot = parse(dot_source(env_name, synthesized.artifacts))
    exported = exports(stacks)
    subnets = of_type(stacks, "AWS::EC2::Subnet")
    vpcs = set(of_type(stacks, "AWS::EC2::VPC"))
    functions = of_type(stacks, "AWS::Lambda::Function")
    in_vpc = {n: f for n, f in functions.items() if "VpcConfig" in f["Properties"]}
    assert in_vpc and len(in_vpc) < len(functions)
    for node_id, function in functions.items():
        assert dot.nodes[node_id]["class"] == "lambda"
        if node_id not in in_vpc:
            assert not vpcs & set(dot.cluster_ids(node_id)), node_id
            continue
        stack = node_id.split("/")[0]
        homes = {
            resolve(s, stack, exported) for s in function["Properties"]["VpcConfig"]["SubnetIds"]
        }
        (tier,) = {tags(subnets[h])["aws-cdk:subnet-name"] for h in homes}
        assert vpcs & set(dot.cluster_ids(node_id)), node_id
        assert dot.cluster_labels(node_id)[-1].startswith(f"{tier} subnets"), node_id
    domains = of_type(stacks, "AWS::SageMaker::Domain")
    assert domains and all(vpcs & set(dot.cluster_ids(d)) for d in domains)


# ---- data flow ---------------------------------------------------------------------------------


def granted_prefixes(stacks: list[StackArtifact]) -> dict[str, set[tuple[str, str]]]:
    """{"read"|"write": {(bucket, "prefix/*")}} granted on ``<bucket ARN>/prefix/*``."""
    exported = exports(stacks)
    buckets = set(of_type(stacks, "AWS::S3::Bucket"))
    found: dict[str, set[tuple[str, str]]] = {"read": set(), "write": set()}
    for stack, statement in statements(stacks):
        actions = [a.lower() for a in listed(statement["Action"])]
        modes = {
            mode
            for mode, prefixes in (
                ("read", ("s3:get", "s3:list")),
                ("write", ("s3:put", "s3:delete")),
            )
            if any(a.startswith(prefixes) for a in actions)
        }
        for value in listed(statement["Resource"]):
            join = value.get("Fn::Join") if isinstance(value, dict) else None
            if not join or join[0] != "" or len(join[1]) != 2 or not isinstance(join[1][1], str):
                continue
            suffix = re.fullmatch(r"/(.+/)\*", join[1][1])
            bucket = resolve(join[1][0], stack, exported)
            if suffix and bucket in buckets:
                for mode in modes:
                    found[mode].add((bucket, suffix.group(1) + "*"))
    return found


def test_bucket_edges_say_read_or_write_and_the_prefix(
    synthesized: Synthesized, env_name: str
) -> None:
    stacks = stage_stacks(synthesized, env_name)
    dot = parse(dot_source(env_name, synthesized.artifacts))
    granted = granted_prefixes(stacks)
    assert granted["read"] and granted["write"]
    drawn: dict[str, set[tuple[str, str]]] = {"read": set(), "write": set()}
    for _source, destination, attrs in dot.edges:
        mode, *prefixes = attrs.get("label", "").split("\n")
        if attrs.get("class") in ("read", "write", "read-write"):
            assert mode == attrs["class"].replace("-", "+")
            for kind in ("read", "write"):
                if kind in mode:
                    drawn[kind] |= {(destination, p) for p in prefixes}
    assert granted["read"] <= drawn["read"]
    assert granted["write"] <= drawn["write"]


def test_kms_grants_are_key_use_edges(synthesized: Synthesized, env_name: str) -> None:
    stacks = stage_stacks(synthesized, env_name)
    dot = parse(dot_source(env_name, synthesized.artifacts))
    exported = exports(stacks)
    keys = set(of_type(stacks, "AWS::KMS::Key"))
    granted = {
        resolve(value, stack, exported)
        for stack, statement in statements(stacks)
        if "kms:Decrypt" in listed(statement["Action"])
        for value in listed(statement["Resource"])
    } & keys
    used = {d for _s, d, a in dot.visible_edges("use-key") if a["label"] == "use key"}
    assert granted and used == granted


def test_a_function_with_its_own_role_is_the_source_of_the_role_grants(
    synthesized: Synthesized, env_name: str
) -> None:
    stacks = stage_stacks(synthesized, env_name)
    dot = parse(dot_source(env_name, synthesized.artifacts))
    functions = of_type(stacks, "AWS::Lambda::Function")
    roles = of_type(stacks, "AWS::IAM::Role")
    users: dict[str, list[str]] = {}
    for node_id, function in functions.items():
        role = function["Properties"]["Role"]["Fn::GetAtt"][0]
        users.setdefault(f"{node_id.split('/')[0]}/{role}", []).append(node_id)
    sources = {
        s
        for s, _d, a in dot.visible_edges()
        if a.get("class") in ("use-key", "bedrock", "read", "write", "read-write")
    }
    checked = 0
    for role, (function, *others) in users.items():
        if others or role not in roles:
            continue
        assert role not in dot.nodes
        logical_id = role.split("/")[1]
        assert f"{logical_id} (AWS::IAM::Role)" in dot.nodes[function]["tooltip"].split("\n")
        checked += function in sources
    assert checked


def test_guardrails_and_models_are_bedrock_edges(synthesized: Synthesized, env_name: str) -> None:
    stacks = stage_stacks(synthesized, env_name)
    dot = parse(dot_source(env_name, synthesized.artifacts))
    guardrails = set(of_type(stacks, "AWS::Bedrock::Guardrail"))
    bedrock = dot.visible_edges("bedrock")
    assert guardrails and guardrails <= {
        d for _s, d, a in bedrock if "ApplyGuardrail" in a["label"]
    }
    models = {
        value.split("foundation-model/")[1]
        for _stack, statement in statements(stacks)
        if "bedrock:InvokeModel" in listed(statement["Action"])
        for value in listed(statement["Resource"])
        if isinstance(value, str) and "foundation-model/" in value
    }
    drawn = {d.split("/", 2)[2] for _s, d, _a in bedrock if d.startswith("foundation-model/")}
    assert models and models == drawn


# ---- deterministic, readable -------------------------------------------------------------------


def test_dot_source_is_deterministic_and_ignores_the_stacks_order(
    synthesized: Synthesized,
) -> None:
    first = dot_source("dev", synthesized.artifacts)
    shuffled = list(synthesized.artifacts)
    random.Random(7).shuffle(shuffled)
    assert dot_source("dev", shuffled) == first
    assert dot_source("dev", list(reversed(synthesized.artifacts))) == first
    assert 'rankdir="LR"' in first and "Helvetica" in first
    assert not re.search(r"\b(?:URL|href|image)=", first)
    assert first.isascii()


def test_an_unknown_environment_is_an_error(synthesized: Synthesized) -> None:
    with pytest.raises(ArchitectureError, match="staging"):
        dot_source("staging", synthesized.artifacts)


# ---- SVG ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_render_svg_is_standalone_xml(synthesized: Synthesized, env_name: str) -> None:
    source = dot_source(env_name, synthesized.artifacts)
    svg = render_svg(source)
    assert svg.startswith("<svg") and "<?xml" not in svg and "<!DOCTYPE" not in svg
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    ids = set()
    for element in root.iter():
        for name, value in element.attrib.items():
            if name.rsplit("}", 1)[-1] in ("href", "src"):
                assert not value.startswith(("http://", "https://", "//", "file:")), value
        ids.add(element.get("id"))
    for tag in ("image", "script", "foreignObject"):
        assert not list(root.iter(f"{{http://www.w3.org/2000/svg}}{tag}"))
    drawn = {n for n in parse(source).nodes if not n.startswith(("legend/", "anchor/"))}
    assert drawn <= ids
    assert render_svg(source) == svg


@pytest.mark.slow
def test_render_svg_reports_graphviz_errors() -> None:
    with pytest.raises(ArchitectureError, match="syntax error"):
        render_svg('digraph "broken" { "a" -> }')


def test_render_svg_says_when_graphviz_pure_is_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ArchitectureError, match="graphviz-pure is not installed"):
        render_svg("digraph { a }")


# ---- fallbacks, on templates written here --------------------------------------------------------


def template_stack(tmp_path: Path, name: str, resources: dict[str, Any]) -> StackArtifact:
    path = tmp_path / f"{name}.template.json"
    path.write_text(json.dumps({"Resources": resources}))
    return StackArtifact("lab", name, name, "123456789012", "eu-west-1", path, ())


def test_unresolved_subnets_literal_arns_and_shared_roles(tmp_path: Path) -> None:
    network = template_stack(
        tmp_path,
        "net",
        {
            "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
            "Subnet": {
                "Type": "AWS::EC2::Subnet",
                "Properties": {
                    "VpcId": {"Ref": "Vpc"},
                    "AvailabilityZone": "eu-west-1a",
                    "CidrBlock": "10.0.0.0/24",
                },
            },
            "Endpoint": {
                "Type": "AWS::EC2::VPCEndpoint",
                "Properties": {
                    "VpcId": {"Ref": "Vpc"},
                    "ServiceName": {
                        "Fn::Join": ["", ["com.amazonaws.", {"Ref": "AWS::Region"}, ".s3"]]
                    },
                },
            },
        },
    )
    role_arn = {"Fn::GetAtt": ["Shared", "Arn"]}
    statements = [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": {"Fn::Sub": "${Data.Arn}/in/*"}},
        {"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": "arn:aws:s3:::named/out/*"},
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"},
    ]
    app = template_stack(
        tmp_path,
        "app",
        {
            "Shared": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": statements}}]
                },
            },
            "InVpc": {
                "Type": "AWS::Lambda::Function",
                "Properties": {"Role": role_arn, "VpcConfig": {"SubnetIds": ["subnet-0abc"]}},
            },
            "Outside": {"Type": "AWS::Lambda::Function", "Properties": {"Role": role_arn}},
            "Data": {"Type": "AWS::S3::Bucket"},
            "Named": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "named"}},
            "Queue": {"Type": "AWS::SQS::Queue"},
        },
    )
    source = dot_source("lab", [app, network])
    dot = parse(source)
    assert coverage_problems(source, [app, network]) == {}
    assert "net/Vpc" in dot.cluster_ids("app/InVpc")
    assert "in VPC" in dot.nodes["app/InVpc"]["label"]
    assert "net/Vpc" not in dot.cluster_ids("app/Outside")
    assert dot.cluster_labels("net/Subnet")[-1].startswith("untagged subnets")
    assert "com.amazonaws.eu-west-1.s3" in dot.nodes["net/Endpoint"]["label"]
    edges = {(s, d, a["class"], a["label"]) for s, d, a in dot.visible_edges()}
    assert {
        ("app/InVpc", "app/Shared", "assumes", "uses role"),
        ("app/Outside", "app/Shared", "assumes", "uses role"),
        ("app/Shared", "app/Data", "read", "read\nin/*"),
        ("app/Shared", "app/Named", "write", "write\nout/*"),
    } <= edges
    assert "// unattributed grant: app/Shared: kms:Decrypt on *" in source
    assert dot.nodes["app/other-resources"]["label"].startswith("app: 1 other resources")
