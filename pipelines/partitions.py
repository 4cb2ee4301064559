"""Quarterly partitions: one per quarter from 2000-Q1 to the current one, keyed '2025-Q1'.

Dagster has no quarterly time window, and the warehouse's own key is the quarter label, so the
keys are listed explicitly; the list grows by one key when a new quarter starts.
"""

from __future__ import annotations

import dagster as dg

from pipelines.periods import FIRST_QUARTER, quarter_of, quarter_range
from pipelines.settings import Settings


def quarter_partitions(settings: Settings) -> dg.StaticPartitionsDefinition:
    return dg.StaticPartitionsDefinition(quarter_range(FIRST_QUARTER, quarter_of(settings.today)))
