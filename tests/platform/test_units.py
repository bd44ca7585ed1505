"""Unit tests of the platform services, each against a fresh in-memory store."""

import json
import threading
import zlib
from datetime import UTC, datetime, timedelta

import pytest

from simulators.platform.errors import Invalid, NotFound
from simulators.platform.journal import MASK, PACK_OVER, TRIM_CHUNK, Journal, mask
from simulators.platform.runtime import Platform
from simulators.platform.store import Store, Table
from simulators.platform.timeutil import iso, parse_duration

from .echo_system import SYSTEM


@pytest.fixture
def plat():
    return Platform(Store(":memory:"), [SYSTEM], {})


@pytest.fixture
def sid(plat):
    return plat.sandboxes.create(seed=1)["id"]


def t(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


# -- durations --------------------------------------------------------------------------------------


@pytest.mark.parametrize("text,seconds", [("PT31M", 1860), ("P1D", 86400), ("PT1H30M", 5400), ("P1M", 30 * 86400),
                                          ("P1W", 604800), (90, 90), ("45", 45), ("PT0.5S", 0.5)])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["P", "PT", "31M", "soon", "", None, True, [1], float("nan")])
def test_parse_duration_rejects(bad):
    with pytest.raises(ValueError):
        parse_duration(bad)


# -- clock ------------------------------------------------------------------------------------------


def test_clock_freeze_advance_set_reset(plat, sid):
    frozen = t(plat.clock.freeze(sid)["now"])
    assert t(plat.clock.state(sid)["now"]) == frozen
    assert t(plat.clock.advance(sid, 1860)["now"]) - frozen == timedelta(minutes=31)
    target = datetime(2027, 1, 1, 9, tzinfo=UTC)
    assert t(plat.clock.set(sid, target)["now"]) == target
    running = plat.clock.unfreeze(sid)
    assert running["frozen"] is False and abs(t(running["now"]) - target) < timedelta(seconds=2)
    back = plat.clock.reset(sid)
    assert abs(t(back["now"]) - datetime.now(UTC)) < timedelta(seconds=2) and back["offsetSeconds"] == 0


def test_clock_refuses_negative_advance_and_unknown_sandbox(plat, sid):
    with pytest.raises(Invalid):
        plat.clock.advance(sid, -1)
    with pytest.raises(NotFound):
        plat.clock.state("nope")


def test_due_work_runs_in_order_once(plat, sid):
    ran = []
    plat.clock.on_due("test.mark", lambda db, sb, payload, due_at: ran.append(payload["n"]))
    plat.clock.freeze(sid)
    now = plat.clock.now(sid)
    with plat.store.write() as db:
        plat.clock.schedule(db, sid, now + timedelta(minutes=10), "test.mark", payload={"n": 2})
        plat.clock.schedule(db, sid, now + timedelta(minutes=5), "test.mark", payload={"n": 1})
        plat.clock.schedule(db, sid, now + timedelta(hours=1), "test.mark", payload={"n": 3})
    assert plat.clock.run_due(sid) == 0
    plat.clock.advance(sid, 600)
    assert ran == [1, 2]
    assert plat.clock.run_due(sid) == 0 and ran == [1, 2]
    plat.clock.advance(sid, 3600)
    assert ran == [1, 2, 3]


def test_due_work_failure_rolls_back_and_keeps_the_work(plat, sid):
    def boom(db, sb, payload, due_at):
        raise RuntimeError("handler failed")

    plat.clock.on_due("test.boom", boom)
    with plat.store.write() as db:
        plat.clock.schedule(db, sid, plat.clock.now(sid), "test.boom")
    with pytest.raises(RuntimeError):
        plat.clock.run_due(sid)
    assert len(plat.clock.pending(sid)) == 1


# -- store ------------------------------------------------------------------------------------------


def test_write_is_atomic(plat, sid):
    with pytest.raises(RuntimeError), plat.store.write() as db:
        db["echo_notes"].insert({"sandbox": sid, "id": "x", "text": "t", "created_at": ""})
        raise RuntimeError("the write fails half way")
    with plat.store.read() as db:
        assert db.execute("SELECT count(*) FROM echo_notes WHERE id = 'x'").fetchone()[0] == 0


def test_migrations_run_once_and_record_version(tmp_path):
    path = str(tmp_path / "s.db")
    store = Store(path)
    store.register([Table("things", {"id": str}, pk=("id",))])
    store.close()
    store = Store(path)
    table = Table("things", {"id": str, "colour": str}, pk=("id",), version=2,
                  migrations={2: ['ALTER TABLE things ADD COLUMN colour TEXT']})
    store.register([table])
    store.register([table])  # idempotent
    with store.read() as db:
        assert "colour" in db["things"].columns_dict
        assert db.execute("SELECT version FROM _schema WHERE component = 'things'").fetchone()[0] == 2
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_registering_current_tables_does_not_wait_for_another_writer(tmp_path):
    """A database that holds every table at its version is only read by ``register``: a second store (a
    worker starting while the demo sandbox is seeded) does not wait for a write that holds the lock; a
    table at a newer version still goes through a write, and so waits for it."""
    import time

    path = str(tmp_path / "s.db")
    table = Table("things", {"id": str}, pk=("id",))
    Store(path).register([table])
    holder, held, release = Store(path), threading.Event(), threading.Event()

    def hold():
        with holder.write():  # the file lock, as another process's transaction holds it
            held.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert held.wait(5)
        other = Store(path)
        started = time.monotonic()
        other.register([table])
        assert time.monotonic() - started < 1
        assert other.tables == {"things": table}
        newer = Table("things", {"id": str, "colour": str}, pk=("id",), version=2,
                      migrations={2: ["ALTER TABLE things ADD COLUMN colour TEXT"]})
        migrating = threading.Thread(target=other.register, args=([newer],))
        migrating.start()
        migrating.join(0.5)
        assert migrating.is_alive()  # waits for the lock: a migration is a write
    finally:
        release.set()
        thread.join(10)
    migrating.join(10)
    with other.read() as db:
        assert "colour" in db["things"].columns_dict


def test_a_journal_from_version_1_loses_its_operation_index(tmp_path):
    """Version 2 of the journal table drops the (sandbox, operation) index that no query used."""
    from dataclasses import replace

    from simulators.platform.journal import JOURNAL_TABLE

    path = str(tmp_path / "s.db")
    store = Store(path)
    store.register([replace(JOURNAL_TABLE, indexes=(("id",), ("operation",)), version=1, migrations={})])
    with store.read() as db:
        assert "idx__journal_sandbox_operation" in {i.name for i in db["_journal"].indexes}
    store.close()
    store = Store(path)
    store.register([JOURNAL_TABLE])
    with store.read() as db:
        assert {i.name for i in db["_journal"].indexes} == {"idx__journal_sandbox_id"}
        assert db.execute("SELECT version FROM _schema WHERE component = '_journal'").fetchone()[0] == 2



def test_the_journal_has_a_file_of_its_own_and_its_writes_leave_the_state_file_alone(tmp_path):
    """Entries go to state.journal.db beside state.db: a journal write does not change state.db, so a
    connection reading it keeps its page cache (SQLite's data_version moves only when another connection
    commits to the file)."""
    import sqlite3

    path = tmp_path / "state.db"
    plat = Platform(Store(str(path)), [SYSTEM], {})
    sid = plat.sandboxes.create(seed=1)["id"]
    reader = sqlite3.connect(path)
    before = reader.execute("PRAGMA data_version").fetchone()[0]
    for n in range(3):
        _record(plat.journal, sid, n)
    assert reader.execute("PRAGMA data_version").fetchone()[0] == before
    assert plat.journal.query(sid)[1] == 3
    names = {r[0] for r in reader.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "_journal" not in names and "_sandboxes" in names
    with sqlite3.connect(tmp_path / "state.journal.db") as journal_file:
        assert journal_file.execute("SELECT count(*) FROM _journal WHERE sandbox = ?", [sid]).fetchone()[0] == 3
    reader.close()
    plat.close()


def test_a_database_from_before_the_journal_moved_drops_its_journal_table(tmp_path):
    """A state.db that still holds _journal loses it (and its _schema row) on the first start, and the
    start after that only reads."""
    from simulators.platform.journal import JOURNAL_TABLE

    path = str(tmp_path / "state.db")
    old = Store(path)
    old.register([JOURNAL_TABLE])
    with old.write() as db:
        db.execute("INSERT INTO _journal (sandbox, at, wall, system, operation, method, path, status, "
                   "duration_ms, request, response) VALUES ('sbx-1', '', '', 'echo', 'echo.x', 'GET', '/', 200, "
                   "1.0, '{}', '{}')")
    old.close()
    plat = Platform(Store(path), [SYSTEM], {})
    with plat.store.read() as db:
        assert "_journal" not in db.table_names()
        assert db.execute("SELECT count(*) FROM _schema WHERE component = '_journal'").fetchone()[0] == 0
    assert plat.store._registered(list(plat.store.tables.values()), retired=(JOURNAL_TABLE.name,))
    plat.close()


def test_reset_and_delete_clear_the_sandboxs_journal_and_no_other(plat):
    a, b = plat.sandboxes.create(seed=1)["id"], plat.sandboxes.create(seed=2)["id"]
    for n in range(4):
        _record(plat.journal, a, n)
        _record(plat.journal, b, n)
    plat.sandboxes.reset(a)
    assert plat.journal.query(a)[1] == 0 and plat.journal.query(b)[1] == 4
    _record(plat.journal, a, 9)
    plat.sandboxes.delete(a)
    assert plat.journal.query(a)[1] == 0 and plat.journal.query(b)[1] == 4


# -- sandboxes --------------------------------------------------------------------------------------


def test_credentials_unique_and_lookup(plat):
    a = plat.sandboxes.create(seed=5)
    b = plat.sandboxes.create(seed=5)
    ka, kb = a["credentials"]["echo"]["key"], b["credentials"]["echo"]["key"]
    assert ka != kb
    assert plat.sandboxes.lookup("echo", ka).sandbox == a["id"]
    assert plat.sandboxes.lookup("echo", "nope") is None
    assert plat.sandboxes.lookup("other-system", ka) is None


def test_reset_keeps_credentials_and_reseeds(plat, sid):
    before = plat.sandboxes.get(sid)
    with plat.store.write() as db:
        db.execute("DELETE FROM echo_notes WHERE sandbox = ?", [sid])
    plat.clock.advance(sid, 5000)
    after = plat.sandboxes.reset(sid)
    assert after["credentials"] == before["credentials"]
    with plat.store.read() as db:
        assert db.execute("SELECT count(*) FROM echo_notes WHERE sandbox = ?", [sid]).fetchone()[0] == 3
    assert abs(plat.clock.state(sid)["offsetSeconds"]) < 1


def test_delete_removes_every_row(plat, sid):
    plat.sandboxes.delete(sid)
    with plat.store.read() as db:
        for table in plat.store.tables:
            assert db.execute(f'SELECT count(*) FROM "{table}" WHERE sandbox = ?', [sid]).fetchone()[0] == 0
    with pytest.raises(NotFound):
        plat.sandboxes.get(sid)


# -- journal ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    'username=a&password=hunter22', '{"password": "hunter22"}', '<szPassword>hunter22</szPassword>',
    'bln type=api,key=k,secret=hunter22', '<ns:szPassword xsi:type="xsd:string">hunter22</ns:szPassword>',
])
def test_mask_by_name(text):
    assert "hunter22" not in mask(text) and MASK in mask(text)


def test_mask_by_value():
    assert mask("token is abcd-1234-efgh anywhere", ["abcd-1234-efgh"]) == f"token is {MASK} anywhere"


def _record(journal, sid, n, op="echo.addNote", status=201):
    journal.record(sid, at=iso(datetime.now(UTC)), wall=iso(datetime.now(UTC)), system="echo", operation=op,
                   method="POST", path="/echo/notes", status=status, duration_ms=1.0,
                   request={"body": f'{{"n": {n}}}'}, response={"body": ""}, secrets=[])


def test_journal_is_bounded(plat, sid):
    journal = Journal(plat.journal.store, retention=50)
    for n in range(450):
        _record(journal, sid, n)
    journal.trim(sid)
    items, total = journal.query(sid, limit=1000)
    assert total == 50 and items[0]["request"]["body"] == '{"n": 449}'


def test_journal_past_its_retention_is_deleted_a_chunk_per_call(plat, sid):
    """The entries past the retention go TRIM_CHUNK per call (one long delete would hold up every call):
    200 entries with retention 50 leave 150 to delete, 25 with each call from the 200th on."""
    journal = Journal(plat.journal.store, retention=50)
    journal.trim_every = 200
    for n in range(199):
        _record(journal, sid, n)
    assert journal.query(sid, limit=1)[1] == 199
    _record(journal, sid, 199)
    assert journal.query(sid, limit=1)[1] == 200 - TRIM_CHUNK
    for n in range(200, 205):
        _record(journal, sid, n)
    newest, total = journal.query(sid, limit=1)
    assert total == 205 - 6 * TRIM_CHUNK == 55
    oldest = journal.query(sid, limit=1, offset=54)[0]
    assert [newest[0]["request"]["body"], oldest[0]["request"]["body"]] == ['{"n": 204}', '{"n": 150}']
    _record(journal, sid, 205)
    assert journal.query(sid, limit=1)[1] == 56  # the cutoff reached: nothing more to delete


def test_long_journal_records_are_stored_compressed_and_read_back_whole(plat, sid):
    """A record over PACK_OVER characters is stored as a compressed BLOB (a 200-row answer takes a fraction
    of its text), masked before it is packed; query and verify give back exactly what was recorded, and a
    short record stays text."""
    rows = [{"courseClassId": 1000 + i, "externalId": f"BENCH-{i}", "city": "Bergen", "password": "hunter22"}
            for i in range(200)]
    answer = json.dumps(rows)
    request = {"headers": {"Content-Type": "application/x-www-form-urlencoded"},
               "body": "username=u&password=s3cret-pw&" + "x=1&" * 2500}
    plat.journal.record(sid, at=iso(datetime.now(UTC)), wall=iso(datetime.now(UTC)), system="echo",
                        operation="echo.listNotes", method="POST", path="/echo/notes", status=200, duration_ms=1.0,
                        request=request, response={"body": answer}, secrets=["s3cret-pw"])
    _record(plat.journal, sid, 7)
    with plat.journal.store.read() as db:
        stored = db.execute("SELECT typeof(request), typeof(response), length(response) FROM _journal "
                            "WHERE sandbox = ? ORDER BY id", [sid]).fetchall()
        raw = db.execute("SELECT request, response FROM _journal WHERE sandbox = ? ORDER BY id LIMIT 1",
                         [sid]).fetchone()
    assert len(answer) > PACK_OVER and stored[0][:2] == ("blob", "blob") and stored[0][2] < len(answer) // 10
    assert stored[1][:2] == ("text", "text")
    unpacked = zlib.decompress(raw[0]).decode() + zlib.decompress(raw[1]).decode()
    assert "s3cret-pw" not in unpacked and "hunter22" not in unpacked  # masked before packing
    items, _ = plat.journal.query(sid)
    long_one = items[1]
    assert long_one["request"]["body"] == "username=u&password=********&" + "x=1&" * 2500
    assert json.loads(long_one["response"]["body"]) == [{**r, "password": "********"} for r in rows]
    assert items[0]["request"] == {"body": '{"n": 7}'} and items[0]["response"] == {"body": ""}
    ok, result = plat.journal.verify(sid, {"matcher": {"operation": "listNotes", "bodyContains": "x=1&x=1"},
                                           "expect": {"count": 1}})
    assert ok, result


def test_journal_trimmed_from_many_threads_at_once_fails_no_call(plat, sid):
    """Threads that record into a full journal together all finish their deletes without an error (one
    of them may find the others have already deleted what it was to delete), and the bound holds."""
    journal = Journal(plat.journal.store, retention=20)
    journal.trim_every = 4
    failures: list[BaseException] = []

    def calls(k: int) -> None:
        try:
            for n in range(150):
                _record(journal, sid, k * 1000 + n)
        except BaseException as exc:  # noqa: BLE001 - collected, asserted below
            failures.append(exc)

    threads = [threading.Thread(target=calls, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    # 1,200 entries written; the chunked deletes kept up (20-23 left in six runs): at most twice the retention
    assert journal.query(sid, limit=1)[1] <= 40
    journal.trim(sid)
    assert journal.query(sid, limit=1)[1] == 20


def test_verify_counts_and_nearest_misses(plat, sid):
    _record(plat.journal, sid, 1)
    _record(plat.journal, sid, 2, status=400)
    ok, result = plat.journal.verify(sid, {"matcher": {"operation": "addNote", "status": 201}, "expect": {"count": 1}})
    assert ok and result["matched"] == 1
    ok, result = plat.journal.verify(sid, {"matcher": {"operation": "addNote", "status": 201}, "expect": {"atLeast": 2}})
    assert not ok and result["nearestMisses"][0]["mismatches"] == ["status is 400, not 201"]
    ok, _ = plat.journal.verify(sid, {"matcher": {"jsonPath": {"$.n": 2}}, "expect": {"count": 1}})
    assert ok
    with pytest.raises(Invalid):
        plat.journal.verify(sid, {"matcher": {"operation": "x"}})


# -- faults -----------------------------------------------------------------------------------------


def test_fault_times(plat, sid):
    plat.faults.add(sid, {"matcher": {"system": "echo"}, "effect": {"status": 503}, "times": 2})
    hits = [plat.faults.pick(sid, "echo", "listNotes") is not None for _ in range(4)]
    assert hits == [True, True, False, False]


def test_fault_probability_is_reproducible(plat):
    def run():
        sid = plat.sandboxes.create(seed=1)["id"]
        plat.faults.add(sid, {"matcher": {"operation": "listNotes"}, "effect": {"status": 500},
                              "probability": 0.5, "seed": 99})
        return [plat.faults.pick(sid, "echo", "listNotes") is not None for _ in range(40)]

    first, second = run(), run()
    assert first == second and 5 < sum(first) < 35


def test_fault_matcher_scopes_system_and_operation(plat, sid):
    plat.faults.add(sid, {"matcher": {"system": "echo", "operation": "addNote"}, "effect": {"status": 500}})
    assert plat.faults.pick(sid, "echo", "listNotes") is None
    assert plat.faults.pick(sid, "echo", "addNote") == {"status": 500}


@pytest.mark.parametrize("rule,field", [
    ({"effect": {"status": 500}}, "matcher"),
    ({"matcher": {"system": "nope"}, "effect": {"status": 500}}, "matcher.system"),
    ({"matcher": {"system": "echo"}}, "effect"),
    ({"matcher": {"system": "echo"}, "effect": {"status": 99}}, "effect.status"),
    ({"matcher": {"system": "echo"}, "effect": {"latencyMs": -1}}, "effect.latencyMs"),
    ({"matcher": {"system": "echo"}, "effect": {"preset": "nope"}}, "effect.preset"),
    ({"matcher": {"system": "echo"}, "effect": {"status": 500}, "times": 0}, "times"),
    ({"matcher": {"system": "echo"}, "effect": {"status": 500}, "probability": 2}, "probability"),
])
def test_fault_validation_names_the_field(plat, sid, rule, field):
    with pytest.raises(Invalid) as err:
        plat.faults.add(sid, rule)
    assert err.value.field == field


# -- snapshots --------------------------------------------------------------------------------------


def test_snapshot_restores_exact_rows_and_clock(plat, sid):
    plat.clock.freeze(sid)
    with plat.store.read() as db:
        before = list(db.query("SELECT * FROM echo_notes WHERE sandbox = ? ORDER BY id", [sid]))
    clock = plat.clock.state(sid)["now"]
    plat.snapshots.save(sid, "s")
    with plat.store.write() as db:
        db.execute("DELETE FROM echo_notes WHERE sandbox = ? AND id = 'seed-0'", [sid])
        db["echo_notes"].insert({"sandbox": sid, "id": "new", "text": "x", "created_at": ""})
    plat.clock.advance(sid, 86400)
    plat.snapshots.restore(sid, "s")
    with plat.store.read() as db:
        assert list(db.query("SELECT * FROM echo_notes WHERE sandbox = ? ORDER BY id", [sid])) == before
    assert plat.clock.state(sid)["now"] == clock
    with pytest.raises(Invalid):
        plat.snapshots.save(sid, "../bad name")
    with pytest.raises(NotFound):
        plat.snapshots.delete(sid, "nope")


# -- store: write_one -------------------------------------------------------------------------------


def test_write_one_from_many_threads_lands_every_row_and_a_bad_one_fails_alone(tmp_path):
    """Group commit: statements handed in while another thread writes are written together; each call
    returns once its own row is committed, and a failing statement raises in its own thread only."""
    import sqlite3
    import threading

    store = Store(str(tmp_path / "s.db"))
    store.register([Table("rows", {"id": int, "n": int}, pk=("id",), unique=(("n",),))])
    errors, barrier = [], threading.Barrier(8)

    def writer(t):
        barrier.wait()
        for i in range(50):
            n = t * 1000 + i
            try:
                store.write_one("INSERT INTO rows (sandbox, id, n) VALUES ('s', ?, ?)", [n, n])
                if i == 25:  # the same n again: the unique index refuses it
                    store.write_one("INSERT INTO rows (sandbox, id, n) VALUES ('s', ?, ?)", [n + 500, n])
            except sqlite3.IntegrityError:
                errors.append(n)
            with store.read() as db:  # committed before write_one returned
                assert db.execute("SELECT 1 FROM rows WHERE n = ?", [n]).fetchone()

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=30)
    with store.read() as db:
        assert db.execute("SELECT count(*) FROM rows").fetchone()[0] == 8 * 50
    assert sorted(errors) == [t * 1000 + 25 for t in range(8)]
    assert not store._leading and not store._pending
    store.close()
