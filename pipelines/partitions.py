"""Quarterly partitions, keyed '2025-Q1', from the first partition to the current quarter.

Dagster has no quarterly time window, and the warehouse's own key is the quarter label, so the
keys are listed explicitly; the list grows by one key when a new quarter starts. It begins at
SOVEREIGNTY_FIRST_PARTITION (settings.py: 2024-Q1, when the reports start) rather than at
2000-Q1, the first quarter the warehouse accepts, so Dagster's views do not open on a hundred
empty quarters. The first partition stands for itself and every quarter before it: a run over it
ingests reports of earlier quarters too (and rows before 2000-Q1 are quarantined, period.before_2000).
"""

from __future__ import annotations

from collections.abc import Iterable

import dagster as dg

from pipelines.periods import FIRST_QUARTER, quarter_of, quarter_range
from pipelines.settings import Settings


def first_partition(settings: Settings) -> str:
    """The first partition key; the current quarter when the setting lies in the future."""
    return min(settings.first_partition, quarter_of(settings.today))


def quarter_partitions(settings: Settings) -> dg.StaticPartitionsDefinition:
    return dg.StaticPartitionsDefinition(quarter_range(first_partition(settings), quarter_of(settings.today)))


def quarters_of_partitions(partition_keys: Iterable[str], first: str) -> set[str]:
    """The quarters a run over these partitions ingests: the first partition adds the ones before it."""
    quarters = set(partition_keys)
    if first in quarters:
        quarters.update(quarter_range(FIRST_QUARTER, first))
    return quarters
