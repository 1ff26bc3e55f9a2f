"""Rules: bedrock (being written)."""
