"""``python -m preflight [--post-deploy]``: see ``preflight.cli``."""

import os

from preflight.cli import main

# As the Makefile does: the SageMaker check imports the ML stack module, and aws-cdk-lib would
# print jsii's banner about Node 20 among the results.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

raise SystemExit(main())
