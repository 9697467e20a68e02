from django.urls import path

urlpatterns: list = []

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
