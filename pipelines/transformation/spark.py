"""The Spark engine (SOVEREIGNTY_ENGINE=spark): how dbt's Spark session is configured, and how
Spark sees the files the ingestion writes.

dbt-spark runs in `session` mode: the dbt process starts (or, on a cluster, connects) its own
Spark session with the configuration below. Spark's tables live in the home (spark/warehouse) and
so does their catalogue (spark/metastore, Hive's embedded Derby database), so a home stays one
self-contained installation whichever engine builds it; on a cluster the home must be a path
every node reads (a shared filesystem or an object store, docs/scaling.md).

Spark reads the rows the ingestion kept, the raw layer's Parquet files, through tables over each
kind's folder (raw.<kind>), and the audit records the staging models need through Parquet copies
of the audit tables made before each build (spark/audit/<table>/). Neither passes through the
driver as rows: Spark reads the files. The tables are (re)declared at the start of every dbt run
from `file_sources` (the dbt var the on-run-start hook register_file_sources reads).
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from pipelines.ingestion.contracts import KINDS
from pipelines.ingestion.raw_layer import RAW_FOLDER, raw_columns
from pipelines.settings import Settings

# Spark's type of each column type the raw files hold (money is a double in the files; the
# staging models cast it to DECIMAL(18,3), pipelines/ingestion/raw_layer.py).
SPARK_FILE_TYPE = {
    "VARCHAR": "string",
    "DECIMAL(18,3)": "double",
    "DOUBLE": "double",
    "BIGINT": "bigint",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "VARCHAR[]": "array<string>",
}
# The audit tables the dbt project reads as sources (dbt_project/models/staging/sources.yml).
AUDIT_SOURCES = ("loads", "rule_results")
# Shuffle partitions of a local build: Spark's default of 200 makes every aggregate of the demo
# 200 tiny tasks; adaptive execution merges partitions further where they are small.
LOCAL_SHUFFLE_PARTITIONS = 8


def session_conf(settings: Settings) -> dict[str, str]:
    """The Spark configuration of every session the pipeline starts (dbt's and the checks')."""
    spark_home = settings.spark_home
    conf = {
        "spark.master": settings.spark_master,
        "spark.app.name": "sovereignty",
        "spark.driver.memory": settings.spark_driver_memory,
        "spark.sql.warehouse.dir": str(spark_home / "warehouse"),
        # Hive's catalogue in the home rather than ./metastore_db of whatever folder a command
        # started in; derby.log goes there too.
        "spark.hadoop.javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={spark_home / 'metastore'};create=true",
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={spark_home}",
        # Timestamps are read and written as UTC, as DuckDB's are: no shift by the machine's zone.
        "spark.sql.session.timeZone": "UTC",
        # A rebuilt quarter replaces that quarter's partition only (incremental models).
        "spark.sql.sources.partitionOverwriteMode": "dynamic",
        # Timestamps in Parquet as DuckDB and Polars read them (Spark's default is the legacy INT96).
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        # No web UI: a run needs no port, and two runs on one machine do not compete for 4040.
        "spark.ui.enabled": "false",
    }
    if settings.spark_master.startswith("local"):
        conf["spark.sql.shuffle.partitions"] = str(LOCAL_SHUFFLE_PARTITIONS)
    return conf


def dbt_output(settings: Settings) -> dict:
    """The `spark` output of dbt's profile (pipelines/transformation/dbt_command.py)."""
    return {
        "type": "spark",
        "method": "session",
        "host": "local",  # unused in session mode, but dbt-spark requires it
        "schema": "default",
        "threads": 4,
        "server_side_parameters": session_conf(settings),
    }


def raw_table_columns(kind_name: str) -> str:
    """The column list of the Spark table over a kind's raw files."""
    return ", ".join(f"{name} {SPARK_FILE_TYPE[sql_type]}" for name, sql_type in raw_columns(KINDS[kind_name]).items())


def file_sources(settings: Settings) -> list[dict[str, str | None]]:
    """The tables Spark reads files through: relation, folder and columns (None: the files'
    own schema). The raw tables name their columns, since a kind may have no files yet."""
    raw = settings.home / RAW_FOLDER
    sources: list[dict[str, str | None]] = [
        {"relation": f"raw.{name}", "path": str(raw / name), "columns": raw_table_columns(name)} for name in KINDS
    ]
    sources += [{"relation": f"audit.{table}", "path": str(audit_copy(settings, table)), "columns": None}
                for table in AUDIT_SOURCES]
    return sources


def audit_copy(settings: Settings, table: str) -> Path:
    return settings.spark_home / "audit" / table


def copy_audit_tables(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Write the audit tables the dbt project reads as Parquet for Spark (small: a row per file
    and rule). Each copy replaces the last whole: written aside, then renamed into place."""
    for table in AUDIT_SOURCES:
        folder = audit_copy(settings, table)
        folder.mkdir(parents=True, exist_ok=True)
        staging = folder / f".{table}.parquet.{os.getpid()}"
        con.execute(f"copy (select * from audit.{table}) to '{staging}' (format parquet)")
        os.replace(staging, folder / f"{table}.parquet")


def table_folder(settings: Settings, relation: str) -> Path:
    """The folder of a table dbt built on Spark ('marts.area_leadership'): Spark keeps a managed
    table of database d as <warehouse>/d.db/<table>/, Parquet files with one sub-folder per
    partition (period=2025-Q1) for the incremental models."""
    schema, name = relation.split(".")
    return settings.spark_home / "warehouse" / f"{schema}.db" / name


def reading_session(settings: Settings):
    """A Spark session in this process for reading tables by their folders (checks, publication).

    It keeps no catalogue (in-memory): Hive's catalogue in the home is an embedded database that
    only one process may open, and dbt's process opens it during every build."""
    from pyspark.sql import SparkSession  # Spark's client loads only on the Spark engine

    builder = SparkSession.builder
    for key, value in session_conf(settings).items():
        builder = builder.config(key, value)
    return builder.config("spark.sql.catalogImplementation", "in-memory").getOrCreate()
