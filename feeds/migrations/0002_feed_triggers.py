"""The feeds' writers: triggers that add an entry in the transaction of each write a department's feed carries, and
the entries of what was written before this migration (docs/decisions/013-feeds.md).

- police: the ledger's registered, transferred, registration_cancelled, stolen_reported and found steps;
- environment: recycling records of lead-acid battery packs (manifests and disposals);
- fire: swaps whose cabinet raised an alarm, and alerts of the battery category;
- housing: swap cabinets added or changed.

Each record is built by one SQL function, which the trigger and the backfill share. No personal data: an owner is
never named, a registration is its plate and region.
"""

from django.db import migrations

FUNCTIONS = """
CREATE FUNCTION feeds_organization(organization_id bigint) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', o.id, 'name', o.name, 'kind', o.kind, 'region_code', o.region_id)
    FROM core_organization o WHERE o.id = organization_id
$$;

CREATE FUNCTION feeds_police_record(vehicle_id bigint, organization_id bigint, seq integer, payload jsonb)
RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'frame_no', v.frame_no,
        'code', v.code,
        'model', m.code,
        'plate_no', payload->>'plate_no',
        'report_no', payload->>'report_no',
        'reason', payload->>'reason',
        'organization', feeds_organization(organization_id),
        'ledger_seq', seq)
    FROM vehicles_vehicle v JOIN catalog_vehiclemodel m ON m.id = v.model_id
    WHERE v.id = vehicle_id
$$;

CREATE FUNCTION feeds_lead_acid_record(r recycling_recyclingrecord) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'record', r.id,
        'serial', b.serial,
        'battery_model', m.code,
        'chemistry', m.chemistry,
        'disposal', r.disposal,
        'manifest_no', NULLIF(r.manifest_no, ''),
        'status', r.status,
        'organization', feeds_organization(r.organization_id),
        'handed_to', feeds_organization(r.handed_to_id))
    FROM vehicles_battery b JOIN catalog_batterymodel m ON m.id = b.model_id
    WHERE b.id = r.battery_id AND m.chemistry = 'lead_acid'
$$;

CREATE FUNCTION feeds_station_record(s charging_swapstation) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', s.id,
        'code', s.code,
        'name', s.name,
        'address', s.address,
        'latitude', s.latitude,
        'longitude', s.longitude,
        'region_code', s.region_id,
        'operator', feeds_organization(s.operator_id))
$$;

CREATE FUNCTION feeds_swap_alarm_record(e charging_swapevent) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'swap', e.id,
        'alarm', e.alarm,
        'temperature_c', e.temperature_c,
        'voltage_v', e.voltage_v,
        'battery_in', NULLIF(e.battery_in_serial, ''),
        'battery_out', NULLIF(e.battery_out_serial, ''),
        'station', feeds_station_record(s) - 'operator' - 'region_code',
        'operator', feeds_organization(e.operator_id))
    FROM charging_swapstation s WHERE s.id = e.station_id
$$;

CREATE FUNCTION feeds_alert_record(a alerts_alert) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'alert', a.id,
        'rule', a.rule,
        'severity', a.severity,
        'status', a.status,
        'battery_serial', NULLIF(a.battery_serial, ''),
        'frame_no', NULLIF(a.frame_no, ''),
        'organization', feeds_organization(a.organization_id),
        'evidence', a.evidence,
        'created_at', a.created_at)
$$;

-- The triggers: AFTER INSERT (an INSERT … ON CONFLICT DO NOTHING that inserts nothing adds nothing).

CREATE FUNCTION feeds_from_ledger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO feeds_feedentry (feed, kind, region_code, occurred_at, record)
    VALUES ('police', NEW.type, NEW.region_code, NEW.occurred_at,
            feeds_police_record(NEW.vehicle_id, NEW.organization_id, NEW.seq, NEW.payload));
    RETURN NULL;
END $$;
CREATE TRIGGER feeds_from_ledger AFTER INSERT ON vehicles_lifecycleevent FOR EACH ROW
    WHEN (NEW.vehicle_id IS NOT NULL
          AND NEW.type IN ('registered', 'transferred', 'registration_cancelled', 'stolen_reported', 'found'))
    EXECUTE FUNCTION feeds_from_ledger();

CREATE FUNCTION feeds_from_recycling() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    rec jsonb := feeds_lead_acid_record(NEW);
BEGIN
    IF rec IS NOT NULL THEN
        INSERT INTO feeds_feedentry (feed, kind, region_code, occurred_at, record)
        VALUES ('environment', NEW.disposal, rec->'organization'->>'region_code', NEW.recorded_at, rec);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER feeds_from_recycling AFTER INSERT ON recycling_recyclingrecord FOR EACH ROW
    WHEN (NEW.kind = 'battery') EXECUTE FUNCTION feeds_from_recycling();

CREATE FUNCTION feeds_from_swap() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO feeds_feedentry (feed, kind, region_code, occurred_at, record)
    VALUES ('fire', 'swap_alarm', NEW.region_code, NEW.occurred_at, feeds_swap_alarm_record(NEW));
    RETURN NULL;
END $$;
CREATE TRIGGER feeds_from_swap AFTER INSERT ON charging_swapevent FOR EACH ROW
    WHEN (NEW.alarm <> 'none') EXECUTE FUNCTION feeds_from_swap();

CREATE FUNCTION feeds_from_alert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO feeds_feedentry (feed, kind, region_code, occurred_at, record)
    VALUES ('fire', 'battery_alert', NEW.region_code, NEW.event_at, feeds_alert_record(NEW));
    RETURN NULL;
END $$;
CREATE TRIGGER feeds_from_alert AFTER INSERT ON alerts_alert FOR EACH ROW
    WHEN (NEW.category = 'battery') EXECUTE FUNCTION feeds_from_alert();

CREATE FUNCTION feeds_from_station() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO feeds_feedentry (feed, kind, region_code, occurred_at, record)
    VALUES ('housing', CASE TG_OP WHEN 'INSERT' THEN 'station_added' ELSE 'station_changed' END, NEW.region_id,
            CASE TG_OP WHEN 'INSERT' THEN NEW.created_at ELSE now() END, feeds_station_record(NEW));
    RETURN NULL;
END $$;
CREATE TRIGGER feeds_station_added AFTER INSERT ON charging_swapstation FOR EACH ROW
    EXECUTE FUNCTION feeds_from_station();
CREATE TRIGGER feeds_station_changed AFTER UPDATE ON charging_swapstation FOR EACH ROW
    WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION feeds_from_station();
"""

# What was written before: in the order it happened, all in this migration's one transaction (one txid).
BACKFILL = """
INSERT INTO feeds_feedentry (feed, kind, region_code, occurred_at, record)
SELECT 'police', e.type, e.region_code, e.occurred_at,
       feeds_police_record(e.vehicle_id, e.organization_id, e.seq, e.payload)
FROM vehicles_lifecycleevent e
WHERE e.vehicle_id IS NOT NULL
  AND e.type IN ('registered', 'transferred', 'registration_cancelled', 'stolen_reported', 'found')
ORDER BY e.recorded_at, e.id;

INSERT INTO feeds_feedentry (feed, kind, region_code, occurred_at, record)
SELECT 'environment', r.disposal, x.rec->'organization'->>'region_code', r.recorded_at, x.rec
FROM recycling_recyclingrecord r, LATERAL (SELECT feeds_lead_acid_record(r) AS rec) x
WHERE r.kind = 'battery' AND x.rec IS NOT NULL
ORDER BY r.recorded_at, r.id;

INSERT INTO feeds_feedentry (feed, kind, region_code, occurred_at, record)
SELECT 'fire', 'swap_alarm', e.region_code, e.occurred_at, feeds_swap_alarm_record(e)
FROM charging_swapevent e WHERE e.alarm <> 'none' ORDER BY e.received_at, e.id;

INSERT INTO feeds_feedentry (feed, kind, region_code, occurred_at, record)
SELECT 'fire', 'battery_alert', a.region_code, a.event_at, feeds_alert_record(a)
FROM alerts_alert a WHERE a.category = 'battery' ORDER BY a.created_at, a.id;

INSERT INTO feeds_feedentry (feed, kind, region_code, occurred_at, record)
SELECT 'housing', 'station_added', s.region_id, s.created_at, feeds_station_record(s)
FROM charging_swapstation s ORDER BY s.created_at, s.id;
"""

DROP = """
DROP TRIGGER IF EXISTS feeds_from_ledger ON vehicles_lifecycleevent;
DROP TRIGGER IF EXISTS feeds_from_recycling ON recycling_recyclingrecord;
DROP TRIGGER IF EXISTS feeds_from_swap ON charging_swapevent;
DROP TRIGGER IF EXISTS feeds_from_alert ON alerts_alert;
DROP TRIGGER IF EXISTS feeds_station_added ON charging_swapstation;
DROP TRIGGER IF EXISTS feeds_station_changed ON charging_swapstation;
DROP FUNCTION IF EXISTS feeds_from_ledger(), feeds_from_recycling(), feeds_from_swap(), feeds_from_alert(),
    feeds_from_station();
DROP FUNCTION IF EXISTS feeds_police_record(bigint, bigint, integer, jsonb),
    feeds_lead_acid_record(recycling_recyclingrecord), feeds_swap_alarm_record(charging_swapevent),
    feeds_alert_record(alerts_alert), feeds_station_record(charging_swapstation), feeds_organization(bigint);
DELETE FROM feeds_feedentry;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("feeds", "0001_feed_entries"),
        ("core", "0007_load_streets"),
        ("catalog", "0002_load_standards"),
        ("vehicles", "0008_more_of_the_chain"),
        ("recycling", "0001_initial"),
        ("charging", "0001_initial"),
        ("alerts", "0011_department_concerned"),
    ]

    operations = [migrations.RunSQL(FUNCTIONS + BACKFILL, DROP)]
