"""Error pages wear the platform's frame, speak the user's language (Chinese by default) and offer a way back;
under /api/ every error is the JSON envelope."""

import pytest
from django.test import Client, override_settings
from django.urls import path

import config.urls
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def _boom(request):
    raise RuntimeError("a bug")


def _refused(request):
    from django.core.exceptions import PermissionDenied

    raise PermissionDenied


# This module is the URL conf of the tests that need a failing view: the platform's routes and handlers plus two.
urlpatterns = [path("boom/", _boom), path("refused/", _refused), path("api/v1/boom/", _boom), *config.urls.urlpatterns]
handler400, handler403 = config.urls.handler400, config.urls.handler403
handler404, handler500 = config.urls.handler404, config.urls.handler500


@pytest.fixture
def buggy_urls(settings):
    settings.ROOT_URLCONF = __name__


def _page(response) -> str:
    return response.content.decode()


def test_a_missing_page_is_the_platforms_404_in_chinese_with_a_way_home(world):
    response = Client().get("/no/such/page/", HTTP_REFERER="http://testserver/organizations/")
    html = _page(response)
    assert response.status_code == 404
    assert 'data-testid="error-page"' in html and "页面不存在" in html
    assert 'href="/"' in html and 'href="http://testserver/organizations/"' in html  # home and back
    assert "favicon.ico" in html and "img/mark.svg" in html
    english = Client()
    english.cookies["django_language"] = "en"
    assert "This page does not exist" in _page(english.get("/no/such/page/"))


def test_the_back_link_never_leads_to_another_site(world):
    html = _page(Client().get("/no/such/page/", HTTP_REFERER="https://evil.example.com/"))
    assert "evil.example.com" not in html


def test_a_forbidden_page_says_so_in_chinese(world, buggy_urls):
    client = Client()
    client.login(username=world.dealer.username, password=PASSWORD)
    response = client.get("/refused/")
    assert response.status_code == 403 and "您无权打开此页面" in _page(response)


@override_settings(DEBUG=False)
def test_a_bug_shows_the_500_page_and_the_api_its_envelope(world, buggy_urls):
    client = Client(raise_request_exception=False)
    response = client.get("/boom/")
    assert response.status_code == 500 and "服务器出错了" in _page(response)
    api = client.get("/api/v1/boom/")
    assert api.status_code == 500 and api.json()["error"]["code"] == "server_error"


def test_an_expired_form_is_explained_not_a_bare_csrf_message(world):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/login/", {"username": world.dealer.username, "password": PASSWORD})
    html = _page(response)
    assert response.status_code == 403
    assert "表单已过期" in html and "CSRF" not in html.split("<main")[1]


def test_a_nul_byte_in_a_page_address_is_the_platforms_400(world):
    response = Client().get("/records/", {"q": "a\x00b"})
    assert response.status_code == 400 and "无法理解" in _page(response)
    api = Client().get("/api/v1/regions/", {"name": "a\x00b"})
    assert api.status_code == 400 and api.json()["error"]["code"] == "malformed_request"


def test_the_favicon_is_served(world):
    response = Client().get("/favicon.ico")
    assert response.status_code == 302 and response["Location"].endswith("favicon.ico")
