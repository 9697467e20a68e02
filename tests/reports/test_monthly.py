"""The monthly safety-governance report: generated from the rollups and the grades, as HTML and a PDF of real
Chinese text; archived, listed, regenerated in the background with its progress; the regulator is told."""

import io

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.models import Notice
from reports import cockpit, monthly, selectors
from reports.models import MonthlyReport
from reports.risk import risk_grade_all
from tests.conftest import api_client
from tests.factories import PASSWORD
from tests.reports.conftest import more_enterprises

pytestmark = pytest.mark.django_db
LIST = "/api/v1/reports/monthly/"


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _client(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def _this_month() -> str:
    return f"{timezone.localdate():%Y-%m}"


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_the_report_of_a_city_says_its_figures_in_chinese_as_html_and_pdf(activity, world, media):
    risk_grade_all()
    world.city_regulator.email = "dz@example.gov.cn"
    world.city_regulator.save()
    report = MonthlyReport.objects.create(region_code="371400", month=timezone.localdate().replace(day=1))
    assert monthly.monthly_report_deliver(report.pk) == "done"
    report.refresh_from_db()
    summary = selectors.summary(selectors.report_scope(world.city_regulator, "371400"), report.month)

    assert "德州市电动自行车安全治理月度报告" in report.html
    assert 'data-testid="over-standard"' in report.html and "德城区" in report.html
    assert "<svg" in report.html  # the charts are vector drawings in the document itself
    assert report.pdf and not report.pdf_error
    text = _pdf_text(report.pdf.read())
    assert "德州市" in text and "超标产品区域分布" in text
    assert str(summary["sales"]) in text  # the month's figures are in the PDF's text

    notice = Notice.objects.get(organization=world.city_regulator.organization)
    assert notice.url == f"/reports/monthly/371400/{_this_month()}.html"
    assert [m.to for m in mail.outbox] == [["dz@example.gov.cn"]]
    assert not Notice.objects.filter(organization=world.other_city_regulator.organization).exists()


def test_the_archive_lists_and_serves_the_reports_to_the_jurisdiction_only(activity, world, media):
    report = MonthlyReport.objects.create(region_code="371400", month=timezone.localdate().replace(day=1))
    monthly.monthly_report_deliver(report.pk)
    html_url, pdf_url = f"/reports/monthly/371400/{_this_month()}.html", f"/reports/monthly/371400/{_this_month()}.pdf"

    city = _client(world.city_regulator)
    archive = city.get("/reports/monthly/").content.decode()
    assert f'href="{html_url}"' in archive and f'href="{pdf_url}"' in archive
    assert "德州市电动自行车安全治理月度报告" in city.get(html_url).content.decode()
    pdf = city.get(pdf_url)
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert b"".join(pdf.streaming_content).startswith(b"%PDF")

    listed = api_client(world.city_regulator).get(LIST).json()["results"]
    assert [(r["region_code"], r["month"], r["status"]) for r in listed] == [("371400", _this_month(), "done")]
    assert listed[0]["pdf_url"].endswith(pdf_url)

    for outsider in (world.other_city_regulator, world.dealer):
        assert _client(outsider).get(html_url).status_code == 404
        assert _client(outsider).get(pdf_url).status_code == 404
    assert api_client(world.other_city_regulator).get(LIST, {"region_code": "371400"}).status_code == 404
    assert api_client(world.district_regulator).get(LIST).json()["results"] == []  # the city's is above it
    assert Client().get(html_url).status_code == 302


def test_without_pdf_printing_the_html_stands_and_the_pdf_link_says_what_to_install(
    activity, world, media, monkeypatch
):
    import reports.pdf

    monkeypatch.setattr(reports.pdf, "pdf_available", lambda: (False, "apt-get install libpango-1.0-0"))
    report = MonthlyReport.objects.create(region_code="371402", month=timezone.localdate().replace(day=1))
    monthly.monthly_report_deliver(report.pk)
    report.refresh_from_db()
    assert report.status == "done" and not report.pdf and "libpango" in report.pdf_error
    client = _client(world.district_regulator)
    assert "libpango" in client.get("/reports/monthly/").content.decode()
    missing = client.get(f"/reports/monthly/371402/{_this_month()}.pdf")
    assert missing.status_code == 404 and "libpango" in missing.content.decode()
    assert client.get(f"/reports/monthly/371402/{_this_month()}.html").status_code == 200


def test_a_regulator_asks_for_a_report_and_follows_it(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # queued after commit; no worker runs here
        response = api_client(world.city_regulator).post(
            LIST, {"region_code": "371400", "month": _this_month()}, format="json"
        )
    assert response.status_code == 202
    body = response.json()
    report = MonthlyReport.objects.get(pk=body["id"])
    assert report.status == "queued" and report.requested_by == world.city_regulator
    status = api_client(world.city_regulator).get(body["status_url"]).json()
    assert (status["status"], status["progress"], status["html_url"]) == ("queued", 0, None)
    assert api_client(world.other_city_regulator).get(body["status_url"]).status_code == 404

    month = {"region_code": "371400", "month": _this_month()}
    department = api_client(world.police).post(LIST, month, format="json")
    assert department.status_code == 403 and department.json()["error"]["code"] == "not_a_regulator"
    assert api_client(world.other_city_regulator).post(LIST, month, format="json").status_code == 404
    assert api_client(world.dealer).post(LIST, month, format="json").status_code == 404
    bad = api_client(world.city_regulator).post(LIST, {"region_code": "371400", "month": "2026-13"}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_month"


@pytest.mark.integration
def test_a_real_worker_generates_the_report_asked_for_on_the_page(transactional_db, world, tmp_path, settings):
    from tests.processes import running, wait_until

    client = _client(world.city_regulator)
    page = client.get("/reports/monthly/").content.decode()
    token = page.split('name="form_token" value="')[1].split('"')[0]
    args = ["celery", "-A", "config", "worker", "--pool", "solo", "--loglevel", "INFO"]
    with running(args, log=tmp_path / "worker.log", MEDIA_ROOT=str(tmp_path)):
        response = client.post("/reports/monthly/", {"form_token": token, "region": "371400", "month": _this_month()})
        assert response.status_code == 302
        report = MonthlyReport.objects.get(region_code="371400")
        done = wait_until(lambda: MonthlyReport.objects.get(pk=report.pk).status == "done", timeout=90)
        assert done, (tmp_path / "worker.log").read_text()[-3000:]
    report.refresh_from_db()
    assert report.progress == 100 and "德州市" in report.html
    row = client.get(f"/reports/monthly/{report.pk}/progress/").content.decode()
    assert 'data-status="done"' in row and "hx-trigger" not in row  # the page stops polling
    assert Notice.objects.filter(organization=world.city_regulator.organization).count() == 1


def test_the_first_of_the_month_queues_last_months_report_of_every_regulators_region(world, settings):
    from reports.tasks import monthly_reports_on_first

    assert monthly_reports_on_first("2026-10") == len(monthly.regulator_regions())
    assert set(MonthlyReport.objects.values_list("region_code", flat=True)) == {
        "371400",
        "371402",
        "371403",
        "330206",
    }
    assert "reports-monthly" in settings.CELERY_BEAT_SCHEDULE


def test_the_report_reads_as_many_queries_whatever_the_number_of_enterprises(
    activity, world, django_assert_max_num_queries
):
    risk_grade_all()
    scope = selectors.report_scope(world.city_regulator, "371400")
    month = timezone.localdate().replace(day=1)
    with CaptureQueriesContext(connection) as queries:
        monthly.report_html(monthly.report_content(scope, month))
    more_enterprises(2 * monthly.TOP_ENTERPRISES)
    with django_assert_max_num_queries(len(queries)):
        content = monthly.report_content(scope, month)
        monthly.report_html(content)
    ranked = content["top_enterprises"]
    assert len(ranked) == monthly.TOP_ENTERPRISES and all(row["grade"] is not None for row in ranked)
    order = [(row["grade"].grade != "risk", -row["grade"].score) for row in ranked]
    assert order == sorted(order)  # risk first, then by score
    overdue = {row["region_code"]: row["overdue_now"] for row in content["loop_by_district"]}
    assert overdue["371402"] == cockpit.overdue_alerts(scope, timezone.now()).count() >= 2 * monthly.TOP_ENTERPRISES
