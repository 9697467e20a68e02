"""Pages: login, a home per kind of organization, the organization directory, language switch, admin."""

import pytest
from django.test import Client

from tests.conftest import api_client
from tests.factories import PASSWORD


def _logged_in(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_login_page_speaks_chinese_by_default_even_to_an_english_browser(db):
    response = Client().get("/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response.status_code == 200
    html = response.content.decode()
    assert "登录" in html and "电动自行车全链条监管平台" in html
    assert '<html lang="zh-hans"' in html


def test_language_switch_persists_in_a_cookie(db):
    client = Client()
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    assert response.status_code == 302
    html = client.get("/login/").content.decode()
    assert "Log in" in html and "E-bike full-chain supervision" in html
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/login/"})
    assert "登录" in client.get("/login/").content.decode()


def test_anonymous_home_redirects_to_login(db):
    response = Client().get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_wrong_password_on_the_login_page_says_so_and_keeps_the_username(world):
    response = Client().post("/login/", {"username": world.dealer.username, "password": "wrong"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "errorlist" in html and f'value="{world.dealer.username}"' in html


@pytest.mark.parametrize(
    ("who", "heading", "layout"),
    [
        ("city_regulator", "市场监管工作台", "desktop"),
        ("police", "部门工作台", "desktop"),
        ("dealer", "经销商工作台", "phone"),
    ],
)
def test_each_kind_of_organization_gets_its_own_home(world, who, heading, layout):
    html = _logged_in(getattr(world, who)).get("/").content.decode()
    assert heading in html
    assert f'<body class="{layout}">' in html


def test_repair_shop_recycler_and_producer_homes(db):
    from tests.conftest import _member

    for kind, heading in [
        ("repair_shop", "维修点工作台"),
        ("recycler", "回收站点"),
        ("manufacturer", "生产企业工作台"),
    ]:
        html = _logged_in(_member(kind, "371402")).get("/").content.decode()
        assert heading in html, kind


def test_regulator_home_names_its_jurisdiction(world):
    html = _logged_in(world.city_regulator).get("/").content.decode()
    assert "山东省德州市" in html


def test_superuser_home_is_the_admin(world):
    response = _logged_in(world.superuser).get("/")
    assert response.status_code == 302 and response["Location"] == "/admin/"


def test_organization_directory_is_scoped(world):
    html = _logged_in(world.district_regulator).get("/organizations/").content.decode()
    assert "德城区车行" in html
    assert "陵城区车行" not in html and "北仑区车行" not in html
    dealer_view = _logged_in(world.dealer).get("/organizations/").content.decode()
    assert "德城区车行" in dealer_view and "德州市公安局" not in dealer_view


def test_organization_directory_has_an_empty_state(world):
    html = _logged_in(world.district_regulator).get("/organizations/", {"q": "不存在的名字"}).content.decode()
    assert 'data-testid="empty"' in html


def test_admin_lists_every_model_to_the_superuser(world):
    client = _logged_in(world.superuser)
    for path in ["region", "organization", "user", "apitoken", "auditentry", "idempotencykey"]:
        assert client.get(f"/admin/core/{path}/").status_code == 200, path
    assert _logged_in(world.dealer).get("/admin/core/organization/").status_code == 302


def test_healthz_reports_database_and_redis(db):
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": True, "redis": True}


def test_pages_use_only_vendored_assets(world):
    import re

    html = _logged_in(world.city_regulator).get("/").content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', html)
    assert sources and all(s.startswith("/static/") for s in sources), sources


def test_organization_directory_exports_what_the_viewer_may_see_as_csv(world):
    response = _logged_in(world.district_regulator).get("/organizations/", {"export": "csv", "kind": "dealer"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert lines[0].startswith("名称,类型")
    assert len(lines) == 2 and "德城区车行" in lines[1]


def test_the_directory_shows_each_shops_qualification_and_filters_the_lapsed(world):
    import datetime as dt

    from django.utils import timezone

    from core.models import OrganizationKind, Region
    from tests.factories import OrganizationFactory

    today, region = timezone.localdate(), Region.objects.get(code="371402")
    shops = {
        "valid": OrganizationFactory(
            kind=OrganizationKind.REPAIR_SHOP,
            region=region,
            name="有证维修部",
            qualification_no="WX-1",
            qualification_valid_until=today + dt.timedelta(days=200),
        ),
        "expiring": OrganizationFactory(
            kind=OrganizationKind.REPAIR_SHOP,
            region=region,
            name="快到期维修部",
            qualification_no="WX-2",
            qualification_valid_until=today + dt.timedelta(days=5),
        ),
        "expired": OrganizationFactory(
            kind=OrganizationKind.RECYCLER,
            region=region,
            name="过期回收站",
            qualification_no="HS-3",
            qualification_valid_until=today - dt.timedelta(days=1),
        ),
        "missing": OrganizationFactory(
            kind=OrganizationKind.REPAIR_SHOP, region=region, name="无证维修部", qualification_no=""
        ),
    }
    client = _logged_in(world.district_regulator)
    html = client.get("/organizations/").content.decode()
    for state, shop in shops.items():
        row = html[html.index(f'data-org="{shop.pk}"') :].split("</tr>")[0]
        assert f'data-state="{state}"' in row, state
    row = html[html.index(f'data-org="{shops["missing"].pk}"') :].split("</tr>")[0]
    assert "未备案" in row and "正常" in row  # the account is active; the qualification is what is missing
    dealer_row = html[html.index(f'data-org="{world.dealer.organization_id}"') :].split("</tr>")[0]
    assert 'data-state="not_required"' in dealer_row

    lapsed = client.get("/organizations/", {"qualification": "problems"}).content.decode()
    assert "过期回收站" in lapsed and "无证维修部" in lapsed
    assert "有证维修部" not in lapsed and "快到期维修部" not in lapsed and "德城区车行" not in lapsed

    api = api_client(world.district_regulator).get(f"/api/v1/organizations/{shops['missing'].pk}/").json()
    assert api["qualification_status"] == "missing"
    outsider = _logged_in(world.other_city_regulator).get("/organizations/").content.decode()
    assert "无证维修部" not in outsider
