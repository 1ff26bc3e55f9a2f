"""Delivery tooling: what the CDK bootstrap needs to deploy this app without AdministratorAccess.

``delivery.execution_policy`` derives the CloudFormation execution policy from the synthesized
templates; ``delivery.policy_check`` runs the policy-reference checks over the documents it wrote.
"""
