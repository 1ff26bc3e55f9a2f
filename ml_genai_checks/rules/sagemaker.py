"""Rules: sagemaker (being written)."""
