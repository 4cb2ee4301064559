"""Publication attempts on record (audit.publications), and what a release may be built from.

A release is published only from marts that are one finished build of everything ingested and
that passed every blocking suite on that build; every attempt, published, unchanged or blocked,
is recorded with the build it concerned (docs/operations.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from pipelines.publication.release import DamagedLatest, read_latest, valid_latest
from pipelines.warehouse import ingested_state, latest_build, scalar, utc_now


@dataclass(frozen=True)
class UnfinishedWork:
    """What an interrupted run left undone: a build (then checks and publication) or only a publication."""

    needs_build: bool
    why: str


def unfinished_work(con: duckdb.DuckDBPyConnection, published: Path) -> UnfinishedWork | None:
    """What an interrupted run left undone; None when the home is consistent.

    The marts must be one finished build of everything ingested, and the latest release (or a
    withheld attempt) must be of that build. A build that did not finish (a killed process, a
    full disk, a reader holding the file) is built again; a build never published is published.
    """
    state, build = ingested_state(con), latest_build(con)
    if state == 0 and build is None:
        return None
    if build is None or build[2] != "succeeded" or build[1] != state:
        return UnfinishedWork(True, "the marts are not built from everything ingested (an earlier run stopped before its build finished)")
    attempt = con.execute(
        "select outcome, release_id from audit.publications where build_id = ? order by attempt_id desc limit 1", [build[0]]
    ).fetchone()
    if attempt is None:
        return UnfinishedWork(False, "the last build was never checked and published (an earlier run stopped before)")
    outcome, release_id = attempt
    if outcome == "blocked":
        return None
    try:
        latest = read_latest(published)
    except DamagedLatest as damage:
        return UnfinishedWork(False, f"the release pointer is damaged ({damage})")
    if latest != release_id:
        return UnfinishedWork(False, "published/latest does not name the release of the last build")
    return None


class InconsistentMarts(Exception):
    """The marts are not one checked build of everything ingested; the message says why."""


def checked_build(con: duckdb.DuckDBPyConnection, blocking_suites: list[str]) -> int:
    """The build the marts hold, if it covers everything ingested and passed every blocking suite."""
    build = latest_build(con)
    state = ingested_state(con)
    if build is None or build[2] != "succeeded":
        raise InconsistentMarts(
            "the last dbt build did not finish" if build else "the marts were never built"
        )
    build_id, built_from, _ = build
    if built_from != state:
        raise InconsistentMarts(f"the marts were built from the loads up to #{built_from}, but loads up to #{state} are ingested")
    passed = {
        suite
        for suite, success in con.execute(
            "select suite, arg_max(success, validated_at) from audit.quality_results where build_id = ? group by suite",
            [build_id],
        ).fetchall()
        if success
    }
    unchecked = [suite for suite in blocking_suites if suite not in passed]
    if unchecked:
        raise InconsistentMarts(f"blocking checks have not passed on build #{build_id}: {', '.join(unchecked)}")
    return build_id


def record_attempt(con: duckdb.DuckDBPyConnection, run_id: str, build_id: int | None, outcome: str, release_id: str | None,
                   reason: str | None) -> None:
    con.execute(
        "insert into audit.publications (attempt_id, run_id, release_id, attempted_at, outcome, reason, build_id) "
        "values (nextval('audit.publication_attempt_seq'), ?, ?, ?, ?, ?, ?)",
        [run_id, release_id, utc_now(), outcome, reason, build_id],
    )


def record_unrecorded_release(con: duckdb.DuckDBPyConnection, published: Path) -> None:
    """A release that a killed run put in place before recording it: its attempt, from its manifest."""
    release_id = valid_latest(published)
    if release_id is None or scalar(con, "select count(*) from audit.publications where release_id = ?", [release_id]):
        return
    manifest = json.loads((published / release_id / "manifest.json").read_text())
    build = manifest.get("build", {})
    record_attempt(con, manifest.get("run_id", "unknown"), build.get("build_id"), "published", release_id,
                   "recorded after the run that published it was interrupted")


def record_blocked_release(con: duckdb.DuckDBPyConnection, run_id: str, suite_failures: dict, now: datetime,
                           build_id: int | None) -> None:
    """One audit.publications row per run: each failing blocking suite (or the disclosure audit)
    adds its failures to it. suite_failures: suite, target and failed (expectation, kwargs, observed)."""
    existing = con.execute(
        "select attempt_id, failed_checks from audit.publications where run_id = ? and outcome = 'blocked'", [run_id]
    ).fetchone()
    if existing is None:
        con.execute(
            "insert into audit.publications (attempt_id, run_id, release_id, attempted_at, outcome, reason, failed_checks, "
            "build_id) values (nextval('audit.publication_attempt_seq'), ?, null, ?, 'blocked', ?, ?, ?)",
            [run_id, now, f"blocking check {suite_failures['suite']} failed", json.dumps([suite_failures], default=str),
             build_id],
        )
    else:
        attempt_id, failed_checks = existing
        suites = json.loads(failed_checks) + [suite_failures]
        con.execute(
            "update audit.publications set reason = ?, failed_checks = ? where attempt_id = ?",
            ["blocking checks failed: " + ", ".join(s["suite"] for s in suites), json.dumps(suites, default=str), attempt_id],
        )
