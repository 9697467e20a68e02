"""POST /api/v1/repairs/{id}/photos/: the shop that made the repair adds JPEG, PNG or WebP photos (5 MB, 6 each)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from repairs.models import MAX_PHOTO_BYTES, RepairPhoto
from tests.conftest import api_client
from tests.repairs.conftest import JPEG, PNG, WEBP

URL = "/api/v1/repairs/"


def _photo(content=JPEG, name="IMG_0001.jpg", content_type="image/jpeg"):
    return SimpleUploadedFile(name, content, content_type=content_type)


@pytest.fixture
def repair_id(workshop):
    vehicle, _ = workshop.bike()
    response = api_client(workshop.shop).post(
        URL, {"frame_no": vehicle.frame_no, "vehicle_code": vehicle.code, "kind": "other"}, format="json"
    )
    return response.json()["id"]


def _send(user, repair_id, *files, **extra):
    return api_client(user).post(f"{URL}{repair_id}/photos/", {"photo": list(files)}, format="multipart", **extra)


def test_the_shop_adds_photos_of_each_allowed_type(workshop, repair_id, settings):
    response = _send(workshop.shop, repair_id, _photo(), _photo(PNG, "a.png", "image/png"), _photo(WEBP, "b.webp"))

    assert response.status_code == 201, response.json()
    photos = response.json()["photos"]
    assert [p["content_type"] for p in photos] == ["image/jpeg", "image/png", "image/webp"]
    stored = RepairPhoto.objects.order_by("pk")
    assert [p.file.name.split(".")[-1] for p in stored] == ["jpg", "png", "webp"]
    assert all(p.file.name.startswith(f"repairs/{repair_id}/") and "IMG_0001" not in p.file.name for p in stored)
    assert (settings.MEDIA_ROOT / stored[0].file.name).read_bytes() == JPEG
    detail = api_client(workshop.world.district_regulator).get(f"{URL}{repair_id}/").json()
    assert [p["id"] for p in detail["photos"]] == [p.pk for p in stored]


def test_the_declared_type_is_not_trusted(workshop, repair_id):
    fake = _photo(b"<script>alert(1)</script>" * 4, "evil.jpg", "image/jpeg")
    response = _send(workshop.shop, repair_id, fake)
    assert response.status_code == 400 and response.json()["error"]["code"] == "unsupported_photo_type"
    assert response.json()["error"]["fields"].keys() == {"photo"}
    gif = _photo(b"GIF89a" + b"\x00" * 32, "x.gif", "image/gif")
    assert _send(workshop.shop, repair_id, gif).json()["error"]["code"] == "unsupported_photo_type"
    empty = _photo(b"", "x.jpg")
    assert _send(workshop.shop, repair_id, empty).status_code == 400
    assert not RepairPhoto.objects.exists()


def test_a_photo_over_5_mb_is_refused(workshop, repair_id):
    big = _photo(JPEG + b"\x00" * (MAX_PHOTO_BYTES - len(JPEG) + 1))
    response = _send(workshop.shop, repair_id, big)
    assert response.status_code == 400 and response.json()["error"]["code"] == "photo_too_large"
    exactly = _photo(JPEG + b"\x00" * (MAX_PHOTO_BYTES - len(JPEG)))
    assert _send(workshop.shop, repair_id, exactly).status_code == 201


def test_at_most_six_photos_per_repair(workshop, repair_id):
    assert _send(workshop.shop, repair_id, *[_photo() for _ in range(4)]).status_code == 201
    response = _send(workshop.shop, repair_id, *[_photo() for _ in range(3)])
    assert response.status_code == 400 and response.json()["error"]["code"] == "too_many_photos"
    assert RepairPhoto.objects.count() == 4  # all or nothing
    assert _send(workshop.shop, repair_id, _photo(), _photo()).status_code == 201
    assert _send(workshop.shop, repair_id, _photo()).status_code == 400
    assert RepairPhoto.objects.count() == 6


def test_a_request_without_a_photo_is_400(workshop, repair_id):
    response = api_client(workshop.shop).post(f"{URL}{repair_id}/photos/", {"note": "x"}, format="multipart")
    assert response.status_code == 400 and response.json()["error"]["code"] == "photo_required"
    response = api_client(workshop.shop).post(f"{URL}{repair_id}/photos/", {"photo": "x"}, format="json")
    assert response.status_code == 415


def test_only_the_shop_that_made_the_repair_adds_photos(workshop, repair_id):
    world = workshop.world
    for outsider in (workshop.other_shop, world.dealer, world.other_city_regulator):
        assert _send(outsider, repair_id, _photo()).status_code == 404, outsider
    # A regulator sees the repair, but its kind may not add photos.
    response = _send(world.district_regulator, repair_id, _photo())
    assert response.status_code == 403
    assert api_client().post(f"{URL}{repair_id}/photos/", {"photo": _photo()}, format="multipart").status_code == 401
    assert not RepairPhoto.objects.exists()


def test_photo_files_are_served_to_those_who_see_the_repair(workshop, repair_id):
    photo_id = _send(workshop.shop, repair_id, _photo(PNG, "a.png"))
    photo_id = photo_id.json()["photos"][0]["id"]
    url = f"{URL}{repair_id}/photos/{photo_id}/"
    for viewer in (workshop.shop, workshop.world.district_regulator):
        response = api_client(viewer).get(url, HTTP_ACCEPT="image/*")
        assert response.status_code == 200
        assert response["Content-Type"] == "image/png" and b"".join(response.streaming_content) == PNG
    for outsider in (workshop.other_shop, workshop.world.dealer, workshop.world.other_city_regulator):
        assert api_client(outsider).get(url).status_code == 404
    assert api_client(workshop.shop).get(f"{URL}{repair_id}/photos/{photo_id + 1}/").status_code == 404
    assert api_client().get(url).status_code == 401


def test_a_photo_upload_is_idempotent(workshop, repair_id):
    first = _send(workshop.shop, repair_id, _photo(), HTTP_IDEMPOTENCY_KEY="photo-1")
    second = _send(workshop.shop, repair_id, _photo(), HTTP_IDEMPOTENCY_KEY="photo-1")
    assert first.status_code == second.status_code == 201 and first.json() == second.json()
    assert RepairPhoto.objects.count() == 1
