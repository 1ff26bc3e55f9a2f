"""Model governance records: a SageMaker model registry group and a model card."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from .model_card_rules import MODEL_CARD_STATUSES, ModelCard, custom_details

M = sagemaker.CfnModelCard


class ModelGovernance(Construct):
    """A model package group (the registry) and the model card describing its model.

    Guarantees:
      * the group ``model_package_group_name`` collects the model's versions; data scientists
        register, MLOps engineers approve (see ``SageMakerRoles.allow_governance``);
      * the model card ``card_name`` carries the reviewed document from the repository
        (``model_card_rules``): intended and out-of-scope uses, risk rating and its reason,
        known risks, ethical considerations, caveats, business context, data origin and
        licences (custom details), training datasets, evaluations with metrics; its status is
        ``card_status`` (Draft, PendingReview, Approved, Archived);
      * the card's content is encrypted with ``encryption_key`` (through SageMaker);
      * both are governance records and are retained when the stack is deleted.

    Attributes: ``group``, ``card`` (L1 resources), ``group_name``, ``card_name``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model_package_group_name: str,
        card_name: str,
        card: ModelCard,
        card_status: str,
        encryption_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        if card_status not in MODEL_CARD_STATUSES:
            raise ValueError(
                f"ModelGovernance card_status {card_status!r}: one of {MODEL_CARD_STATUSES}"
            )
        self.group_name = model_package_group_name
        self.card_name = card_name
        self.group = sagemaker.CfnModelPackageGroup(
            self,
            "ModelPackageGroup",
            model_package_group_name=model_package_group_name,
            model_package_group_description=card.overview["description"][:1024],
        )
        self.group.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
        self.card = sagemaker.CfnModelCard(
            self,
            "ModelCard",
            model_card_name=card_name,
            model_card_status=card_status,
            security_config=M.SecurityConfigProperty(kms_key_id=encryption_key.key_arn),
            content=model_card_content(card, model_package_group_name),
        )
        self.card.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
        # aws-cdk-lib types a metric value as an object although CloudFormation takes a number
        # (SimpleMetric.Value: number, string or boolean): set the numbers as overrides.
        for e_index, evaluation in enumerate(card.evaluations):
            for m_index, metric in enumerate(evaluation.metrics):
                self.card.add_property_override(
                    f"Content.EvaluationDetails.{e_index}.MetricGroups.0.MetricData.{m_index}.Value",
                    metric.value,
                )


def model_card_content(card: ModelCard, model_package_group_name: str) -> M.ContentProperty:
    """The ``AWS::SageMaker::ModelCard`` content for a validated document."""
    overview, intended, risks, business = (
        card.overview,
        card.intended_use,
        card.risks,
        card.business,
    )
    return M.ContentProperty(
        model_overview=M.ModelOverviewProperty(
            model_name=card.model_name,
            model_description=overview["description"],
            model_owner=overview["owner"],
            model_creator=overview["creator"],
            problem_type=overview["problem_type"],
            algorithm_type=overview["algorithm_type"],
        ),
        intended_uses=M.IntendedUsesProperty(
            purpose_of_model=intended["purpose"],
            intended_uses=intended["intended_uses"],
            factors_affecting_model_efficiency=intended["out_of_scope"],
            risk_rating=intended["risk_rating"],
            explanations_for_risk_rating=intended["risk_rating_explanation"],
        ),
        business_details=M.BusinessDetailsProperty(
            business_problem=business["problem"],
            business_stakeholders=business["stakeholders"],
            line_of_business=business["line_of_business"],
        ),
        training_details=M.TrainingDetailsProperty(
            training_observations=card.training_observations,
            training_job_details=M.TrainingJobDetailsProperty(
                training_datasets=list(card.training_datasets)
            ),
        ),
        evaluation_details=[
            M.EvaluationDetailProperty(
                name=evaluation.name,
                datasets=list(evaluation.datasets),
                evaluation_observation=evaluation.observation,
                metric_groups=[
                    M.MetricGroupProperty(
                        name="metrics",
                        metric_data=[
                            M.MetricDataItemsProperty(
                                name=metric.name,
                                type="number",
                                value={},  # overridden with the number (see above)
                                notes=metric.notes,
                            )
                            for metric in evaluation.metrics
                        ],
                    )
                ],
            )
            for evaluation in card.evaluations
        ],
        additional_information=M.AdditionalInformationProperty(
            ethical_considerations=risks["ethical_considerations"],
            caveats_and_recommendations=risks["caveats_and_recommendations"],
            custom_details={
                **custom_details(card),
                "model_package_group": model_package_group_name,
            },
        ),
    )
