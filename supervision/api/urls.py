from django.urls import path

urlpatterns: list = []

# Supervisory sampling (监督抽查), recalls (召回) and credit records (信用监管).
from supervision.api import credit, recalls, sampling  # noqa: E402  (kept with its routes, in this block)

urlpatterns += [
    path("sampling/", sampling.SamplingListView.as_view(), name="api-sampling"),
    path("sampling/<int:pk>/", sampling.SamplingDetailView.as_view(), name="api-sampling-detail"),
    path("recalls/", recalls.RecallListView.as_view(), name="api-recalls"),
    path("recalls/<int:pk>/", recalls.RecallDetailView.as_view(), name="api-recall"),
    path("recalls/<int:pk>/remedies/", recalls.RemedyView.as_view(), name="api-recall-remedies"),
    path("organizations/<int:pk>/credit/", credit.OrganizationCreditView.as_view(), name="api-organization-credit"),
    path("credit/export/", credit.CreditExportView.as_view(), name="api-credit-export"),
]

# Inspection plans and tasks (检查任务), and the enforcement figures a bureau reports upward.
from supervision.api import inspections  # noqa: E402  (kept with its routes, in this block)

urlpatterns += [
    path("inspection-plans/", inspections.InspectionPlanListView.as_view(), name="api-inspection-plans"),
    path("inspection-tasks/", inspections.InspectionTaskListView.as_view(), name="api-inspection-tasks"),
    path(
        "inspection-tasks/<int:pk>/result/",
        inspections.InspectionResultView.as_view(),
        name="api-inspection-task-result",
    ),
    path("reports/enforcement/", inspections.EnforcementView.as_view(), name="api-reports-enforcement"),
]

# Enterprise duties (日管控、周排查、月调度).
from supervision.api import duties  # noqa: E402  (kept with its routes, in this block)

urlpatterns += [
    path("duty-records/", duties.DutyRecordListView.as_view(), name="api-duty-records"),
]
