"""ml constructs: see README.md in this folder."""
