"""Scheduled runs: only new inbox files are loaded; a failed refresh keeps the last good
snapshot and says why; exports and webhooks follow a good refresh."""

from __future__ import annotations

import csv
import datetime as dt
import os

import pytest

from danggol.activation import schedule, webhooks
from danggol.errors import ConfigError, SegmentError
from danggol.segments import history, service
from danggol.segments.definition import Segment

D1, D2 = dt.date(2025, 6, 1), dt.date(2025, 6, 30)


def write(path, header, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


HEADER = ["order_id", "customer_id", "ordered_at", "total"]


@pytest.fixture
def inbox(ws, tmp_path):
    folder = tmp_path / "inbox"
    write(folder / "orders" / "2025-05.csv", HEADER, [["o1", "c1", "2025-05-20", 100_000]])
    write(
        folder / "customers" / "all.csv",
        ["customer_id", "phone", "marketing_opt_in"],
        [["c1", "010-1234-5678", "yes"], ["c2", "01098765432", "yes"]],
    )
    service.registry(ws).save(Segment(name="big", query="amount_spent >= 50000"))
    return folder


def snapshot_state(ws):
    con = ws.duck
    return {
        "profile": con.execute("SELECT * FROM profile_snapshot ORDER BY customer_id").fetchall(),
        "meta": con.execute("SELECT * FROM profile_snapshot_meta").fetchall(),
        "members": con.execute("SELECT * FROM segment_members ORDER BY ALL").fetchall(),
        "sizes": con.execute("SELECT * FROM segment_sizes ORDER BY ALL").fetchall(),
        "refreshes": con.execute("SELECT refresh_id, as_of FROM refreshes").fetchall(),
        "changes": con.execute("SELECT * FROM segment_changes ORDER BY ALL").fetchall(),
    }


def test_only_new_files_are_loaded_then_refresh_and_export(ws, inbox, tmp_path):
    out = tmp_path / "big-{date}.csv"
    jobs = [schedule.ExportJob.parse(f"big:sms:{out}")]
    first = schedule.run(ws, D1, inbox=inbox, jobs=jobs)
    assert first.status == "ok" and len(first.files) == 2
    assert first.refresh["segments"] == [{"segment": "big", "size": 1, "entered": 1, "left": 0}]
    written = tmp_path / "big-2025-06-01.csv"
    assert written.read_text(encoding="utf-8-sig").splitlines()[1] == '"c1","010-1234-5678",'
    # nothing new: no file is loaded again
    again = schedule.run(ws, D1, inbox=inbox)
    assert again.files == []
    # a new file is loaded, the known ones are not
    write(inbox / "orders" / "2025-06.csv", HEADER, [["o2", "c2", "2025-06-10", 60_000]])
    third = schedule.run(ws, D2, inbox=inbox)
    assert [os.path.basename(f) for f in third.files] == ["2025-06.csv"]
    assert third.refresh["segments"][0]["size"] == 2
    runs = schedule.runs(ws)
    assert [(r["run_id"], r["status"], r["files"]) for r in runs] == [
        (3, "ok", 1),
        (2, "ok", 0),
        (1, "ok", 2),
    ]


def test_a_failed_refresh_keeps_the_last_good_snapshot_and_says_why(ws, inbox, monkeypatch):
    assert schedule.run(ws, D1, inbox=inbox).status == "ok"
    before = snapshot_state(ws)
    assert before["members"] == [("big", "c1")]
    write(inbox / "orders" / "2025-06.csv", HEADER, [["o2", "c2", "2025-06-10", 60_000]])
    calls = []
    real = history.snapshot_segments

    def fail_midway(ws_, as_of, segments, **kw):
        # the profile has been rebuilt inside the transaction by now; then the refresh breaks
        calls.append(ws_.duck.execute("SELECT count(*) FROM profile_snapshot").fetchall()[0][0])
        raise SegmentError("simulated failure while evaluating the segments")

    monkeypatch.setattr(history, "snapshot_segments", fail_midway)
    result = schedule.run(ws, D2, inbox=inbox)
    assert calls == [2]  # c1 and c2 were in the half-made snapshot
    assert result.status == "failed"
    assert result.error == "simulated failure while evaluating the segments"
    assert snapshot_state(ws) == before  # the previous snapshot, members and sizes are intact
    assert schedule.runs(ws)[0]["error"] == result.error
    monkeypatch.setattr(history, "snapshot_segments", real)
    # the file was loaded (its own transaction) and is not loaded twice; the next run refreshes
    ok = schedule.run(ws, D2, inbox=inbox)
    assert ok.files == [] and ok.status == "ok"
    assert ws.duck.execute("SELECT count(*) FROM segment_members").fetchall()[0][0] == 2


def test_webhooks_follow_the_refresh_without_waiting(ws, inbox):
    with (ws.path / "danggol.toml").open("a") as f:  # 127.0.0.1 is refused unless allowed
        f.write("\n[webhooks]\nallow_private_urls = true\n")
    webhooks.add_endpoint(ws, "nowhere", "http://127.0.0.1:9/hook", secret="s")
    result = schedule.run(ws, D1, inbox=inbox, webhook_options={"base_delay": 60})
    assert result.webhooks["enqueued"] == 1
    # refused connection: retried later (on a later run), not waited for
    assert (result.webhooks["retried"], result.webhooks["pending"]) == (1, 1)


def test_bad_jobs_and_inbox_are_named():
    with pytest.raises(ConfigError, match="SEGMENT:FORMAT:PATH"):
        schedule.ExportJob.parse("big:sms")


def test_missing_inbox_fails_the_run_and_keeps_the_snapshot(ws, inbox, tmp_path):
    schedule.run(ws, D1, inbox=inbox)
    before = snapshot_state(ws)
    result = schedule.run(ws, D2, inbox=tmp_path / "nope")
    assert result.status == "failed" and "is not a folder" in result.error
    assert snapshot_state(ws) == before
