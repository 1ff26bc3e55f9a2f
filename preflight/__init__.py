"""Read-only checks of a target AWS account and region before a first deploy (``make preflight``).

``python -m preflight --env dev --outdir cdk.out`` reads the environment's validated config from
``cdk.json`` and its synthesized templates from ``cdk.out`` (what ``cdk deploy`` would really
send), then asks the account, with read-only calls only, about what would make the deploy fail
or misbehave:

1. caller identity: the credentials are the environment's account (else nothing else runs);
2. Lambda concurrency: the templates' reservations leave the 100 unreserved Lambda insists on;
3. availability zones: every configured AZ is offered and available;
4. interface endpoints: each service is offered in every endpoint AZ and takes its policy;
5. account singletons (``preflight.singletons``): the ones the templates create do not exist
   yet, the ones the config leaves to someone else do;
6. SageMaker's ``/aws/sagemaker/*`` log groups: free when created, present when adopted;
7. Bedrock models: every allow-listed ID is a model or inference profile of the region;
8. CDK bootstrap: bootstrapped, with at least the version the templates require.

Each prints one line: ``ok``, ``problem`` (with the fix) or ``could not check`` (the call was
denied, unsupported or unreachable: operation and error code). A last line sums up. Exit status:
0 no problem, 1 any problem, 2 usage errors (bad config, no ``cdk.out``, no credentials).
"Could not check" alone does not make the exit status non-zero: it is listed by name in the
summary line to be verified by hand. No traceback, whatever the account answers.

Clients come from one ``boto3.session.Session`` (tests inject theirs), with short timeouts and
two attempts (``preflight.results.CLIENT_CONFIG``). boto3 1.44 / botocore 1.44 honour
``AWS_ENDPOINT_URL`` (and ``AWS_ENDPOINT_URL_<SERVICE>``) by themselves, so
``AWS_ENDPOINT_URL=http://127.0.0.1:5000 make preflight ENV=dev`` points every call at a local
emulator; ``tests/preflight`` does exactly that with a moto server.
"""
