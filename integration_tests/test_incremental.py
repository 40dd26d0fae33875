"""End to end: incremental syncs return every changed record, and state only moves forward.

The expectations are the emulator's ground truth: ``Workspace.expected_ids`` for a full sync
and ``Workspace.changed_ids(stream, version)`` for what changed since a version. The workspace
is generated as if two days ago, so that the contacts bookmark of the first sync lies on a day
that has already ended: updates at 23:59:59 of that day and 00:00:01 of the next one are then
real past events, the case a naive ``updated_at > bookmark`` contacts search (which matches
whole calendar days, '>' starting at the NEXT day) misses.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from typing import Any, Dict, List, Optional, Set, Tuple

import pytest

from integration_tests.workspaces import small_workspace
from intercom_emulator import EmulatorServer, Workspace
from intercom_emulator.records import PART_CAP
from integration_tests.harness import START_TS, Run, catalog_for, config_for, discovered_streams, run_cli
from source_intercom.stream_facts import stream_facts

DAY = 86400
FACTS = stream_facts()
FULL_REFRESH = tuple(name for name, facts in FACTS.items() if facts.cursor_field is None)
INCREMENTAL = tuple(name for name, facts in FACTS.items() if facts.cursor_field is not None)
# Contacts become searchable minutes after an update; the connector promises to re-read this much
# for the streams it reads from the contacts search.
CONTACTS_INDEXING_MARGIN = 3600
FROM_CONTACTS_SEARCH = ("contacts", "contact_tags", "contact_companies")


def parts_of_changed_parents(ws: Workspace, stream: str, since_version: int) -> Set[str]:
    """Every part (of the ones Intercom returns) of the conversations or tickets changed since a version."""
    parents = {"conversation_parts": ws.conversations, "ticket_parts": ws.tickets}.get(stream, [])
    return {str(p.id) for r in parents if not getattr(r, "deleted", False) and r.version > since_version for p in r.parts[-PART_CAP:]}


@pytest.fixture
def workspace() -> Workspace:
    """The shared small workspace, generated as of two days ago (overrides conftest's)."""
    return small_workspace(anchor_time=int(time.time()) - 2 * DAY)


# ------------------------------------------------------------------------------ helpers
def _state_of(state: List[Dict[str, Any]], stream: str) -> Optional[Dict[str, Any]]:
    for entry in state:
        if entry["stream"]["stream_descriptor"]["name"] == stream:
            return entry["stream"].get("stream_state") or {}
    return None


def bookmark(state: List[Dict[str, Any]], stream: str) -> Tuple[int, int]:
    """(cursor value, lookback seconds the connector itself applies) of a stream in a state."""
    stream_state = _state_of(state, stream)
    assert stream_state is not None, f"no state for {stream}"
    field = FACTS[stream].cursor_field
    if "state" in stream_state:  # global substream cursor
        return int(stream_state["state"][field]), int(stream_state.get("lookback_window") or 0)
    return int(stream_state[field]), CONTACTS_INDEXING_MARGIN if stream in FROM_CONTACTS_SEARCH else 0


def cursor_points(stream_state: Dict[str, Any], prefix: str = "") -> Dict[str, int]:
    """Every cursor value in a stream state (also a substream's parent state), by path."""
    points: Dict[str, int] = {}
    for key, value in stream_state.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            points.update(cursor_points(value, path + "."))
        elif key in {facts.cursor_field for facts in FACTS.values()}:
            points[path] = int(value)
    return points


def merge_state(old: List[Dict[str, Any]], new: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    merged = {e["stream"]["stream_descriptor"]["name"]: e for e in old}
    merged.update({e["stream"]["stream_descriptor"]["name"]: e for e in new})
    return list(merged.values())


def duplicates(run: Run, stream: str) -> Dict[Any, int]:
    return {k: n for k, n in Counter(run.keys(stream)).items() if n > 1}


def assert_ok(run: Run) -> None:
    assert run.returncode == 0, f"exit {run.returncode}: {run.errors} {run.stderr[-3000:]}"
    assert not run.errors, run.errors


def assert_full_refresh_complete(run: Run, ws: Workspace) -> None:
    for stream in FULL_REFRESH:
        assert not duplicates(run, stream), f"{stream}: duplicates {duplicates(run, stream)}"
        assert run.key_set(stream) == ws.expected_ids(stream, START_TS), stream


def contact_times_around_bookmark(bookmark_ts: int, now: int) -> List[Tuple[str, int]]:
    """Update times after the contacts bookmark that a day-granular ``> bookmark`` search misses."""
    day_end = (bookmark_ts // DAY) * DAY + DAY - 1
    if day_end <= now:
        times = [("23:59:59 of the bookmark's day", day_end)]
        if day_end + 2 <= now:
            times.append(("00:00:01 of the day after the bookmark", day_end + 2))
        return times
    # The bookmark's day is today, so its 23:59:59 lies in the future. The same-day case is an
    # update later today (after the bookmark); the previous day boundary counts only where the
    # connector promises to catch it (within the indexing margin before the bookmark).
    times = []
    previous_end = (now // DAY) * DAY - 1
    for label, t in (("23:59:59 of yesterday", previous_end), ("00:00:01 of today", previous_end + 2)):
        if bookmark_ts - CONTACTS_INDEXING_MARGIN < t <= now:
            times.append((label, t))
    if now > bookmark_ts:
        times.append(("later on the bookmark's day (today)", now))
    return times


def read(server: EmulatorServer, catalog: Dict[str, Any], state: Optional[List[Dict[str, Any]]] = None) -> Run:
    return run_cli("read", config_for(server), catalog, state=state)


# -------------------------------------------------------------------------------- tests
def test_incremental_rounds_return_every_changed_record(workspace: Workspace, emulator: EmulatorServer) -> None:
    ws = workspace
    catalog = catalog_for(discovered_streams(config_for(emulator)))
    modes = {s["stream"]["name"]: s["sync_mode"] for s in catalog["streams"]}
    assert all(modes[s] == "incremental" for s in INCREMENTAL), modes
    assert all(modes[s] == "full_refresh" for s in FULL_REFRESH), modes

    previous = read(emulator, catalog)
    previous_end = int(time.time())
    assert_ok(previous)
    for stream in FULL_REFRESH + INCREMENTAL:
        assert not duplicates(previous, stream), f"{stream}: duplicates {list(duplicates(previous, stream).items())[:5]}"
        expected = ws.expected_ids(stream, START_TS)
        got = previous.key_set(stream)
        assert got == expected, f"{stream}: {len(expected - got)} missing, {len(got - expected)} unexpected"

    rng = random.Random(20240601)
    state = previous.final_state()
    hidden: Dict[str, int] = {}   # contact id -> updated_at, changed before a sync but not yet searchable
    figures: List[str] = []
    for round_no in (1, 2, 3):
        marks = {stream: bookmark(state, stream) for stream in INCREMENTAL}
        # ground truth of what lies in the window the connector re-reads on purpose
        margin = {stream: ws.expected_ids(stream, b - lookback) for stream, (b, lookback) in marks.items()}
        v = ws.version
        ws.mutate_random(random.Random(1000 + round_no), fraction=0.1)

        # -- contacts around the bookmark's calendar day
        now = int(time.time())
        contacts_mark = marks["contacts"][0]
        pool = sorted(ws.expected_ids("contacts", START_TS))
        notes = []
        for label, t in contact_times_around_bookmark(contacts_mark, now):
            contact = rng.choice(pool)
            ws.update_contact(contact, updated_at=t, searchable_at=time.time())
            notes.append(f"{label} -> {contact}@{t}")
        # -- updated just before the previous sync ended, searchable only after it: revealed now
        for contact, t in hidden.items():
            ws.update_contact(contact, updated_at=t, searchable_at=time.time())
            notes.append(f"hidden during round {round_no - 1}, searchable now -> {contact}@{t}")
        late = rng.choice(pool)
        late_t = min(contacts_mark, previous_end) - 60
        ws.update_contact(late, updated_at=late_t, searchable_at=time.time())
        notes.append(f"updated before the previous sync's end and bookmark, indexed late -> {late}@{late_t}")
        # -- a contact updated now that the index shows only after this round's sync
        hidden = {}
        if round_no < 3:
            contact = rng.choice(pool)
            t = int(time.time()) - 30
            ws.update_contact(contact, updated_at=t, searchable_at=time.time() + 10 * DAY)
            hidden[contact] = t
        # -- new parts on an existing (not otherwise touched) conversation
        untouched = sorted(ws.expected_ids("conversations", START_TS) - ws.changed_ids("conversations", v))
        new_parts = ws.add_conversation_parts(rng.choice(untouched), n=2)

        run = read(emulator, catalog, state)
        previous_end = int(time.time())
        assert_ok(run)
        assert_full_refresh_complete(run, ws)
        for stream in INCREMENTAL:
            changed = ws.changed_ids(stream, v)
            if stream in FROM_CONTACTS_SEARCH:
                changed -= {key for key in changed if (key[0] if isinstance(key, tuple) else key) in hidden}  # not searchable yet
            emitted = run.key_set(stream)
            missing = changed - emitted
            assert not missing, (
                f"round {round_no}: {stream} missed {len(missing)} of {len(changed)} changed records, "
                f"e.g. {sorted(missing, key=str)[:5]}; contact updates this round: {notes}"
            )
            bogus = emitted - ws.expected_ids(stream, START_TS)
            assert not bogus, f"round {round_no}: {stream} emitted keys that do not exist: {sorted(bogus, key=str)[:5]}"
            dup = duplicates(run, stream)
            assert not dup, f"round {round_no}: {stream} emitted {len(dup)} keys twice or more: {list(dup.items())[:5]}"
            # a conversation's or ticket's parts come back whole when it changed (their cursor is its updated_at)
            resent = emitted - changed - parts_of_changed_parents(ws, stream, v)
            bound = 0.2 * len(changed) + len(margin[stream])
            figures.append(f"round {round_no} {stream:<18} changed={len(changed):4d} emitted={len(emitted):4d} "
                           f"re-sent unchanged={len(resent):3d} (in re-read margin: {len(margin[stream])}, bound {bound:.0f})")
            assert len(resent) <= bound, figures[-1]
        assert set(new_parts) <= run.key_set("conversation_parts")
        state = merge_state(state, run.final_state())
    print("\n" + "\n".join(figures))


def test_state_only_moves_forward(workspace: Workspace, emulator: EmulatorServer) -> None:
    ws = workspace
    catalog = catalog_for(discovered_streams(config_for(emulator)))
    old = START_TS + 30 * DAY   # long before any bookmark

    def backdate() -> None:
        """Changes whose cursor lies far behind the bookmarks (e.g. a corrected record)."""
        ws.update_contact(sorted(ws.expected_ids("contacts", START_TS))[0], updated_at=old, searchable_at=time.time())
        ws.update_company(sorted(ws.expected_ids("companies", START_TS))[0], updated_at=old)
        ws.update_conversation(sorted(ws.expected_ids("conversations", START_TS))[0], updated_at=old)
        ws.update_ticket(sorted(ws.expected_ids("tickets", START_TS))[0], updated_at=old)
        ws.add_activity_log(created_at=old)

    steps = [
        ("random changes", lambda: ws.mutate_random(random.Random(1), fraction=0.1)),
        ("no change", lambda: None),
        ("back-dated changes", backdate),
        ("random changes", lambda: ws.mutate_random(random.Random(2), fraction=0.1)),
        ("no change", lambda: None),
    ]
    first = read(emulator, catalog)
    assert_ok(first)
    state = first.final_state()
    history: List[Tuple[str, Dict[str, Dict[str, int]]]] = [
        ("full sync", {s: cursor_points(_state_of(state, s) or {}) for s in INCREMENTAL})
    ]
    for label, change in steps:
        change()
        run = read(emulator, catalog, state)
        assert_ok(run)
        # within the run: each stream's successive state messages never go back
        per_stream: Dict[str, Dict[str, int]] = {}
        for message in run.states:
            name = message["stream"]["stream_descriptor"]["name"]
            points = cursor_points(message["stream"].get("stream_state") or {})
            for path, value in points.items():
                before = per_stream.get(name, {}).get(path)
                assert before is None or value >= before, f"{label}: {name}.{path} went back within a run: {before} -> {value}"
            per_stream.setdefault(name, {}).update(points)
        state = merge_state(state, run.final_state())
        history.append((label, {s: cursor_points(_state_of(state, s) or {}) for s in INCREMENTAL}))

    for (label_a, a), (label_b, b) in zip(history, history[1:]):
        for stream in INCREMENTAL:
            assert a[stream], f"{stream} has no cursor in its state after {label_a}"
            for path, value in a[stream].items():
                assert path in b[stream], f"{stream}: cursor {path} disappeared after '{label_b}'"
                assert b[stream][path] >= value, (
                    f"{stream}: cursor {path} moved back from {value} to {b[stream][path]} in round '{label_b}'"
                )
    # and the bookmarks did move on with the changes
    for stream in INCREMENTAL:
        assert any(history[-1][1][stream][p] > v for p, v in history[0][1][stream].items()), f"{stream}: state never moved"
