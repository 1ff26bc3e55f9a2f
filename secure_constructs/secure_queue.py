"""An SQS queue for failed events: KMS-encrypted, TLS-only, retained for 14 days, kept forever."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from secure_constructs.compliance import acknowledge

MAX_RETENTION = cdk.Duration.days(14)


class DeadLetterQueue(Construct):
    """A terminal dead-letter queue.

    Guarantees:
      * SSE-KMS with ``key`` (a customer-managed key; its policy must let SQS use it for the
        senders, e.g. ``kms:ViaService`` ``sqs.<region>.amazonaws.com``), data keys reused for
        5 minutes (the SQS default);
      * a queue policy denying any request without TLS (``aws:SecureTransport`` false);
      * messages kept 14 days (the SQS maximum), so an operator has two weeks to inspect them;
      * ``RemovalPolicy.RETAIN``: deleting the stack never drops failed events.

    Senders get exactly ``sqs:SendMessage`` and the key through SQS only (``grant_send``); the
    queue has no redrive policy of its own (it is the end of the line), which the Serverless
    pack's ``SQSRedrivePolicy`` rule is told next to the queue. Attribute ``queue``.
    """

    def __init__(self, scope: Construct, construct_id: str, *, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self._key = key
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            retention_period=MAX_RETENTION,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        acknowledge(
            self.queue,
            "Serverless::Serverless-SQSRedrivePolicy",
            "This queue is itself the dead-letter queue: a redrive policy would move failed "
            "events to yet another queue instead of keeping them here for inspection.",
        )

    def grant_send(self, grantee: iam.IGrantable) -> None:
        """``sqs:SendMessage`` on this queue, and the queue's key through SQS only."""
        stack = cdk.Stack.of(self)
        iam.Grant.add_to_principal(
            grantee=grantee, actions=["sqs:SendMessage"], resource_arns=[self.queue.queue_arn]
        )
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["kms:Decrypt", "kms:GenerateDataKey"],
            resource_arns=[self._key.key_arn],
            conditions={"StringEquals": {"kms:ViaService": f"sqs.{stack.region}.amazonaws.com"}},
        )
