"""The cockpit (/dashboard/): the jurisdiction's headline figures, the risk map, what is overdue, the trends, and
the drill-down city → district → enterprise → bike; read-only for departments; nothing for outsiders."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from reports import selectors, views
from reports.models import EnterpriseDay
from reports.risk import risk_grade_all
from tests.factories import PASSWORD
from tests.reports.conftest import more_enterprises

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def _html(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_the_city_cockpit_shows_its_figures_map_and_districts(activity, world):
    risk_grade_all()
    html = _html(_client(world.city_regulator).get("/dashboard/"))
    assert "德州市" in html and 'data-testid="kpis"' in html
    scope = selectors.report_scope(world.city_regulator, "371400")
    summary = selectors.summary(scope, selectors.month_parse(None))
    assert f'data-testid="kpi-sales" data-value="{summary["sales"]}"' in html
    assert 'data-testid="region-map"' in html and "/reports/maps/371400.json" in html
    assert '"code": "371402"' in html and "德城区" in html  # the map's data names the districts
    assert 'data-chart="line"' in html and 'data-chart="bar"' in html  # trends, each with its table toggle
    assert 'href="/dashboard/?region=371402"' in html  # a district drills down


def test_a_district_lists_its_enterprises_with_grade_and_why_and_an_enterprise_its_work(activity, world):
    risk_grade_all()
    shop = activity["shop"]
    client = _client(world.city_regulator)
    html = _html(client.get("/dashboard/", {"region": "371402"}))
    assert 'data-testid="trail-371400"' in html  # the way back up
    row = html[html.index(f'data-org="{shop.organization_id}"') :].split("</tr>")[0]
    assert 'data-grade="risk"' in row or 'data-grade="non_risk"' in row
    assert "涉及该企业的未办结预警 × 1" in row and "近期高风险预警 × 2" in row  # the reasons in words, counted

    page = _html(client.get(f"/dashboard/enterprises/{shop.organization_id}/"))
    assert shop.organization.name in page and 'data-testid="grade-badge"' in page
    assert page.count('data-testid="enterprise-alert"') >= 2  # the motor and the speed limiter
    dealer_page = _html(client.get(f"/dashboard/enterprises/{world.dealer.organization_id}/"))
    bike = activity["bikes"][0]
    assert f'href="/records/vehicles/{bike.frame_no}/" data-testid="bike-link"' in dealer_page  # → the dossier
    month = selectors.month_parse(None)
    sold = sum(d.sales for d in EnterpriseDay.objects.filter(organization=world.dealer.organization, day__gte=month))
    assert sold >= 3 and f'data-testid="figure-sales">{sold}<' in dealer_page


def test_outsiders_see_no_cockpit_and_no_enterprise_of_another_jurisdiction(activity, world):
    shop = activity["shop"]
    other_city = _client(world.other_city_regulator)
    assert other_city.get("/dashboard/", {"region": "371400"}).status_code == 404
    assert other_city.get(f"/dashboard/enterprises/{shop.organization_id}/").status_code == 404
    assert _client(world.district_regulator).get("/dashboard/", {"region": "371403"}).status_code == 404
    for enterprise in (world.dealer, shop):
        assert _client(enterprise).get("/dashboard/").status_code == 404
    response = Client().get("/dashboard/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_a_department_gets_a_read_only_cockpit_of_its_categories(activity, world):
    from alerts.models import DepartmentSubscription

    DepartmentSubscription.objects.create(organization=world.police.organization, categories=["speed"])
    html = _html(_client(world.police).get("/dashboard/"))
    assert 'data-testid="read-only"' in html
    assert "超功率" not in html.split('data-testid="trend-section"')[1]  # the motor's rule is not its category
    home = _html(_client(world.police).get("/"))
    assert 'href="/dashboard/"' in home


def test_the_regulators_home_opens_the_cockpit_and_the_reports(world):
    home = _html(_client(world.city_regulator).get("/"))
    assert 'href="/dashboard/"' in home and 'href="/reports/monthly/"' in home


def test_the_cockpit_pages_read_as_many_queries_whatever_the_number_of_enterprises(
    activity, world, django_assert_max_num_queries
):
    risk_grade_all()
    client = _client(world.city_regulator)
    pages = ["/dashboard/", "/dashboard/?region=371402", f"/dashboard/enterprises/{activity['shop'].organization_id}/"]
    counts = {}
    for page in pages:
        with CaptureQueriesContext(connection) as queries:
            _html(client.get(page))
        counts[page] = len(queries)
    more_enterprises(views.ENTERPRISES_LISTED + 5)
    for page in pages:
        with django_assert_max_num_queries(counts[page]):
            html = _html(client.get(page))
        if "region=" in page:  # the district lists the first enterprises only, risk first
            assert html.count('data-testid="enterprise-row"') == views.ENTERPRISES_LISTED
            assert 'data-grade="non_risk"' not in html or html.index('data-grade="risk"') < html.index(
                'data-grade="non_risk"'
            )
