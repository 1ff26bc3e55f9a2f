"""The rules, one module per service family; importing this package registers them all."""

from ml_genai_checks.rules import assembly, bedrock, iam, sagemaker
from ml_genai_checks.rules import sagemaker_mlops as sagemaker_mlops  # SageMaker MLOps rules

__all__ = ["assembly", "bedrock", "iam", "sagemaker"]
