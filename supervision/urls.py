"""Pages of the supervision work (工作台账), under /work/."""

from django.urls import path

urlpatterns: list = []

# Supervisory sampling, recalls and credit records.
from supervision import views_credit, views_recalls, views_sampling  # noqa: E402  (kept with its routes)

urlpatterns += [
    path("sampling/", views_sampling.sampling_list, name="sampling-list"),
    path("sampling/new/", views_sampling.sampling_new, name="sampling-new"),
    path("recalls/", views_recalls.recall_list, name="recall-list"),
    path("recalls/new/", views_recalls.recall_new, name="recall-new"),
    path("recalls/<int:pk>/", views_recalls.recall_detail, name="recall-detail"),
    path("recalls/remedy/", views_recalls.recall_remedy, name="recall-remedy"),
    path("recalls/remedy/record/", views_recalls.recall_remedy_record, name="recall-remedy-record"),
    path("credit/", views_credit.credit_mine, name="credit-mine"),
]

# Enterprise duties (日管控、周排查、月调度) and the duty ledger.
from supervision import views_duties  # noqa: E402  (kept with its routes)

urlpatterns += [
    path("duties/", views_duties.duty_ledger, name="duty-ledger"),
    path("duties/<slug:kind>/", views_duties.duty_file, name="duty-file"),
]

# Inspections (检查任务): the inspector's phone, the plans, the work ledger and the enforcement figures.
from supervision import views_inspections  # noqa: E402  (kept with its routes)

urlpatterns += [
    path("inspections/", views_inspections.task_list, name="work-inspections"),
    path("inspections/<int:pk>/", views_inspections.task_detail, name="work-inspection"),
    path("inspections/<int:pk>/photos/<int:photo_pk>/", views_inspections.task_photo, name="work-inspection-photo"),
    path("plans/", views_inspections.plans, name="work-plans"),
    path("plans/new/", views_inspections.plan_new, name="work-plan-new"),
    path("ledger/", views_inspections.ledger, name="work-ledger"),
    path("enforcement/", views_inspections.enforcement, name="work-enforcement"),
]
