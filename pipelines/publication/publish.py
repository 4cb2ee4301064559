"""Publishing a release: disclosure control, the audit that proves it, and the immutable release.

A release is built only from marts that are one finished build of everything ingested and passed
every blocking suite on that build (attempts.checked_build); a build that a killed process left
half done, or loads that arrived after the build, withhold it, so a release never mixes two
states of the data. The disclosure audit is the last gate: a release whose hidden figures an
attacker could narrow below the protection level is withheld and recorded the same way
(docs/disclosure.md, "Audit"). Every attempt is recorded in audit.publications.
"""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.publication.attempts import (
    InconsistentMarts,
    checked_build,
    record_attempt,
    record_blocked_release,
    record_unrecorded_release,
)
from pipelines.publication.audit import AuditResult, audit_release
from pipelines.publication.disclosure import DisclosurePolicy, Suppression, suppress
from pipelines.publication.extracts import build_catalogues, build_extracts
from pipelines.publication.release import parquet_bytes, publish_release
from pipelines.publication.report import render_report
from pipelines.publication.solutions import remember_solutions, remembered_solutions
from pipelines.settings import REPO_ROOT, Settings
from pipelines.warehouse import ingested_state, utc_now


@dataclass(frozen=True)
class Publication:
    """What a publish attempt did: published, unchanged (the data did not change) or blocked."""

    outcome: str
    release_id: str | None = None
    path: Path | None = None
    blocked_reason: str | None = None
    suppressed_cells: int = 0
    secondary_suppression: str | None = None
    solver_seconds: float = 0.0


def code_version() -> str:
    """The commit the release was built from (with '+changes' when the work tree differs)."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        from importlib.metadata import version

        return f"sovereignty-warehouse {version('sovereignty-warehouse')}"
    return commit.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def build_engine(con: duckdb.DuckDBPyConnection, build_id: int) -> str | None:
    """The engine (and its version) that built the marts: 'spark 4.1.4' (None before engines were recorded)."""
    (engine,) = con.execute("select engine from audit.builds where build_id = ?", [build_id]).fetchall()[0]
    return engine


def included_loads(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """The loads a release is built from. File names are left out: senders put INNs in them."""
    rows = con.execute(
        "select load_id, kind, sha256, rows_loaded, periods from audit.loads where status = 'loaded' order by load_id"
    ).fetchall()
    return [dict(zip(("load_id", "kind", "sha256", "rows_loaded", "periods"), row)) for row in rows]


def validations(con: duckdb.DuckDBPyConnection, build_id: int, state: int) -> list[dict]:
    """The latest result of each suite on what is published: the build's tables, and the raw
    tables as they were when the build started (raw suites run before the build)."""
    rows = con.execute(
        """
        select suite, arg_max(target, validated_at), arg_max(blocking, validated_at), arg_max(success, validated_at),
               arg_max(evaluated, validated_at)
        from audit.quality_results
        where (target not like 'raw.%' and build_id = ?) or (target like 'raw.%' and ingested_state = ?)
        group by suite order by suite
        """,
        [build_id, state],
    ).fetchall()
    return [dict(zip(("suite", "target", "blocking", "success", "expectations_evaluated"), row)) for row in rows]


def completeness_warnings(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute("select detail from marts.data_quality where severity = 'warning' order by rule, detail").fetchall()
    return [detail for (detail,) in rows]


def disclosure_summary(policy: DisclosurePolicy, suppression: Suppression, audit: AuditResult) -> dict:
    """The manifest's record of disclosure control: the settings, how secondary suppression was
    chosen, and the audit's narrowest intervals."""
    return {
        "min_producers": policy.min_producers,
        "dominance_share": policy.dominance_share,
        "protection": policy.protection,
        "secondary_suppression": {
            "method": suppression.method,
            "fallback_reason": suppression.fallback_reason,
            "solver_time_limit_seconds": policy.solver_time_limit,
            "solver_seconds": round(suppression.solver_seconds, 3),
        },
        "audit": audit.summary(),
    }


def audit_failures(audit: AuditResult) -> dict:
    """The audit's failures in the form of a failing blocking check (audit.publications)."""
    return {
        "suite": "disclosure_audit",
        "target": "published extracts",
        "failed": [
            {"expectation": "protection interval", "kwargs": {"cell": f.cell, "required": f.required},
             "observed": {"below": f.as_json()["below"], "above": f.as_json()["above"]}}
            for f in audit.failures
        ],
    }


def publish(con: duckdb.DuckDBPyConnection, settings: Settings, run_id: str, blocking_suites: list[str]) -> Publication:
    """Publish the marts behind con as a release, or record why not.

    Raises InconsistentMarts (after recording the attempt) when the marts are not one checked build
    of everything ingested: `sovereignty run` finishes the build."""
    policy = DisclosurePolicy.from_settings(settings)
    record_unrecorded_release(con, settings.published)
    try:
        build_id = checked_build(con, blocking_suites)
    except InconsistentMarts as why:
        record_attempt(con, run_id, None, "blocked", None, f"{why}: run `sovereignty run` to finish the build")
        raise
    solved = remembered_solutions(con)
    suppression = suppress(con, policy, solved)
    remember_solutions(con, solved)
    extracts = build_extracts(con, policy, suppression)
    audit = audit_release(con, policy, {name: extract.frame for name, extract in extracts.items()})
    if not audit.passed:
        record_blocked_release(con, run_id, audit_failures(audit), utc_now(), build_id)
        return Publication("blocked", blocked_reason=f"disclosure audit: {len(audit.failures)} hidden cells under their protection level")
    published = extracts | build_catalogues(con)
    columns = {name: extract.columns() for name, extract in published.items()}
    files = {
        f"{name}.parquet": parquet_bytes(extract.frame, {column: c.metadata() for column, c in columns[name].items()})
        for name, extract in published.items()
    }

    def build_manifest(release_id: str, created_at: str) -> dict:
        return {
            "release_id": release_id,
            "created_at": created_at,
            "run_id": run_id,
            # what the marts were built from: the build and the newest load it covered
            "build": {"build_id": build_id, "ingested_state": ingested_state(con), "engine": build_engine(con, build_id)},
            "code_version": code_version(),
            "disclosure": disclosure_summary(policy, suppression, audit),
            "loads": included_loads(con),
            "extracts": {
                name: {
                    "file": f"{name}.parquet",
                    "rows": extract.frame.height,
                    "sha256": hashlib.sha256(files[f"{name}.parquet"]).hexdigest(),
                    "columns": [
                        {"name": c, "type": str(t), "description": columns[name][c].description,
                         "unit": columns[name][c].unit}
                        for c, t in extract.frame.schema.items()
                    ],
                    "suppressed_cells": extract.suppressed_cells,
                }
                for name, extract in published.items()
            },
            "validations": validations(con, build_id, ingested_state(con)),
            "warnings": completeness_warnings(con),
        }

    outcome = publish_release(
        settings.published,
        files,
        build_manifest,
        lambda manifest: render_report({name: e.frame for name, e in extracts.items()}, manifest),
    )
    reason = "the data did not change since this release" if outcome.outcome == "unchanged" else None
    record_attempt(con, run_id, build_id, outcome.outcome, outcome.release_id, reason)
    return Publication(
        outcome.outcome,
        release_id=outcome.release_id,
        path=outcome.path,
        suppressed_cells=sum(e.suppressed_cells for e in extracts.values()),
        secondary_suppression=suppression.method,
        solver_seconds=suppression.solver_seconds,
    )
