"""CloudFormation return values: what ``Ref`` and ``Fn::GetAtt`` give for each resource type.

``RETURN_VALUES`` maps a resource type to the property holding its physical name and to
``Fn::Sub``-style templates for ``Ref`` and each attribute, taken from the "Return values" section
of each type's CloudFormation reference page. ``gates.arn_match.Resolver`` reads it to turn a
reference to a resource of the template into the ARN (or name, ID, URL) shape it stands for.
"""

from __future__ import annotations

_REGIONAL = ":${AWS::Region}:${AWS::AccountId}:"


def _arn(service: str, resource: str, scope: str = _REGIONAL) -> str:
    """An ARN template of this partition: regional and in this account unless ``scope`` says."""
    return f"arn:${{AWS::Partition}}:{service}{scope}{resource}"


# CloudFormation return values (each type's "Return values" section of the CloudFormation
# reference, https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/): the
# property holding the physical name, then Fn::Sub-style templates for Ref and each attribute.
# ${Name} is that property's value (a generated name when absent), ${Id} a generated ID,
# ${Path} the IAM path property (default "/").
RETURN_VALUES: dict[str, tuple[str | None, dict[str, str]]] = {
    "AWS::Logs::LogGroup": (
        "LogGroupName",
        {
            "Ref": "${Name}",
            "Arn": _arn("logs", "log-group:${Name}:*"),
        },
    ),
    "AWS::S3::Bucket": (
        "BucketName",
        {
            "Ref": "${Name}",
            "Arn": _arn("s3", "${Name}", scope=":::"),
            "DomainName": "${Name}.s3.${AWS::URLSuffix}",
            "RegionalDomainName": "${Name}.s3.${AWS::Region}.${AWS::URLSuffix}",
        },
    ),
    "AWS::KMS::Key": (
        None,
        {
            "Ref": "${Id}",
            "KeyId": "${Id}",
            "Arn": _arn("kms", "key/${Id}"),
        },
    ),
    "AWS::KMS::Alias": ("AliasName", {"Ref": "${Name}"}),
    "AWS::SQS::Queue": (
        "QueueName",
        {
            "Ref": "https://sqs.${AWS::Region}.${AWS::URLSuffix}/${AWS::AccountId}/${Name}",
            "QueueUrl": "https://sqs.${AWS::Region}.${AWS::URLSuffix}/${AWS::AccountId}/${Name}",
            "QueueName": "${Name}",
            "Arn": _arn("sqs", "${Name}"),
        },
    ),
    "AWS::SNS::Topic": (
        "TopicName",
        {
            "Ref": _arn("sns", "${Name}"),
            "TopicArn": _arn("sns", "${Name}"),
            "TopicName": "${Name}",
        },
    ),
    "AWS::IAM::Role": (
        "RoleName",
        {
            "Ref": "${Name}",
            "Arn": _arn("iam", "role${Path}${Name}", scope="::${AWS::AccountId}:"),
            "RoleId": "${Id}",
        },
    ),
    "AWS::IAM::ManagedPolicy": (
        "ManagedPolicyName",
        {
            "Ref": _arn("iam", "policy${Path}${Name}", scope="::${AWS::AccountId}:"),
            "PolicyArn": _arn("iam", "policy${Path}${Name}", scope="::${AWS::AccountId}:"),
        },
    ),
    "AWS::Lambda::Function": (
        "FunctionName",
        {
            "Ref": "${Name}",
            "Arn": _arn("lambda", "function:${Name}"),
        },
    ),
    "AWS::Events::Rule": (
        "Name",
        {"Arn": _arn("events", "rule/${Name}")},
    ),
    "AWS::EC2::VPC": (
        None,
        {
            "Ref": "vpc-${Id}",
            "VpcId": "vpc-${Id}",
            "DefaultSecurityGroup": "sg-${Id}",
            "DefaultNetworkAcl": "acl-${Id}",
        },
    ),
    "AWS::EC2::Subnet": (None, {"Ref": "subnet-${Id}", "SubnetId": "subnet-${Id}"}),
    "AWS::EC2::SecurityGroup": (None, {"Ref": "sg-${Id}", "GroupId": "sg-${Id}"}),
    "AWS::EC2::VPCEndpoint": (None, {"Ref": "vpce-${Id}", "Id": "vpce-${Id}"}),
    "AWS::SageMaker::Domain": (
        None,
        {
            "Ref": "d-${Id}",
            "DomainId": "d-${Id}",
            "DomainArn": _arn("sagemaker", "domain/d-${Id}"),
        },
    ),
    "AWS::SageMaker::ModelPackageGroup": (
        "ModelPackageGroupName",
        {
            "ModelPackageGroupArn": _arn("sagemaker", "model-package-group/${Name}"),
        },
    ),
    "AWS::Bedrock::Guardrail": (
        None,
        {
            "GuardrailArn": _arn("bedrock", "guardrail/${Id}"),
            "GuardrailId": "${Id}",
            "Version": "${Id}",
        },
    ),
    "AWS::Bedrock::GuardrailVersion": (
        None,
        {
            "Ref": "${Id}|${Id}",
            "GuardrailArn": _arn("bedrock", "guardrail/${Id}"),
            "GuardrailId": "${Id}",
            "Version": "${Id}",
        },
    ),
    "AWS::Bedrock::KnowledgeBase": (
        None,
        {
            "Ref": "${Id}",
            "KnowledgeBaseArn": _arn("bedrock", "knowledge-base/${Id}"),
            "KnowledgeBaseId": "${Id}",
        },
    ),
    "AWS::Bedrock::DataSource": (
        None,
        {"Ref": "${Id}|${Id}", "DataSourceId": "${Id}"},
    ),
    "AWS::S3Vectors::VectorBucket": (
        "VectorBucketName",
        {
            "Ref": _arn("s3vectors", "bucket/${Name}"),
            "VectorBucketArn": _arn("s3vectors", "bucket/${Name}"),
        },
    ),
    "AWS::S3Vectors::Index": (
        "IndexName",
        {
            "Ref": _arn("s3vectors", "bucket/${Id}/index/${Name}"),
            "IndexArn": _arn("s3vectors", "bucket/${Id}/index/${Name}"),
        },
    ),
}
