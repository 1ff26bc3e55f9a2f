"""The rules, one module per service family; importing this package registers them all."""

from ml_genai_checks.rules import assembly, bedrock, iam, sagemaker, sagemaker_mlops

__all__ = ["assembly", "bedrock", "iam", "sagemaker", "sagemaker_mlops"]
