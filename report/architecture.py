"""The architecture picture of one environment, drawn only from its synthesized templates.

``dot_source(environment, stacks)`` reads the CloudFormation templates of one stage (``""`` is
the delivery pipeline's stacks outside any stage) and returns a Graphviz DOT digraph; nothing in
it is drawn by hand:

* each VPC is a cluster holding one cluster per subnet tier (the ``aws-cdk:subnet-name`` and
  ``aws-cdk:subnet-type`` tags) with one node per subnet (tier, AZ, CIDR); the NAT gateways sit
  in their subnet's tier, the internet gateway and the gateway endpoints at the VPC's level, the
  interface endpoints in the tier of their subnets, with their service names; ``route`` edges
  follow the route tables (subnet to NAT gateway, internet gateway, gateway endpoint);
* Lambda functions and SageMaker resources sit in the tier their subnets belong to, subnets
  followed through ``Ref``, ``Fn::GetAtt`` and ``Fn::ImportValue`` (the exports of the
  environment's stacks); a function whose subnets are not in the templates sits in its VPC
  cluster, one without ``VpcConfig`` outside it;
* buckets, KMS keys, Bedrock, S3 Vectors and the other SageMaker resources are regional-service
  nodes outside the VPC, grouped per account and region;
* data-flow edges come from the IAM policies attached to roles (``AWS::IAM::Policy`` and
  ``AWS::IAM::ManagedPolicy`` through ``Roles`` or ``ManagedPolicyArns``, a role's inline
  ``Policies``): read / write / read+write to a bucket or vector store with the object prefixes
  granted, ``use key`` to a KMS key, the Bedrock actions to a guardrail, knowledge base or
  foundation model. They start at the function or SageMaker / Bedrock resource that uses the role
  when it has exactly one user in its stack, else at the role's own node. Grants that name no
  resource of the environment (``"*"``, other accounts) are listed in ``//`` comments at the end.

Every resource of every stack is in the source: as its own node (``id`` ``<stack>/<logical ID>``;
a VPC is its cluster's ``id``), folded into the node it belongs to (a function's role, policies,
log group and security group, a subnet's route table, a bucket's policy, a key's alias: listed in
that node's ``tooltip``), or in its stack's ``"<stack>: N other resources"`` node. Tooltip lines
that name a resource read ``<logical ID> (<type>)``, the logical ID of the node's own stack. The
output is deterministic: the same templates give the same bytes, whatever the stacks' order.

``render_svg(dot)`` lays the source out with graphviz-pure (Graphviz's ``dot`` as one binary,
installed from requirements-dev.txt) and returns SVG that can be inlined in HTML.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gates.assembly import StackArtifact
from report import ReportError

__all__ = ["ArchitectureError", "dot_source", "render_svg"]

GRAPHVIZ = "graphviz-pure"
"""The executable ``render_svg`` runs: found next to ``sys.executable``, then on ``PATH``."""


class ArchitectureError(ReportError):
    """The picture cannot be drawn or rendered; ``str(err)`` says why in a line or two."""


Key = tuple[str, str]
"""A resource: (stack name, logical ID)."""

_SUBNET = "AWS::EC2::Subnet"
_VPC = "AWS::EC2::VPC"
_ROLE = "AWS::IAM::Role"
_POLICIES = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
_REFERENCES = ("Ref", "Fn::GetAtt", "Fn::ImportValue")
_HASH_SUFFIX = re.compile(r"^(?P<name>.*[a-z].*?)[0-9A-F]{8}$")
_ENTRY = "{logical_id} ({type})"
_NAME_PROPERTIES = (
    "FunctionName",
    "BucketName",
    "VectorBucketName",
    "IndexName",
    "DomainName",
    "UserProfileName",
    "ModelPackageGroupName",
    "ModelCardName",
    "Name",
    "RoleName",
)
_AWS_CUSTOM_RESOURCE = "AWS679f53fac002430cb0da5b7982bd2287"
_TIER_ORDER = {"Public": 0, "Private": 1, "Isolated": 2}
_TIER_COLOURS = {
    "Public": ("#e8f5e9", "#2e7d32"),
    "Private": ("#e3f2fd", "#1565c0"),
    "Isolated": ("#f3e5f5", "#6a1b9a"),
}
_UNTIERED_COLOURS = ("#f5f5f5", "#616161")

# kind: (legend text, node attributes)
_KINDS: dict[str, tuple[str, dict[str, str]]] = {
    "subnet": ("Subnet (tier, AZ, CIDR)", {"shape": "box", "style": "rounded,filled"}),
    "nat-gateway": (
        "NAT gateway",
        {"shape": "hexagon", "fillcolor": "#d1c4e9", "color": "#4527a0"},
    ),
    "internet-gateway": (
        "Internet gateway",
        {"shape": "invhouse", "fillcolor": "#d1c4e9", "color": "#4527a0"},
    ),
    "gateway-endpoint": (
        "Gateway endpoint",
        {"shape": "cds", "fillcolor": "#ede7f6", "color": "#5e35b1"},
    ),
    "interface-endpoint": (
        "Interface endpoint",
        {"shape": "box", "fillcolor": "#ede7f6", "color": "#5e35b1"},
    ),
    "lambda": (
        "Lambda function",
        {"shape": "component", "fillcolor": "#ffe0b2", "color": "#e65100"},
    ),
    "sagemaker": ("SageMaker", {"shape": "box3d", "fillcolor": "#b2ebf2", "color": "#00838f"}),
    "bedrock": (
        "Bedrock resource",
        {"shape": "box", "style": "rounded,filled", "fillcolor": "#f8bbd0", "color": "#ad1457"},
    ),
    "foundation-model": (
        "Bedrock foundation model",
        {"shape": "octagon", "fillcolor": "#fce4ec", "color": "#ad1457"},
    ),
    "s3vectors": ("S3 Vectors", {"shape": "cylinder", "fillcolor": "#c8e6c9", "color": "#1b5e20"}),
    "bucket": ("S3 bucket", {"shape": "cylinder", "fillcolor": "#dcedc8", "color": "#33691e"}),
    "kms-key": ("KMS key", {"shape": "note", "fillcolor": "#fff9c4", "color": "#f57f17"}),
    "role": ("IAM role", {"shape": "ellipse", "fillcolor": "#eeeeee", "color": "#424242"}),
    "other": (
        "Other resources (tooltip)",
        {"shape": "folder", "fillcolor": "#fafafa", "color": "#9e9e9e", "fontcolor": "#616161"},
    ),
}

# edge class: (legend text, edge attributes)
_EDGES: dict[str, tuple[str, dict[str, str]]] = {
    "read": ("read (s3:Get*, s3:List*)", {"color": "#1565c0", "fontcolor": "#1565c0"}),
    "write": ("write (s3:Put*, s3:Delete*)", {"color": "#c62828", "fontcolor": "#c62828"}),
    "read-write": ("read+write", {"color": "#6a1b9a", "fontcolor": "#6a1b9a"}),
    "use-key": (
        "use key (kms:Decrypt, Encrypt, GenerateDataKey)",
        {"color": "#f9a825", "fontcolor": "#8d6e00", "style": "dashed"},
    ),
    "bedrock": ("Bedrock actions", {"color": "#ad1457", "fontcolor": "#ad1457"}),
    "assumes": ("uses role", {"color": "#616161", "fontcolor": "#616161", "style": "dashed"}),
    "reference": (
        "template reference",
        {"color": "#9e9e9e", "fontcolor": "#757575", "style": "dashed", "arrowsize": "0.5"},
    ),
    "route": ("route", {"color": "#757575", "fontcolor": "#757575", "style": "dotted"}),
    "placement": (
        "NAT gateway in subnet",
        {"color": "#4527a0", "style": "dotted", "arrowhead": "none"},
    ),
}

# service groups outside the VPC: kind -> (sort key, label)
_GROUPS = {
    "lambda": ("1", "Lambda (outside any VPC)"),
    "sagemaker": ("2", "Amazon SageMaker"),
    "bedrock": ("3", "Amazon Bedrock"),
    "foundation-model": ("3", "Amazon Bedrock"),
    "s3vectors": ("4", "Amazon S3 Vectors"),
    "bucket": ("5", "Amazon S3"),
    "kms-key": ("6", "AWS KMS"),
    "role": ("7", "IAM roles"),
    "other": ("8", "Not drawn separately"),
}

# satellite type -> the property that names the resource it belongs to
_REFERRERS = ("lambda", "sagemaker", "bedrock", "s3vectors", "bucket")
_SATELLITES = {
    "AWS::S3::BucketPolicy": "Bucket",
    "AWS::KMS::Alias": "TargetKeyId",
    "AWS::Lambda::Permission": "FunctionName",
    "AWS::Lambda::EventInvokeConfig": "FunctionName",
    "AWS::Lambda::EventSourceMapping": "FunctionName",
    "AWS::Lambda::Url": "TargetFunctionArn",
    "AWS::EC2::VPCGatewayAttachment": "InternetGatewayId",
    "AWS::EC2::SubnetRouteTableAssociation": "SubnetId",
    "AWS::EC2::FlowLog": "ResourceId",
    "AWS::EC2::SecurityGroupIngress": "GroupId",
    "AWS::EC2::SecurityGroupEgress": "GroupId",
    "AWS::EC2::Route": "RouteTableId",
}


@dataclass(eq=False)
class _Resource:
    stack: StackArtifact
    logical_id: str
    type: str
    props: dict[str, Any]

    @property
    def key(self) -> Key:
        return (self.stack.stack_name, self.logical_id)

    @property
    def node_id(self) -> str:
        return f"{self.stack.stack_name}/{self.logical_id}"

    @property
    def entry(self) -> str:
        return _ENTRY.format(logical_id=self.logical_id, type=self.type)


@dataclass
class _Node:
    node_id: str
    kind: str
    label: str
    key: Key | None = None
    info: list[str] = field(default_factory=list)
    members: list[str] = field(default_factory=list)
    attrs: dict[str, str] = field(default_factory=dict)


@dataclass
class _Cluster:
    name: str
    sort_key: str
    attrs: dict[str, str]
    clusters: dict[str, _Cluster] = field(default_factory=dict)
    nodes: list[str] = field(default_factory=list)
    grid: int = 0


@dataclass
class _Flow:
    """What one node does to another: the edge (or edges) drawn between them."""

    prefixes: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    actions: set[str] = field(default_factory=set)
    via: set[str] = field(default_factory=set)
    labels: set[str] = field(default_factory=set)


def dot_source(environment: str, stacks: Sequence[StackArtifact]) -> str:
    """The architecture of one environment as a Graphviz DOT digraph.

    Args:
        environment: The stage's name (``StackArtifact.stage``); ``""`` for the stacks outside
            any stage (the delivery pipeline).
        stacks: Stacks of the assembly; those of other stages are ignored.

    Returns:
        The DOT source, byte-identical for the same templates.

    Raises:
        ArchitectureError: No stack belongs to ``environment``.
    """
    chosen = sorted(
        (s for s in stacks if s.stage == environment), key=lambda s: (s.stack_name, s.artifact_id)
    )
    if not chosen:
        known = sorted({s.stage for s in stacks})
        raise ArchitectureError(f"no stack belongs to environment {environment!r} (have {known})")
    return _Picture(environment, chosen).dot()


def render_svg(dot: str, *, timeout: float = 60) -> str:
    """Lay ``dot`` out with graphviz-pure and return the SVG, ready to inline in HTML.

    Args:
        dot: Graphviz DOT source, e.g. from ``dot_source``.
        timeout: Seconds graphviz-pure may take.

    Returns:
        The ``<svg>`` element (the XML prolog, DOCTYPE and leading comments stripped).

    Raises:
        ArchitectureError: graphviz-pure is missing, fails, times out, or writes SVG with an
            external reference.
    """
    command = [_graphviz(), "-Tsvg"]
    try:
        done = subprocess.run(
            command,
            input=dot.encode("utf-8"),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as err:
        raise ArchitectureError(f"{GRAPHVIZ} took longer than {timeout:g} s") from err
    except OSError as err:
        raise ArchitectureError(f"{GRAPHVIZ} could not run: {err}") from err
    stderr = done.stderr.decode("utf-8", "replace").strip()
    if done.returncode != 0:
        raise ArchitectureError(f"{GRAPHVIZ} failed (exit {done.returncode}): {stderr}")
    svg = done.stdout.decode("utf-8")
    start = svg.find("<svg")
    if start < 0:
        raise ArchitectureError(f"{GRAPHVIZ} wrote no <svg> element: {stderr or svg[:200]}")
    svg = svg[start:]
    external = re.search(r"""\s(?:xlink:)?(?:href|src)\s*=\s*["'](?!#)([^"']*)""", svg)
    if external:
        raise ArchitectureError(f"the SVG refers to {external.group(1)!r}; it must stand alone")
    return svg


def _graphviz() -> str:
    """The graphviz-pure executable: next to the running Python (its venv), else on PATH."""
    names = [GRAPHVIZ + ".exe", GRAPHVIZ] if os.name == "nt" else [GRAPHVIZ]
    for name in names:
        beside = Path(sys.executable).parent / name
        if beside.is_file() and os.access(beside, os.X_OK):
            return str(beside)
    found = shutil.which(GRAPHVIZ)
    if found:
        return found
    raise ArchitectureError(
        f"{GRAPHVIZ} is not installed: not next to {sys.executable} nor on PATH; "
        "install requirements-dev.txt (graphviz-pure==0.2.2) into the virtualenv"
    )


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _intrinsic(value: Any) -> tuple[str, Any] | None:
    if isinstance(value, dict) and len(value) == 1:
        ((name, argument),) = value.items()
        if name == "Ref" or name.startswith("Fn::"):
            return name, argument
    return None


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _ascii(text: str) -> str:
    """graphviz-pure has no glyph widths outside ASCII: keep labels ASCII."""
    return text.encode("ascii", "replace").decode("ascii")


def _quote(value: str) -> str:
    escaped = _ascii(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _attributes(attrs: Mapping[str, str]) -> str:
    return ", ".join(f"{name}={_quote(attrs[name])}" for name in sorted(attrs))


def _s3_modes(service: str, action: str) -> set[str]:
    name = action.lower()
    if name == "*":
        return {"read", "write"}
    modes = set()
    if name.startswith(("get", "list", "query")) or (service == "s3" and name.startswith("head")):
        modes.add("read")
    if name.startswith(("put", "delete", "abort", "restore", "replicate")):
        modes.add("write")
    return modes


def _uses_key(action: str) -> bool:
    name = action.lower()
    return name == "*" or name.startswith(("decrypt", "encrypt", "generatedatakey", "reencrypt"))


class _Picture:
    """One environment's resources, how they refer to each other, and the graph drawn of them."""

    def __init__(self, environment: str, stacks: Sequence[StackArtifact]) -> None:
        self.environment = environment
        self.stacks = list(stacks)
        self.resources: dict[Key, _Resource] = {}
        self.outputs: dict[str, tuple[StackArtifact, Any]] = {}
        for stack in self.stacks:
            template = stack.template()
            for logical_id in sorted(template.get("Resources", {})):
                raw = template["Resources"][logical_id]
                resource = _Resource(
                    stack, logical_id, str(raw.get("Type", "")), raw.get("Properties") or {}
                )
                self.resources[resource.key] = resource
            for output in template.get("Outputs", {}).values():
                export = output.get("Export", {}).get("Name")
                if export is not None:
                    self.outputs[self.render(export, stack)] = (stack, output.get("Value"))
        self.literal_names: dict[tuple[str, str], Key] = {}
        for resource in self.resources.values():
            for prop in ("BucketName", "RoleName"):
                if prop in resource.props:
                    name = self.render(resource.props[prop], resource.stack)
                    if "${" not in name:
                        self.literal_names[(resource.type, name)] = resource.key
        self.nodes: dict[str, _Node] = {}
        self.home: dict[Key, str] = {}
        self.root = _Cluster("", "", {})
        self.flows: dict[tuple[str, str, str], _Flow] = defaultdict(_Flow)
        self.unattributed: set[str] = set()
        self.vpc_clusters: dict[Key, _Cluster] = {}
        self.tiers: dict[Key, tuple[str, str]] = {}
        self.subnet_vpc: dict[Key, Key] = {}
        self.references: dict[Key, list[tuple[tuple[str, ...], Key]]] = {}
        self.route_tables: dict[Key, list[Key]] = defaultdict(list)
        self.attached: dict[Key, list[Key]] = defaultdict(list)
        self.role_users: dict[Key, list[str]] = defaultdict(list)
        self.vpc_members: dict[str, list[str]] = defaultdict(list)

    # ---- reading intrinsics -------------------------------------------------------------------

    def render(self, value: Any, stack: StackArtifact) -> str:
        """A readable string for a template value, pseudo parameters resolved."""
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return str(value).lower()
        if isinstance(value, int | float):
            return str(value)
        if isinstance(value, list):
            return ",".join(self.render(v, stack) for v in value)
        intrinsic = _intrinsic(value)
        if intrinsic is None:
            return "${?}"
        name, argument = intrinsic
        if name == "Ref":
            return self._pseudo(str(argument), stack) or f"${{{argument}}}"
        if name == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
            parts = argument[1] if isinstance(argument[1], list) else [argument[1]]
            return str(argument[0]).join(self.render(p, stack) for p in parts)
        if name == "Fn::Sub":
            template, variables = (argument, {}) if isinstance(argument, str) else argument
            return re.sub(
                r"\$\{([^}!][^}]*)\}",
                lambda m: (
                    self.render(variables[m.group(1)], stack)
                    if m.group(1) in variables
                    else self._pseudo(m.group(1), stack) or m.group(0)
                ),
                str(template),
            )
        if name == "Fn::GetAtt":
            target = argument if isinstance(argument, str) else ".".join(map(str, argument))
            return f"${{{target}}}"
        if name == "Fn::ImportValue":
            return f"${{Import {self.render(argument, stack)}}}"
        if name == "Fn::Select" and isinstance(argument, list) and len(argument) == 2:
            index, options = argument
            if isinstance(options, list) and str(index).isdigit() and int(index) < len(options):
                return self.render(options[int(index)], stack)
            kind = _intrinsic(options)
            if kind and kind[0] == "Fn::GetAZs":
                return f"{stack.region} AZ #{index}"
            if kind and kind[0] == "Fn::Cidr":
                return f"CIDR #{index}"
        return f"${{{name}}}"

    @staticmethod
    def _pseudo(name: str, stack: StackArtifact) -> str | None:
        return {
            "AWS::Region": stack.region,
            "AWS::AccountId": stack.account,
            "AWS::StackName": stack.stack_name,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": "",
        }.get(name)

    def target(self, value: Any, stack: StackArtifact, depth: int = 0) -> Key | None:
        """The resource a ``Ref`` / ``Fn::GetAtt`` / ``Fn::ImportValue`` points at, if known."""
        intrinsic = _intrinsic(value)
        if intrinsic is None or depth > 5:
            return None
        name, argument = intrinsic
        if name == "Ref" and isinstance(argument, str):
            key = (stack.stack_name, argument)
        elif name == "Fn::GetAtt":
            logical_id = argument.split(".", 1)[0] if isinstance(argument, str) else argument[0]
            key = (stack.stack_name, str(logical_id))
        elif name == "Fn::ImportValue":
            exported = self.outputs.get(self.render(argument, stack))
            return self.target(exported[1], exported[0], depth + 1) if exported else None
        elif name == "Fn::Sub" and isinstance(argument, str):
            whole = re.fullmatch(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}", argument)
            key = (stack.stack_name, whole.group(1)) if whole else ("", "")
        else:
            return None
        return key if key in self.resources else None

    def arn_target(self, value: Any, stack: StackArtifact) -> tuple[Key | str | None, str]:
        """What an IAM ``Resource`` names: a resource (or a foundation model) and the suffix."""
        key = self.target(value, stack)
        if key:
            return key, ""
        intrinsic = _intrinsic(value)
        if intrinsic and intrinsic[0] == "Fn::Join" and isinstance(intrinsic[1], list):
            delimiter, parts = str(intrinsic[1][0]), _as_list(intrinsic[1][1])
            for index, part in enumerate(parts):
                key = self.target(part, stack)
                if key:
                    rest = [self.render(p, stack) for p in parts[index + 1 :]]
                    return key, (delimiter if rest else "") + delimiter.join(rest)
        if intrinsic and intrinsic[0] == "Fn::Sub" and isinstance(intrinsic[1], str):
            head = re.match(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}(.*)$", intrinsic[1])
            if head and (stack.stack_name, head.group(1)) in self.resources:
                suffix = self.render({"Fn::Sub": head.group(2)}, stack)
                return (stack.stack_name, head.group(1)), suffix
        text = self.render(value, stack)
        bucket = re.fullmatch(r"arn:aws[a-z-]*:s3:::([^/*]+)(.*)", text)
        if bucket:
            found = self.literal_names.get(("AWS::S3::Bucket", bucket.group(1)))
            return found, bucket.group(2) if found else ""
        model = re.fullmatch(r"arn:aws[a-z-]*:bedrock:([^:]*):[^:]*:foundation-model/(.+)", text)
        if model:
            return f"foundation-model/{model.group(1) or stack.region}/{model.group(2)}", ""
        return None, ""

    def walk_references(self, resource: _Resource) -> list[tuple[tuple[str, ...], Key]]:
        """Every resource this one's properties point at, with the property path to it."""
        if resource.key in self.references:
            return self.references[resource.key]
        found: list[tuple[tuple[str, ...], Key]] = []

        def walk(value: Any, path: tuple[str, ...]) -> None:
            intrinsic = _intrinsic(value)
            if intrinsic and intrinsic[0] in _REFERENCES:
                key = self.target(value, resource.stack)
                if key and key != resource.key:
                    found.append((path, key))
                return
            if intrinsic and intrinsic[0] == "Fn::Sub":
                template = intrinsic[1] if isinstance(intrinsic[1], str) else intrinsic[1][0]
                for name in sorted(set(re.findall(r"\$\{([A-Za-z0-9]+)", str(template)))):
                    if (resource.stack.stack_name, name) in self.resources:
                        found.append((path, (resource.stack.stack_name, name)))
                if not isinstance(intrinsic[1], str):
                    walk(intrinsic[1][1], path)
                return
            if isinstance(value, dict):
                for name in sorted(value):
                    walk(value[name], (*path, name))
            elif isinstance(value, list):
                for item in value:
                    walk(item, path)

        walk(resource.props, ())
        self.references[resource.key] = found
        return found

    @staticmethod
    def values_under(props: Any, names: tuple[str, ...]) -> list[Any]:
        """The values of the properties called ``names`` anywhere in ``props``, lists flattened."""
        found: list[Any] = []

        def walk(value: Any) -> None:
            if isinstance(value, dict) and _intrinsic(value) is None:
                for name in sorted(value):
                    if name in names:
                        found.extend(_as_list(value[name]))
                    else:
                        walk(value[name])
            elif isinstance(value, list):
                for item in value:
                    walk(item)

        walk(props)
        return found

    # ---- the graph ----------------------------------------------------------------------------

    def cluster(self, path: Sequence[tuple[str, str, dict[str, str]]], grid: int = 0) -> _Cluster:
        """The cluster at ``path`` (name, sort key, attributes per level), created if missing."""
        current = self.root
        for name, sort_key, attrs in path:
            if name not in current.clusters:
                current.clusters[name] = _Cluster(name, sort_key, dict(attrs))
            current = current.clusters[name]
        current.grid = max(current.grid, grid)
        return current

    def region_path(self, account: str, region: str) -> tuple[str, str, dict[str, str]]:
        return (
            f"cluster_region_{account}_{region}",
            f"{account}/{region}",
            {
                "label": f"AWS account {account} - {region}",
                "style": "rounded",
                "color": "#9e9e9e",
                "fontsize": "11",
            },
        )

    def group_path(
        self, kind: str, account: str, region: str
    ) -> list[tuple[str, str, dict[str, str]]]:
        sort_key, label = _GROUPS[kind]
        style = {"label": label, "style": "rounded,dashed", "color": "#bdbdbd", "fontsize": "10"}
        return [
            self.region_path(account, region),
            (f"cluster_group_{account}_{region}_{sort_key}", f"2-{sort_key}", style),
        ]

    def add_node(self, node: _Node, cluster: _Cluster, resource: _Resource | None = None) -> None:
        self.nodes[node.node_id] = node
        cluster.nodes.append(node.node_id)
        if resource is not None:
            self.home[resource.key] = node.node_id

    def friendly(self, resource: _Resource) -> str:
        for prop in _NAME_PROPERTIES:
            if prop in resource.props:
                name = self.render(resource.props[prop], resource.stack)
                if name and "${" not in name:
                    return _short(name)
        if resource.logical_id.startswith(_AWS_CUSTOM_RESOURCE):
            return "AwsCustomResource handler"
        match = _HASH_SUFFIX.match(resource.logical_id)
        return _short(match.group("name") if match else resource.logical_id)

    def resource_node(self, resource: _Resource, kind: str, label: str) -> _Node:
        node = _Node(resource.node_id, kind, label, resource.key, members=[resource.entry])
        description = resource.props.get("Description")
        if isinstance(description, str):
            node.info.append(_short(description, 90))
        return node

    def type_label(self, resource: _Resource) -> str:
        if resource.type == "AWS::Lambda::Function":
            runtime = resource.props.get("Runtime")
            return f"Lambda {runtime}" if isinstance(runtime, str) else "Lambda"
        return resource.type.removeprefix("AWS::").replace("::", " ")

    # ---- building -----------------------------------------------------------------------------

    def dot(self) -> str:
        self.draw_network()
        self.draw_services()
        self.attach_policies()
        self.fold_roles()
        self.draw_grants()
        self.draw_template_references()
        self.fold_satellites()
        self.draw_other()
        return self.emit()

    def draw_network(self) -> None:
        for resource in self.of_type(_VPC):
            cidr = self.render(resource.props.get("CidrBlock", "?"), resource.stack)
            region_path = self.region_path(resource.stack.account, resource.stack.region)
            attrs = {
                "id": resource.node_id,
                "label": f"VPC {cidr} ({resource.stack.stack_name})",
                "style": "rounded,filled",
                "fillcolor": "#fbfbf7",
                "color": "#2e7d32",
                "penwidth": "1.5",
                "fontsize": "11",
            }
            cluster = self.cluster([region_path, (f"cluster_{resource.node_id}", "1-vpc", attrs)])
            self.vpc_clusters[resource.key] = cluster
            self.home[resource.key] = resource.node_id
        for subnet in self.of_type(_SUBNET):
            tags = {
                str(tag.get("Key")): self.render(tag.get("Value"), subnet.stack)
                for tag in _as_list(subnet.props.get("Tags"))
                if isinstance(tag, dict)
            }
            tier_type = tags.get("aws-cdk:subnet-type", "")
            if not tier_type and subnet.props.get("MapPublicIpOnLaunch") is True:
                tier_type = "Public"
            tier = tags.get("aws-cdk:subnet-name") or tier_type.lower() or "untagged"
            self.tiers[subnet.key] = (tier, tier_type)
            vpc = self.target(subnet.props.get("VpcId"), subnet.stack)
            vpc = vpc if vpc in self.vpc_clusters else None
            self.subnet_vpc[subnet.key] = vpc or ("", "")
            az = self.render(subnet.props.get("AvailabilityZone", "AZ ?"), subnet.stack)
            cidr = self.render(subnet.props.get("CidrBlock", "CIDR ?"), subnet.stack)
            node = self.resource_node(subnet, "subnet", f"{tier} {az}\n{cidr}")
            node.attrs = {
                "fillcolor": "white",
                "color": _TIER_COLOURS.get(tier_type, _UNTIERED_COLOURS)[1],
            }
            self.add_node(node, self.tier_cluster(subnet.key, subnet), subnet)
        self.draw_routes()
        for nat in self.of_type("AWS::EC2::NatGateway"):
            home = self.target(nat.props.get("SubnetId"), nat.stack)
            az = ""
            if home and home in self.tiers:
                subnet = self.resources[home]
                az = "\n" + self.render(subnet.props.get("AvailabilityZone", ""), subnet.stack)
                cluster = self.tier_cluster(home, nat)
                self.flows[(nat.node_id, subnet.node_id, "placement")].labels.add("in")
            else:
                cluster = self.fallback_vpc_cluster(nat)
            eip = self.target(nat.props.get("AllocationId"), nat.stack)
            node = self.resource_node(nat, "nat-gateway", f"NAT gateway{az}")
            if eip:
                self.fold(eip, node)
            self.add_node(node, cluster, nat)
        for gateway in self.of_type("AWS::EC2::InternetGateway"):
            attachments = [
                a
                for a in self.of_type("AWS::EC2::VPCGatewayAttachment")
                if self.target(a.props.get("InternetGatewayId"), a.stack) == gateway.key
            ]
            vpcs = [self.target(a.props.get("VpcId"), a.stack) for a in attachments]
            vpc = next((v for v in sorted(filter(None, vpcs)) if v in self.vpc_clusters), None)
            node = self.resource_node(gateway, "internet-gateway", "Internet gateway")
            if vpc:
                cluster = self.vpc_clusters[vpc]
            else:
                account, region = gateway.stack.account, gateway.stack.region
                cluster = self.cluster([self.region_path(account, region)])
            self.add_node(node, cluster, gateway)
        for endpoint in self.of_type("AWS::EC2::VPCEndpoint"):
            self.draw_endpoint(endpoint)

    def tier_cluster(self, subnet: Key, placed: _Resource) -> _Cluster:
        """The cluster of ``subnet``'s tier (in its VPC's cluster)."""
        tier, tier_type = self.tiers[subnet]
        vpc = self.subnet_vpc[subnet]
        fill, line = _TIER_COLOURS.get(tier_type, _UNTIERED_COLOURS)
        vpc_cluster = self.vpc_clusters.get(vpc) or self.fallback_vpc_cluster(placed)
        name = f"{vpc_cluster.name}/{tier}"
        if name not in vpc_cluster.clusters:
            vpc_cluster.clusters[name] = _Cluster(
                name,
                f"{_TIER_ORDER.get(tier_type, 3)}-{tier}",
                {
                    "label": f"{tier} subnets ({tier_type or 'no subnet-type tag'})",
                    "style": "rounded,filled",
                    "fillcolor": fill,
                    "color": line,
                    "fontsize": "10",
                },
            )
        return vpc_cluster.clusters[name]

    def fallback_vpc_cluster(self, resource: _Resource) -> _Cluster:
        """The VPC a resource is in when its subnets are not in these templates."""
        candidates = [
            self.target(value, resource.stack)
            for value in self.values_under(resource.props, ("VpcId",))
        ]
        for group in self.values_under(resource.props, ("SecurityGroupIds", "SecurityGroups")):
            sg = self.target(group, resource.stack)
            if sg:
                candidates.append(
                    self.target(self.resources[sg].props.get("VpcId"), self.resources[sg].stack)
                )
        for vpc in candidates:
            if vpc and vpc in self.vpc_clusters:
                return self.vpc_clusters[vpc]
        if len(self.vpc_clusters) == 1:
            return next(iter(self.vpc_clusters.values()))
        region = self.region_path(resource.stack.account, resource.stack.region)
        attrs = {
            "label": "VPC (not in these templates)",
            "style": "rounded,dashed",
            "color": "#2e7d32",
            "fontsize": "11",
        }
        return self.cluster([region, (f"{region[0]}/vpc-unresolved", "1-vpc-z", attrs)])

    def subnet_placement(self, resource: _Resource, subnets: list[Any]) -> tuple[_Cluster, str]:
        """Where a resource with ``subnets`` goes, and a label line when they are unresolved."""
        keys = [self.target(s, resource.stack) for s in subnets]
        resolved = [k for k in keys if k in self.tiers]
        if resolved and len(resolved) == len(keys):
            tiers = sorted({self.tiers[k] for k in resolved})
            vpcs = {self.subnet_vpc[k] for k in resolved}
            if len(tiers) == 1 and len(vpcs) == 1:
                return self.tier_cluster(resolved[0], resource), ""
            if len(vpcs) == 1 and next(iter(vpcs)) in self.vpc_clusters:
                return self.vpc_clusters[next(iter(vpcs))], "subnets: " + ", ".join(
                    t for t, _ in tiers
                )
        return self.fallback_vpc_cluster(resource), "in VPC (subnet not resolved)"

    def azs(self, subnets: list[Any], stack: StackArtifact) -> str:
        zones = set()
        for value in subnets:
            key = self.target(value, stack)
            if key and key in self.tiers:
                subnet = self.resources[key]
                zones.add(self.render(subnet.props.get("AvailabilityZone", "?"), subnet.stack))
        return ", ".join(sorted(zones))

    def draw_routes(self) -> None:
        """Route edges: subnet -> NAT gateway / internet gateway / gateway endpoint."""
        tables = self.route_tables
        for association in self.of_type("AWS::EC2::SubnetRouteTableAssociation"):
            subnet = self.target(association.props.get("SubnetId"), association.stack)
            table = self.target(association.props.get("RouteTableId"), association.stack)
            if subnet and table:
                tables[table].append(subnet)
        for table, subnets in sorted(tables.items()):
            owner = self.resources[subnets[0]]
            if len(subnets) == 1 and table[0] == owner.key[0]:
                self.fold(table, self.nodes[owner.node_id])
        for route in self.of_type("AWS::EC2::Route"):
            table = self.target(route.props.get("RouteTableId"), route.stack)
            hop = None
            for prop in ("NatGatewayId", "GatewayId", "TransitGatewayId", "VpcEndpointId"):
                hop = hop or self.target(route.props.get(prop), route.stack)
            destination = self.render(
                route.props.get("DestinationCidrBlock")
                or route.props.get("DestinationIpv6CidrBlock")
                or route.props.get("DestinationPrefixListId", "?"),
                route.stack,
            )
            if not table or not hop:
                continue
            for subnet in tables.get(table, []):
                flow = self.flows[(self.resources[subnet].node_id, self.node_of(hop), "route")]
                flow.labels.add(destination)
                flow.via.add(route.logical_id)

    def node_of(self, key: Key) -> str:
        return self.resources[key].node_id

    def draw_endpoint(self, endpoint: _Resource) -> None:
        service = self.render(endpoint.props.get("ServiceName", "?"), endpoint.stack)
        kind_name = str(endpoint.props.get("VpcEndpointType", "Gateway"))
        subnets = _as_list(endpoint.props.get("SubnetIds"))
        if kind_name == "Gateway" or not subnets:
            node = self.resource_node(
                endpoint, "gateway-endpoint", f"{kind_name} endpoint\n{service}"
            )
            vpc = self.target(endpoint.props.get("VpcId"), endpoint.stack)
            cluster = self.vpc_clusters.get(vpc) if vpc else None
            self.add_node(node, cluster or self.fallback_vpc_cluster(endpoint), endpoint)
            for table_value in _as_list(endpoint.props.get("RouteTableIds")):
                table = self.target(table_value, endpoint.stack)
                for subnet in self.route_tables.get(table, []) if table else []:
                    flow = self.flows[(self.node_of(subnet), endpoint.node_id, "route")]
                    flow.labels.add("prefix list")
            return
        placed, note = self.subnet_placement(endpoint, subnets)
        label = f"{service}\n{kind_name.lower()}, {self.azs(subnets, endpoint.stack) or '?'}"
        node = self.resource_node(endpoint, "interface-endpoint", label)
        if note:
            node.label += f"\n{note}"
        attrs = {
            "label": "interface endpoints (PrivateLink)",
            "style": "rounded,dashed",
            "color": "#5e35b1",
            "fontsize": "9",
        }
        cluster = placed.clusters.setdefault(
            f"{placed.name}/endpoints", _Cluster(f"{placed.name}/endpoints", "9", attrs)
        )
        cluster.grid = 3
        self.add_node(node, cluster, endpoint)

    def draw_services(self) -> None:
        """Functions, SageMaker, Bedrock, S3 Vectors, buckets and KMS keys."""
        pending: list[tuple[_Resource, _Node]] = []
        for resource in self.resources.values():
            kind = self.kind_of(resource)
            if kind is None:
                continue
            label = f"{self.friendly(resource)}\n{self.type_label(resource)}"
            node = self.resource_node(resource, kind, label)
            subnets = (
                self.values_under(resource.props, ("SubnetIds", "Subnets", "SubnetId"))
                if kind in ("lambda", "sagemaker")
                else []
            )
            if subnets or (kind == "lambda" and resource.props.get("VpcConfig")):
                cluster, note = self.subnet_placement(resource, subnets)
                if note:
                    node.label += f"\n{note}"
                self.add_node(node, cluster, resource)
            elif kind == "sagemaker":
                pending.append((resource, node))
            else:
                account, region = resource.stack.account, resource.stack.region
                self.add_node(node, self.cluster(self.group_path(kind, account, region)), resource)
        for resource, node in pending:  # e.g. a user profile goes where its domain is
            domain_cluster: _Cluster | None = None
            for _path, key in self.walk_references(resource):
                if self.resources[key].type == "AWS::SageMaker::Domain":
                    domain_cluster = self.find_cluster(self.node_of(key))
            if domain_cluster is None:
                account, region = resource.stack.account, resource.stack.region
                domain_cluster = self.cluster(self.group_path("sagemaker", account, region))
            self.add_node(node, domain_cluster, resource)

    def find_cluster(self, node_id: str) -> _Cluster | None:
        stack = [self.root]
        while stack:
            current = stack.pop()
            if node_id in current.nodes:
                return current
            stack.extend(current.clusters.values())
        return None

    @staticmethod
    def kind_of(resource: _Resource) -> str | None:
        kind = {
            "AWS::Lambda::Function": "lambda",
            "AWS::S3::Bucket": "bucket",
            "AWS::KMS::Key": "kms-key",
        }.get(resource.type)
        for prefix, name in (
            ("AWS::SageMaker::", "sagemaker"),
            ("AWS::Bedrock::", "bedrock"),
            ("AWS::S3Vectors::", "s3vectors"),
        ):
            if resource.type.startswith(prefix):
                kind = name
        return kind

    def fold_roles(self) -> None:
        """A role with one user in its stack is folded into that user's node."""
        for node_id in sorted(self.nodes):
            node = self.nodes[node_id]
            if node.kind not in ("lambda", "sagemaker", "bedrock"):
                continue
            if node.key is None:
                continue
            for path, key in self.walk_references(self.resources[node.key]):
                role_path = any(
                    p == "Role" or p.endswith(("RoleArn", "ExecutionRole", "ServiceRole"))
                    for p in path
                )
                if (
                    self.resources[key].type == _ROLE
                    and role_path
                    and "Environment" not in path
                    and node_id not in self.role_users[key]
                ):
                    self.role_users[key].append(node_id)
        for role, users in sorted(self.role_users.items()):
            if len(users) == 1 and users[0].split("/", 1)[0] == role[0]:
                self.fold(role, self.nodes[users[0]])

    def fold(self, key: Key, node: _Node) -> None:
        """List resource ``key`` in ``node``'s tooltip: it is drawn as part of that node."""
        if key in self.home:
            return
        self.home[key] = node.node_id
        node.members.append(self.resources[key].entry)

    def attach_policies(self) -> None:
        """Which policies each role has: their ``Roles``, the role's ``ManagedPolicyArns``."""
        for policy in self.of_type(*_POLICIES):
            for value in _as_list(policy.props.get("Roles")):
                role = self.target(value, policy.stack) or self.literal_names.get(
                    (_ROLE, self.render(value, policy.stack))
                )
                if role and self.resources[role].type == _ROLE:
                    self.attached[role].append(policy.key)
        for holder in self.of_type(_ROLE):
            for value in _as_list(holder.props.get("ManagedPolicyArns")):
                key = self.target(value, holder.stack)
                if key and self.resources[key].type in _POLICIES:
                    self.attached[holder.key].append(key)

    def policies(self) -> Iterator[tuple[Key, _Resource, dict[str, Any]]]:
        """(role, policy or role, statement) for every Allow statement of a role here."""
        for role in self.of_type(_ROLE):
            documents: list[tuple[_Resource, Any]] = [
                (role, inline.get("PolicyDocument"))
                for inline in _as_list(role.props.get("Policies"))
                if isinstance(inline, dict)
            ]
            documents += [
                (self.resources[p], self.resources[p].props.get("PolicyDocument"))
                for p in sorted(set(self.attached.get(role.key, [])))
            ]
            for source, document in documents:
                statements = document.get("Statement") if isinstance(document, dict) else None
                for statement in _as_list(statements):
                    if isinstance(statement, dict) and statement.get("Effect") == "Allow":
                        yield role.key, source, statement

    def draw_grants(self) -> None:
        """Data-flow edges from the IAM policies of the environment's roles."""
        grants: list[tuple[Key, str, str, _Flow]] = []
        for role, source, statement in self.policies():
            actions = [a for a in _as_list(statement.get("Action")) if isinstance(a, str)]
            by_service: dict[str, list[str]] = defaultdict(list)
            for action in actions:
                service, _, name = action.partition(":")
                by_service[service.lower()].append(name)
            by_service = {
                s: n for s, n in by_service.items() if s in ("s3", "s3vectors", "kms", "bedrock")
            }
            if not by_service:
                continue
            for value in _as_list(statement.get("Resource")):
                found, suffix = self.arn_target(value, source.stack)
                if found is None:
                    self.unattributed.add(
                        f"{source.node_id}: {', '.join(sorted(actions))} on "
                        f"{self.render(value, source.stack)}"
                    )
                    continue
                target_type = self.resources[found].type if isinstance(found, tuple) else ""
                destination = found if isinstance(found, str) else self.node_of(found)
                for service, names in sorted(by_service.items()):
                    flow = _Flow()
                    family = self.grant(service, names, found, target_type, suffix, flow)
                    if family is not None:
                        flow.via.add(source.logical_id)
                        grants.append((role, destination, family, flow))
        for role, destination, family, flow in grants:
            resource = self.resources[role]
            account = resource.stack.account
            if role not in self.home:
                node = self.resource_node(resource, "role", f"{self.friendly(resource)}\nIAM role")
                group = self.group_path("role", account, resource.stack.region)
                self.add_node(node, self.cluster(group), resource)
                for user in self.role_users.get(role, []):
                    self.flows[(user, resource.node_id, "assumes")].labels.add("uses role")
            if destination.startswith("foundation-model/") and destination not in self.nodes:
                _, region, model = destination.split("/", 2)
                node = _Node(destination, "foundation-model", f"{_short(model)}\nfoundation model")
                node.info.append("named in IAM policies; not a resource of these stacks")
                group = self.group_path("foundation-model", account, region)
                self.add_node(node, self.cluster(group))
            merged = self.flows[(self.home[role], destination, family)]
            for prefix, modes in flow.prefixes.items():
                merged.prefixes[prefix] |= modes
            merged.actions |= flow.actions
            merged.via |= flow.via

    @staticmethod
    def grant(
        service: str, names: list[str], found: Key | str, target_type: str, suffix: str, flow: _Flow
    ) -> str | None:
        """Fill ``flow`` for ``service:names`` on ``found``; return the edge family, if any."""
        if (service == "s3" and target_type == "AWS::S3::Bucket") or (
            service == "s3vectors" and target_type.startswith("AWS::S3Vectors::")
        ):
            modes = set().union(*(_s3_modes(service, n) for n in names))
            if not modes:
                return None
            prefix = suffix.lstrip("/") if suffix.startswith("/") else suffix
            flow.prefixes[prefix or ("*" if suffix else "")] |= modes
            flow.actions |= {f"{service}:{n}" for n in names}
            return "s3"
        if service == "kms" and target_type == "AWS::KMS::Key":
            used = [n for n in names if _uses_key(n)]
            flow.actions |= {f"kms:{n}" for n in used}
            return "kms" if used else None
        if service == "bedrock" and (
            target_type.startswith("AWS::Bedrock::")
            or (isinstance(found, str) and found.startswith("foundation-model/"))
        ):
            flow.actions |= set(names)
            return "bedrock"
        return None

    def draw_template_references(self) -> None:
        """Edges for what the templates wire together: data sources, encryption, logging."""
        for node_id in sorted(self.nodes):
            node = self.nodes[node_id]
            if node.key is None or node.kind not in _REFERRERS:
                continue
            resource = self.resources[node.key]
            if resource.type == "AWS::Bedrock::DataSource":
                s3 = resource.props.get("DataSourceConfiguration", {}).get("S3Configuration", {})
                bucket = self.target(s3.get("BucketArn"), resource.stack)
                if bucket:
                    flow = self.flows[(node_id, self.node_of(bucket), "s3")]
                    for prefix in _as_list(s3.get("InclusionPrefixes")) or ["*"]:
                        flow.prefixes[self.render(prefix, resource.stack).rstrip("*") + "*"].add(
                            "read"
                        )
                    flow.via.add(f"{resource.logical_id} S3Configuration")
            for path, key in self.walk_references(resource):
                target = self.resources[key]
                if key not in self.home or self.home[key] != target.node_id:
                    continue
                if target.type.startswith("AWS::EC2::") or target.type == _ROLE:
                    continue
                if any(f for (s, d, f) in self.flows if s == node_id and d == target.node_id):
                    continue
                if path and path[0] == "Environment":
                    continue  # what a function reads from its settings: IAM says what it may do
                lowered = "/".join(path).lower()
                if "kms" in lowered or "encryption" in lowered:
                    label = "encrypted with"
                elif "logging" in lowered:
                    label = "logs to"
                else:
                    label = path[0] if path else "refers to"
                self.flows[(node_id, target.node_id, "reference")].labels.add(label)

    def fold_satellites(self) -> None:
        """Fold policies, aliases, route tables, security groups... into the node they serve."""
        changed = True
        while changed:
            changed = False
            for resource in self.resources.values():
                if resource.key in self.home:
                    continue
                owner = self.owner(resource)
                if owner and owner in self.home:
                    holder_id = self.home[owner]
                    if holder_id.split("/", 1)[0] != resource.stack.stack_name:
                        continue
                    if holder_id in self.nodes:
                        self.fold(resource.key, self.nodes[holder_id])
                    else:  # a VPC: its cluster's tooltip
                        self.home[resource.key] = holder_id
                        self.vpc_members[holder_id].append(resource.entry)
                    changed = True

    def owner(self, resource: _Resource) -> Key | None:
        """The resource this one belongs to, when it belongs to exactly one."""
        if resource.type in _SATELLITES:
            return self.target(resource.props.get(_SATELLITES[resource.type]), resource.stack)
        if resource.type in _POLICIES:
            roles = sorted({r for r, p in self.attached.items() if resource.key in p})
            return roles[0] if len(roles) == 1 else None
        if resource.type in ("AWS::EC2::SecurityGroup", "AWS::Logs::LogGroup"):
            users = {
                node.key
                for node in self.nodes.values()
                if node.key is not None
                and node.kind in ("lambda", "sagemaker", "bedrock")
                and any(
                    key == resource.key
                    for _path, key in self.walk_references(self.resources[node.key])
                )
            }
            if len(users) == 1:
                return users.pop()
        return None

    def draw_other(self) -> None:
        """Each stack's resources not drawn: one node, listed in its tooltip."""
        by_stack: dict[str, list[_Resource]] = defaultdict(list)
        for resource in self.resources.values():
            if resource.key not in self.home:
                by_stack[resource.stack.stack_name].append(resource)
        for stack in self.stacks:
            rest = by_stack.get(stack.stack_name, [])
            if not rest:
                continue
            counts: dict[str, int] = defaultdict(int)
            for resource in rest:
                counts[resource.type.removeprefix("AWS::")] += 1
            top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:3]
            summary = "\n".join(f"{count} {name}" for name, count in top)
            more = "\n..." if len(counts) > 3 else ""
            node_id = f"{stack.stack_name}/other-resources"
            node = _Node(
                node_id,
                "other",
                f"{stack.stack_name}: {len(rest)} other resources\n{summary}{more}",
                info=[f"{stack.stack_name}: {len(rest)} other resources"],
                members=[r.entry for r in rest],
            )
            cluster = self.cluster(self.group_path("other", stack.account, stack.region), grid=3)
            self.add_node(node, cluster)
            for resource in rest:
                self.home[resource.key] = node_id

    def of_type(self, *types: str) -> list[_Resource]:
        return [r for r in self.resources.values() if r.type in types]

    # ---- DOT ----------------------------------------------------------------------------------

    def emit(self) -> str:
        name = f"architecture-{self.environment or 'delivery-pipeline'}"
        title = self.environment or "delivery pipeline (outside any stage)"
        count = len(self.resources)
        lines = [
            f"digraph {_quote(name)} {{",
            "  graph ["
            + _attributes(
                {
                    "id": name,
                    "label": f"{title}: {len(self.stacks)} stacks, {count} resources, "
                    "drawn from the synthesized templates",
                    "labelloc": "t",
                    "labeljust": "l",
                    "rankdir": "LR",
                    "fontname": "Helvetica",
                    "fontsize": "12",
                    "newrank": "true",
                    "nodesep": "0.18",
                    "ranksep": "0.45",
                }
            )
            + "];",
            "  node ["
            + _attributes(
                {
                    "fontname": "Helvetica",
                    "fontsize": "9",
                    "style": "filled",
                    "margin": "0.08,0.03",
                    "height": "0.3",
                    "penwidth": "1",
                }
            )
            + "];",
            "  edge ["
            + _attributes({"fontname": "Helvetica", "fontsize": "7", "arrowsize": "0.6"})
            + "];",
        ]
        lines += self.legend()
        lines += self.emit_cluster(self.root, "  ")
        lines += self.emit_edges()
        lines += [f"  // unattributed grant: {_ascii(text)}" for text in sorted(self.unattributed)]
        lines.append("}")
        return "\n".join(lines) + "\n"

    def emit_cluster(self, cluster: _Cluster, indent: str) -> list[str]:
        lines: list[str] = []
        inner = indent
        if cluster.name:
            lines.append(f"{indent}subgraph {_quote(cluster.name)} {{")
            inner = indent + "  "
            attrs = dict(cluster.attrs)
            cluster_id = attrs.get("id", "")
            if cluster_id:
                stack_name, logical_id = cluster_id.split("/", 1)
                members = [self.resources[(stack_name, logical_id)].entry]
                members += sorted(self.vpc_members.get(cluster_id, []))
                attrs["tooltip"] = "\n".join(members)
            for attr in sorted(attrs):
                lines.append(f"{inner}{attr}={_quote(attrs[attr])};")
        for child in sorted(cluster.clusters.values(), key=lambda c: (c.sort_key, c.name)):
            lines += self.emit_cluster(child, inner)
        ordered = sorted(cluster.nodes)
        for node_id in ordered:
            lines.append(f"{inner}{_quote(node_id)} [{_attributes(self.node_attrs(node_id))}];")
        if cluster.grid > 1:
            for index in range(len(ordered)):
                if index % cluster.grid:
                    left, right = _quote(ordered[index - 1]), _quote(ordered[index])
                    lines.append(f"{inner}{left} -> {right} [style=invis];")
        lines += self.anchor(cluster, inner)
        if cluster.name:
            lines.append(f"{indent}}}")
        return lines

    def anchor(self, cluster: _Cluster, indent: str) -> list[str]:
        """Keep a region's VPCs left of its services: invisible edges through one point.

        With ``rankdir=LR`` a rank is a column; without this the service groups share the VPC's
        columns and stack above or below it, and every data-flow edge crosses the picture.
        """
        if not cluster.name.startswith("cluster_region_"):
            return []
        inside: list[str] = []
        outside: list[str] = []
        for child in sorted(cluster.clusters.values(), key=lambda c: (c.sort_key, c.name)):
            nodes = sorted(self.descendants(child))
            (inside if child.sort_key.startswith("1-vpc") else outside).extend(nodes)
        if not inside or not outside:
            return []
        point = _quote("anchor/" + cluster.name.removeprefix("cluster_region_"))
        lines = [f'{indent}{point} [shape=point, style=invis, width=0, height=0, label=""];']
        hidden = "[style=invis, weight=0]"
        lines += [f"{indent}{_quote(n)} -> {point} {hidden};" for n in inside]
        lines += [f"{indent}{point} -> {_quote(n)} {hidden};" for n in outside]
        return lines

    def descendants(self, cluster: _Cluster) -> list[str]:
        found = list(cluster.nodes)
        for child in cluster.clusters.values():
            found += self.descendants(child)
        return found

    def node_attrs(self, node_id: str) -> dict[str, str]:
        node = self.nodes[node_id]
        attrs = dict(_KINDS[node.kind][1])
        attrs.update(node.attrs)
        own, *folded = node.members or [""]
        tooltip = [line for line in [own, *node.info] if line]
        if folded:
            tooltip += ["with:", *sorted(folded)]
        attrs.update(
            {"id": node_id, "class": node.kind, "label": node.label, "tooltip": "\n".join(tooltip)}
        )
        return attrs

    def emit_edges(self) -> list[str]:
        lines = []
        for (source, destination, family), flow in sorted(self.flows.items()):
            if source not in self.nodes or destination not in self.nodes:
                continue
            for edge_class, label, tooltip in self.edge_labels(family, flow):
                attrs = dict(_EDGES[edge_class][1])
                attrs.update(
                    {
                        "id": f"{source}->{destination}:{edge_class}",
                        "class": edge_class,
                        "label": label,
                        "tooltip": tooltip,
                    }
                )
                lines.append(f"  {_quote(source)} -> {_quote(destination)} [{_attributes(attrs)}];")
        return lines

    @staticmethod
    def edge_labels(family: str, flow: _Flow) -> list[tuple[str, str, str]]:
        via = ", ".join(sorted(flow.via))
        actions = ", ".join(sorted(flow.actions))
        if family == "s3":
            entries = {p: m for p, m in flow.prefixes.items() if p} or dict(flow.prefixes)
            groups: dict[str, list[str]] = defaultdict(list)
            for prefix, modes in entries.items():
                mode = "read+write" if modes >= {"read", "write"} else next(iter(sorted(modes)))
                groups[mode].append(prefix)
            result = []
            for mode in sorted(groups):
                shown = sorted(p for p in groups[mode] if p not in ("", "*"))
                edge_class = mode.replace("+", "-")
                tooltip = f"{mode} {', '.join(sorted(groups[mode])) or 'bucket'}; via {via}"
                if actions:
                    tooltip += f"\n{actions}"
                result.append((edge_class, "\n".join([mode, *shown]), tooltip))
            return result
        if family == "kms":
            return [("use-key", "use key", f"{actions}; via {via}")]
        if family == "bedrock":
            names = sorted(flow.actions)
            label = ", ".join(names[:2]) + (f" +{len(names) - 2}" if len(names) > 2 else "")
            return [("bedrock", label, f"bedrock:{', bedrock:'.join(names)}; via {via}")]
        labels = ", ".join(sorted(flow.labels))
        tooltip = labels + (f"; {via}" if via else "")
        return [(family, labels if family != "placement" else "", tooltip)]

    @staticmethod
    def legend() -> list[str]:
        kinds = []
        for text, attrs in _KINDS.values():
            fill = attrs.get("fillcolor", "white")
            colour = attrs.get("color", _TIER_COLOURS["Private"][1])
            kinds.append(f'<td bgcolor="{fill}" color="{colour}">{text} ({attrs["shape"]})</td>')
        edges = [
            f'<td><font color="{attrs.get("color", "black")}">--&gt; {text}</font></td>'
            for text, attrs in _EDGES.values()
        ]
        edges += [
            f'<td bgcolor="{fill}" color="{line}">{tier_type} subnet tier</td>'
            for tier_type, (fill, line) in _TIER_COLOURS.items()
        ]
        half = (len(kinds) + 1) // 2
        columns = [kinds[:half], kinds[half:], edges]
        rows = []
        for index in range(max(len(c) for c in columns)):
            cells = [c[index] if index < len(c) else '<td border="0"></td>' for c in columns]
            rows.append("<tr>" + "".join(cells) + "</tr>")
        table = (
            '<table border="0" cellborder="1" cellspacing="1" cellpadding="2">'
            '<tr><td border="0" colspan="3"><b>Legend</b></td></tr>' + "".join(rows) + "</table>"
        )
        return [
            '  subgraph "cluster_legend" {',
            '    label=""; style="rounded"; color="#e0e0e0";',
            '    "legend/key" [id="legend", shape=plaintext, style="", fontsize=8,',
            f"      label=<{table}>];",
            "  }",
        ]
