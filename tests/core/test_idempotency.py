"""`Idempotency-Key` on writes: a retry replays the first answer; the key with another body is 409."""

import threading

from django.db import connection

from core.codes import make_uscc
from core.models import IdempotencyKey, Organization
from tests.conftest import api_client

URL = "/api/v1/organizations/"


def _body(n=1, **extra):
    return {
        "name": f"幂等车行{n}",
        "kind": "dealer",
        "uscc": make_uscc(f"91371402MA3C0{n:04d}"),
        "region_code": "371402",
        **extra,
    }


def test_same_key_and_body_returns_the_first_response_and_creates_one_record(world):
    client = api_client(world.superuser)
    first = client.post(URL, _body(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    second = client.post(URL, _body(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Organization.objects.filter(name="幂等车行1").count() == 1


def test_same_key_with_another_body_is_409_and_creates_nothing(world):
    client = api_client(world.superuser)
    client.post(URL, _body(1), format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    response = client.post(URL, _body(2), format="json", HTTP_IDEMPOTENCY_KEY="k-2")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert not Organization.objects.filter(name="幂等车行2").exists()


def test_keys_belong_to_their_caller(world):
    world.dealer.is_superuser = True
    world.dealer.save()
    first = api_client(world.superuser).post(URL, _body(1), format="json", HTTP_IDEMPOTENCY_KEY="shared")
    second = api_client(world.dealer).post(URL, _body(3), format="json", HTTP_IDEMPOTENCY_KEY="shared")
    assert first.status_code == second.status_code == 201
    # The second caller's key is its own: its request is carried out, not answered with the first one's record.
    assert "Idempotent-Replayed" not in second
    assert second.json()["name"] == "幂等车行3" and second.json()["id"] != first.json()["id"]
    assert set(Organization.objects.filter(name__in=["幂等车行1", "幂等车行3"]).values_list("name", flat=True)) == {
        "幂等车行1",
        "幂等车行3",
    }


def test_a_refused_request_stores_no_key_so_a_corrected_retry_goes_through(world):
    client = api_client(world.superuser)
    bad = client.post(URL, _body(region_code="999999"), format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    assert bad.status_code == 400
    assert not IdempotencyKey.objects.filter(key="k-3").exists()
    good = client.post(URL, _body(), format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    assert good.status_code == 201


def test_overlong_key_is_400(world):
    response = api_client(world.superuser).post(URL, _body(), format="json", HTTP_IDEMPOTENCY_KEY="x" * 300)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_idempotency_key"
    assert not Organization.objects.filter(name="幂等车行1").exists()


def test_concurrent_retries_with_one_key_create_one_record(transactional_db):
    from django.contrib.auth import get_user_model

    admin = get_user_model().objects.create_superuser("racer", "r@example.com", "pw-123456789")
    results = []

    def post():
        try:
            response = api_client(admin).post(URL, _body(7), format="json", HTTP_IDEMPOTENCY_KEY="race")
            results.append((response.status_code, response.json()["id"]))
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [code for code, _ in results] == [201] * 4
    assert len({org_id for _, org_id in results}) == 1
    assert Organization.objects.filter(name="幂等车行7").count() == 1


def test_every_write_endpoint_is_idempotent():
    """One mechanism: each POST/PATCH/PUT handler in the URLconf is wrapped by @idempotent."""
    from django.urls import get_resolver
    from rest_framework.views import APIView

    def walk(patterns):
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                yield from walk(pattern.url_patterns)
            else:
                yield pattern

    checked = 0
    for pattern in walk(get_resolver().url_patterns):
        view_class = getattr(pattern.callback, "view_class", None)
        if view_class is None or not issubclass(view_class, APIView) or view_class.__module__.startswith("drf_"):
            continue
        for method in ("post", "patch", "put"):
            handler = getattr(view_class, method, None)
            if handler is not None:
                checked += 1
                assert getattr(handler, "idempotent", False), f"{view_class.__name__}.{method}"
    assert checked >= 4


# ── Anonymous callers ────────────────────────────────────────────────────────────────────────────────────────

COMPLAINTS = "/api/v1/public/complaints/"


def _complaint(description: str, key: str, **extra):
    body = {"category": "quality", "description": description, "region_code": "371402"}
    return api_client().post(COMPLAINTS, body, format="json", HTTP_IDEMPOTENCY_KEY=key, **extra)


def test_two_anonymous_clients_behind_one_address_with_one_key_each_get_their_own_ticket(world):
    """Two phones behind one NAT, both apps sending the key "1": neither sees the other's answer, nor a 409."""
    first = _complaint("刹车失灵，车行拒绝维修。", "1")
    second = _complaint("电池鼓包，充电时发烫。", "1")

    assert first.status_code == second.status_code == 201
    assert first.json()["ticket"] != second.json()["ticket"]
    assert "Idempotent-Replayed" not in second


def test_an_anonymous_retry_of_the_same_request_from_the_same_address_is_replayed(world):
    first = _complaint("刹车失灵，车行拒绝维修。", "retry")
    again = _complaint("刹车失灵，车行拒绝维修。", "retry")
    assert again.status_code == 201 and again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    # The same request from another address (an outsider who learned the key and the text) is its own request.
    outsider = _complaint("刹车失灵，车行拒绝维修。", "retry", REMOTE_ADDR="203.0.113.50")
    assert outsider.status_code == 201 and outsider.json()["ticket"] != first.json()["ticket"]


def test_a_logged_in_callers_key_still_refuses_another_body(world):
    client = api_client(world.superuser)
    assert client.post(URL, _body(11), format="json", HTTP_IDEMPOTENCY_KEY="mine").status_code == 201
    reused = client.post(URL, _body(12), format="json", HTTP_IDEMPOTENCY_KEY="mine")
    assert reused.status_code == 409 and reused.json()["error"]["code"] == "idempotency_key_reused"
