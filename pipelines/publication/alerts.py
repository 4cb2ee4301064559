"""New high-severity risk signals of a release, and their delivery to the alert webhook.

A signal is new when the release before did not have it at high severity (same period, level,
code, type and subject). The signals come from the release's published risk_signals extract, so
an alert never says more than the release does (disclosure control, docs/disclosure.md). The
webhook receives one JSON POST per release with new high-severity signals
(docs/early_warning.md gives the payload); a receiver that is down or answers with an error is
logged and never fails the release.
"""

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from pipelines.publication.extracts import EXTRACTS
from pipelines.settings import ALERT_TIMEOUT_SECONDS, Settings

SIGNAL_KEY = EXTRACTS["risk_signals"][0]
HIGH = "high"


def release_signals(published: Path, release_id: str | None) -> pl.DataFrame | None:
    """The risk_signals extract of a release; None when there is no such release or extract
    (a release made before the early-warning marts existed)."""
    path = published / release_id / "risk_signals.parquet" if release_id else None
    return pl.read_parquet(path) if path and path.exists() else None


def previous_release(con: duckdb.DuckDBPyConnection, release_id: str) -> str | None:
    """The release published before release_id (audit.publications)."""
    row = con.execute(
        """
        select release_id from audit.publications
        where outcome = 'published' and release_id <> ?
            and attempt_id < (select min(attempt_id) from audit.publications where release_id = ? and outcome = 'published')
        order by attempt_id desc limit 1
        """,
        [release_id, release_id],
    ).fetchone()
    return row[0] if row else None


def new_high_signals(published: Path, release_id: str, previous_id: str | None) -> list[dict]:
    """The high-severity signals of release_id that the previous release did not have at high
    severity, in the extract's order."""
    current = release_signals(published, release_id)
    if current is None:
        return []
    high = current.filter(pl.col("severity") == HIGH)
    before = release_signals(published, previous_id)
    if before is not None:
        # nulls_equal: subject is NULL for most types and must match NULL
        high = high.join(before.filter(pl.col("severity") == HIGH).select(SIGNAL_KEY), on=SIGNAL_KEY, how="anti",
                         nulls_equal=True)
    return high.to_dicts()


@dataclass(frozen=True)
class Delivery:
    delivered: bool
    detail: str  # what happened, for the log and the check's metadata


def post_signals(url: str, release_id: str, signals: list[dict], timeout: float = ALERT_TIMEOUT_SECONDS) -> Delivery:
    """One JSON POST of the signals to url. Never raises for an unreachable or failing receiver."""
    body = json.dumps({"release_id": release_id, "signals": signals}, ensure_ascii=False).encode()
    try:
        request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Delivery(True, f"HTTP {response.status}")
    except urllib.error.HTTPError as error:
        return Delivery(False, f"the webhook answered HTTP {error.code}")
    except (urllib.error.URLError, OSError, ValueError) as error:  # refused, timed out, malformed URL
        return Delivery(False, f"the webhook could not be reached: {getattr(error, 'reason', error)}")


def alert_delivery(con: duckdb.DuckDBPyConnection, settings: Settings, run_id: str) -> tuple[str | None, list[dict], Delivery]:
    """The release run_id published (None: unchanged data, nothing new to say), its new
    high-severity signals, and their delivery to the webhook."""
    row = con.execute("select release_id from audit.publications where run_id = ? and outcome = 'published'", [run_id]).fetchone()
    release_id = row[0] if row else None
    previous_id = previous_release(con, release_id) if release_id else None
    signals = new_high_signals(settings.published, release_id, previous_id) if release_id else []
    if not signals or release_id is None:
        return release_id, signals, Delivery(False, "no new high-severity signal")
    if settings.alert_webhook is None:
        return release_id, signals, Delivery(False, "SOVEREIGNTY_ALERT_WEBHOOK is not set")
    return release_id, signals, post_signals(settings.alert_webhook, release_id, signals)
