"""Scanned QR labels read back as the frame number or battery code the phone forms take (vehicles.labels)."""

from core.models import OrganizationKind
from recycling.forms import RecyclingForm
from repairs.forms import RepairForm
from tests.conftest import _member
from vehicles.codes import public_code_new
from vehicles.labels import frame_no_of, label_code, labels_resolve, serials_of
from vehicles.models import Battery, Vehicle

TOKEN = "t" * 24


def test_a_label_is_its_url_or_the_code_printed_under_it_and_nothing_else():
    code = public_code_new()
    assert label_code(f"https://jg.example.cn/v/{code}") == code
    assert label_code(f"HTTPS://JG.EXAMPLE.CN/V/{code.lower()}/") == code  # a hardware scanner in caps lock
    assert label_code(f" {code.lower()} ") == code
    assert label_code("140222600000001") is None  # a frame number
    assert label_code(code[:-1] + ("0" if code[-1] != "0" else "1")) is None  # a wrong check character
    assert label_code(f"https://jg.example.cn/records/{code}") is None
    assert label_code("") is None and label_code(None) is None


def test_labels_resolve_to_frame_numbers_and_battery_codes_within_the_items_given(chain):
    vehicle, battery = chain.vehicle(), chain.battery()
    theirs = chain.vehicle(holder=chain.world.other_dealer.organization, status=Vehicle.Status.IN_STOCK)
    unknown = public_code_new()

    found = labels_resolve([vehicle.code, f"https://h.example/v/{battery.code}", unknown, "140222600000001"])

    assert found == {
        vehicle.code: ("vehicle", vehicle.frame_no),
        f"https://h.example/v/{battery.code}": ("battery", battery.serial),
    }
    mine = Vehicle.objects.filter(holder=chain.world.dealer.organization)
    assert frame_no_of(theirs.code, vehicles=mine) == theirs.code  # outside the items given: left as scanned
    assert frame_no_of(theirs.code) == theirs.frame_no
    assert serials_of([battery.code.lower(), "NOPE-123456"]) == [battery.serial, "NOPE-123456"]


def test_a_battery_code_on_record_wins_over_a_label_of_the_same_text(chain):
    battery = chain.battery()
    printed = public_code_new()
    Battery.objects.filter(pk=battery.pk).update(serial=printed)  # a pack whose printed code looks like a label
    other = chain.vehicle()
    Vehicle.objects.filter(pk=other.pk).update(code=printed)
    assert labels_resolve([printed]) == {}
    assert serials_of([printed]) == [printed]


def test_the_repair_form_reads_scanned_labels_of_the_bike_and_batteries(chain):
    vehicle, removed, fitted = chain.vehicle(), chain.battery(), chain.battery()
    form = RepairForm(
        {
            "form_token": TOKEN,
            "frame_no": vehicle.code,
            "kind": "battery_replacement",
            "removed_battery_serials": f"https://jg.example.cn/v/{removed.code}",
            "fitted_battery_serials": f"{fitted.code}\nNOPE-123456",
        }
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["frame_no"] == vehicle.frame_no
    assert form.cleaned_data["removed_battery_serials"] == [removed.serial]
    assert form.cleaned_data["fitted_battery_serials"] == [fitted.serial, "NOPE-123456"]


def test_the_recycling_form_reads_a_scanned_label_as_the_item_of_the_kind_chosen(chain):
    recycler = _member(OrganizationKind.RECYCLER, "371402", name="德州市绿源再生资源回收有限公司").organization
    vehicle, battery = chain.vehicle(), chain.battery()

    def ref(kind, scanned):
        form = RecyclingForm(
            {"form_token": TOKEN, "kind": kind, "ref": scanned, "disposal": "dismantle"}, organization=recycler
        )
        form.is_valid()
        return form.cleaned_data.get("ref")

    assert ref("vehicle", f"https://jg.example.cn/v/{vehicle.code}") == vehicle.frame_no
    assert ref("battery", battery.code) == battery.serial
    assert ref("battery", vehicle.code) == vehicle.code  # a bike's label is not a battery: left as scanned


def test_a_label_read_into_the_frame_number_field_is_the_proof_that_the_bike_is_at_hand(chain):
    vehicle = chain.vehicle()
    scanned = f"https://jg.example.cn/v/{vehicle.code}"  # as a hardware scanner types it
    repair = RepairForm({"form_token": TOKEN, "frame_no": scanned, "kind": "other"})
    assert repair.is_valid(), repair.errors
    assert repair.service_data()["frame_no"] == vehicle.frame_no
    assert repair.service_data()["vehicle_code"] == vehicle.code

    typed = RepairForm({"form_token": TOKEN, "frame_no": vehicle.frame_no, "kind": "other"})
    assert typed.is_valid() and typed.service_data()["vehicle_code"] == ""  # a frame number proves nothing

    recycler = _member(OrganizationKind.RECYCLER, "371402", name="德州市绿源再生资源回收有限公司").organization
    take_back = RecyclingForm(
        {"form_token": TOKEN, "kind": "vehicle", "ref": vehicle.code, "disposal": "dismantle"}, organization=recycler
    )
    assert take_back.is_valid(), take_back.errors
    assert take_back.service_data()["ref"] == vehicle.frame_no
    assert take_back.service_data()["vehicle_code"] == vehicle.code
