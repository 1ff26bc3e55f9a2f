"""organization constructs: see README.md in this folder."""
