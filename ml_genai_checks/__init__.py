"""ML/GenAI rules for CloudFormation templates and CDK apps (see README.md in this folder).

Two ways to run the same rules: ``python -m ml_genai_checks PATH ...`` on templates or cloud
assemblies, and ``MLGenAIChecks`` as a CDK policy-validation plugin inside synthesis.
"""
