"""The one dead-letter queue construct: KMS-encrypted, TLS-only, 14 days, retained."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from .compliance import acknowledge

MAX_RETENTION = cdk.Duration.days(14)


class DeadLetterQueue(Construct):
    """A terminal dead-letter queue: where what cannot be processed waits for an operator.

    Guarantees:
      * SSE-KMS with ``encryption_key`` (a customer-managed key; its policy must let SQS use it
        for the senders, e.g. ``kms:ViaService`` ``sqs.<region>.amazonaws.com``), data keys
        reused for an hour;
      * a queue policy denying any request without TLS (``aws:SecureTransport`` false);
      * messages kept 14 days (the SQS maximum), so an operator has two weeks to inspect them;
      * ``RemovalPolicy.RETAIN``: deleting the stack never drops failed events;
      * no redrive policy of its own (it is the end of the line): the Serverless pack's
        ``SQSRedrivePolicy`` rule is acknowledged beside the queue, with ``owner`` completing
        the reason (``"the function's"``).

    Senders get exactly ``sqs:SendMessage`` on it and the key through SQS only: ``grant_send``
    for a grantable (returns the ``iam.Grant``), or ``send_statements`` for a policy document
    built by hand. ``queue_id`` is the queue's construct ID: the default, ``Default``, gives it
    the logical ID it would have as a child of ``scope`` under this construct's ID (construct IDs
    are a contract: changing one replaces the queue). Attribute ``queue``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: kms.IKey,
        owner: str = "the function's",
        queue_id: str = "Default",
    ) -> None:
        super().__init__(scope, construct_id)
        self._key = encryption_key
        self.queue = sqs.Queue(
            self,
            queue_id,
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=encryption_key,
            data_key_reuse=cdk.Duration.hours(1),
            enforce_ssl=True,
            retention_period=MAX_RETENTION,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        acknowledge(
            self.queue,
            "Serverless::Serverless-SQSRedrivePolicy",
            f"This queue is itself {owner} dead-letter queue: a redrive policy would move failed "
            "events to yet another queue instead of keeping them here, 14 days, for inspection.",
        )

    def send_statements(self) -> list[iam.PolicyStatement]:
        """``sqs:SendMessage`` on this queue, and its key (Decrypt, GenerateDataKey) via SQS."""
        region = cdk.Stack.of(self).region
        return [
            iam.PolicyStatement(
                sid="SendToOwnDeadLetterQueue",
                actions=["sqs:SendMessage"],
                resources=[self.queue.queue_arn],
            ),
            iam.PolicyStatement(
                sid="EncryptForOwnDeadLetterQueue",
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[self._key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"sqs.{region}.amazonaws.com"}},
            ),
        ]

    def grant_send(self, grantee: iam.IGrantable) -> iam.Grant:
        """Add ``send_statements`` to ``grantee``'s policy; the combined grant is returned."""
        send, encrypt = self.send_statements()
        grant = iam.Grant.add_to_principal(
            grantee=grantee, actions=send.actions, resource_arns=send.resources
        )
        return grant.combine(
            iam.Grant.add_to_principal(
                grantee=grantee,
                actions=encrypt.actions,
                resource_arns=encrypt.resources,
                conditions=encrypt.conditions,
            )
        )


def eventbridge_key_statement(
    sid: str, *, rule_arn: str, account: str, region: str
) -> iam.PolicyStatement:
    """A key-policy statement letting EventBridge use the key for one rule, through SQS only.

    What an EventBridge rule needs to send to a queue (its target or its dead-letter queue)
    encrypted with a customer-managed key: ``kms:Decrypt`` and ``kms:GenerateDataKey`` for
    ``events.amazonaws.com``, for this account (``aws:SourceAccount``), this rule
    (``aws:SourceArn``) and SQS (``kms:ViaService``). Add it with ``key.add_to_resource_policy``.
    """
    return iam.PolicyStatement(
        sid=sid,
        principals=[iam.ServicePrincipal("events.amazonaws.com")],
        actions=["kms:Decrypt", "kms:GenerateDataKey"],
        resources=["*"],
        conditions={
            "StringEquals": {
                "aws:SourceAccount": account,
                "kms:ViaService": f"sqs.{region}.amazonaws.com",
            },
            "ArnEquals": {"aws:SourceArn": rule_arn},
        },
    )
