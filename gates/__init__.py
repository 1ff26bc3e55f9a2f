"""Compliance gates: cdk-nag packs (during synth), cfn-lint and checkov (over cdk.out)."""
