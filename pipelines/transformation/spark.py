"""The Spark engine (SOVEREIGNTY_ENGINE=spark): how dbt's Spark session is configured, and how
Spark sees the files the ingestion writes.

dbt-spark runs in `session` mode: the dbt process starts (or, on a cluster, connects) its own
Spark session with the configuration below. Spark's tables live in the home (spark/warehouse) and
so does their catalogue (spark/metastore, Hive's embedded Derby database), so a home stays one
self-contained installation whichever engine builds it; on a cluster the home must be a path
every node reads (a shared filesystem or an object store, docs/scaling.md). Through a Spark
Connect server (SOVEREIGNTY_SPARK_MASTER=sc://host:port) the session is a client of the server,
which `connect_server_command` starts with the same settings, and which must see the home too.

Spark reads the rows the ingestion kept, the raw layer's Parquet files, through tables over each
kind's folder (raw.<kind>) and over the quarantine folder (audit.quarantine); the audit records
the staging models need through Parquet copies of the audit tables made before each build
(spark/audit/<table>/); and the computed layer's files (computed.<name>,
pipelines/transformation/computed.py) once the build has made them. None passes through the
driver as rows: Spark reads the files. The tables are (re)declared at the start of every dbt run
from `file_sources` (the dbt var the on-run-start hook register_file_sources reads).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import duckdb
import polars as pl

from pipelines.files import write_parquet_atomically
from pipelines.ingestion.contracts import KINDS
from pipelines.ingestion.raw_layer import (
    QUARANTINE_COLUMNS,
    QUARANTINE_FOLDER,
    RAW_FOLDER,
    kind_files,
    raw_columns,
    remove_uncommitted,
)
from pipelines.settings import Settings
from pipelines.transformation.computed import COMPUTED_SOURCE, COMPUTED_TABLES, Reader

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
    "JSON": "string",
}
# Spark's own log: errors only on the console (its warnings about the local machine, such as the
# host name or the missing native Hadoop library, are not a user's concern).
SPARK_LOG_CONFIG = Path(__file__).with_name("spark-log4j2.properties")
# The audit tables the dbt project reads as sources (dbt_project/models/staging/sources.yml).
AUDIT_SOURCES = ("loads", "rule_results")


def driver_conf(settings: Settings, master: str) -> dict[str, str]:
    """The configuration only the process that runs Spark's driver can set (static settings): the
    pipeline's own local or cluster session, or a Spark Connect server started for the pipeline
    (`connect_server_command`). Its SQL settings are defaults for every session the driver holds."""
    spark_home = settings.spark_home
    conf = {
        "spark.master": master,
        "spark.app.name": "sovereignty",
        "spark.driver.memory": settings.spark_driver_memory,
        "spark.sql.warehouse.dir": str(spark_home / "warehouse"),
        # Hive's catalogue in the home rather than ./metastore_db of whatever folder a command
        # started in; derby.log goes there too.
        "spark.hadoop.javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={spark_home / 'metastore'};create=true",
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={spark_home} -Dlog4j2.configurationFile={SPARK_LOG_CONFIG}",
        # No web UI: a run needs no port, and two runs on one machine do not compete for 4040;
        # no progress bars in the run's log, and Spark's own log at warnings and errors only.
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        **sql_conf(),
    }
    if master.startswith("local"):
        # One shuffle partition per core: Spark's default of 200 (for clusters) makes each of the
        # build's ~500 queries 200 tasks; measured on 2 cores, a test's query took 0.53 s with 8
        # partitions and 0.31 s with 2 (docs/scaling.md).
        conf["spark.sql.shuffle.partitions"] = str(os.cpu_count() or 2)
    return conf


def sql_conf() -> dict[str, str]:
    """The SQL settings the models' results depend on: runtime settings, which every session sets
    for itself, a Spark Connect client's too."""
    return {
        # Timestamps without a time zone, as DuckDB's TIMESTAMP (Spark's default `timestamp` is
        # an instant, which Parquet readers then show in UTC); any conversion in UTC.
        "spark.sql.timestampType": "TIMESTAMP_NTZ",
        "spark.sql.session.timeZone": "UTC",
        # A rebuilt quarter replaces that quarter's partition only (incremental models).
        "spark.sql.sources.partitionOverwriteMode": "dynamic",
        # Timestamps in Parquet as DuckDB and Polars read them (Spark's default is the legacy INT96).
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    }


def session_conf(settings: Settings) -> dict[str, str]:
    """The Spark configuration of every session the pipeline starts (dbt's and the checks').

    With a Spark Connect URL (sc://host:port) the session is a client of that server: `spark.remote`
    makes pyspark's SparkSession.builder (dbt-spark's session method uses it) return a Connect
    session, which can set only runtime settings; the server was started with the rest."""
    if settings.spark_connect:
        return {"spark.remote": settings.spark_master, **sql_conf()}
    return driver_conf(settings, settings.spark_master)


# The port a Spark Connect server listens on when its URL names none (Spark's own default).
DEFAULT_CONNECT_PORT = 15002


def connect_server_command(settings: Settings, master: str) -> list[str]:
    """The command that starts a Spark Connect server for this home at the port of
    SOVEREIGNTY_SPARK_MASTER (sc://host:port), its Spark running on `master` (`local[*]`, a
    cluster's URL): pyspark's own spark-submit with the driver settings a local run uses, and
    Hive's catalogue in the home, which dbt's models and seeds need (dbt-spark's session method
    asks for Hive support, which a Connect client cannot set)."""
    import pyspark  # Spark's client loads only on the Spark engine

    port = urlsplit(settings.spark_master).port or DEFAULT_CONNECT_PORT
    conf = {**driver_conf(settings, master), "spark.sql.catalogImplementation": "hive",
            "spark.connect.grpc.binding.port": str(port)}
    spark_submit = Path(pyspark.__file__).parent / "bin" / "spark-submit"
    # spark-internal: the server's class is in pyspark's own jars (spark-connect_2.13-*.jar)
    return [str(spark_submit), "--class", "org.apache.spark.sql.connect.service.SparkConnectServer",
            *[argument for key, value in conf.items() for argument in ("--conf", f"{key}={value}")], "spark-internal"]


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


def table_columns(columns: Mapping[str, str]) -> str:
    """The column list of a Spark table over files whose columns have these SQL types."""
    return ", ".join(f"{name} {SPARK_FILE_TYPE[sql_type]}" for name, sql_type in columns.items())


def file_sources(settings: Settings) -> list[dict[str, str | None]]:
    """The tables Spark reads files through: relation, folder and columns (None: the files'
    own schema). The raw tables name their columns, since a kind may have no files yet."""
    raw = settings.home / RAW_FOLDER
    sources: list[dict[str, str | None]] = [
        {"relation": f"raw.{name}", "path": str(raw / name), "columns": table_columns(raw_columns(kind))}
        for name, kind in KINDS.items()
    ]
    # the ingestion's own files of quarantined rows, every kind's
    sources.append({"relation": "audit.quarantine", "path": str(settings.home / QUARANTINE_FOLDER),
                    "columns": table_columns(QUARANTINE_COLUMNS)})
    sources += [{"relation": f"audit.{table}", "path": str(audit_copy(settings, table)), "columns": None}
                for table in AUDIT_SOURCES]
    # a computed table exists once the build has computed it (the dbt step's middle part)
    sources += [{"relation": f"{COMPUTED_SOURCE}.{table.name}", "path": str(settings.home / table.file), "columns": None}
                for table in COMPUTED_TABLES.values() if (settings.home / table.file).exists()]
    return sources


def audit_copy(settings: Settings, table: str) -> Path:
    return settings.spark_home / "audit" / table


def copy_audit_tables(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Write the audit tables the dbt project reads as Parquet for Spark (small: a row per file
    and rule). Each copy replaces the last whole, as the raw and computed files are written."""
    for table in AUDIT_SOURCES:
        write_parquet_atomically(con.sql(f"select * from audit.{table}").pl(), audit_copy(settings, table) / f"{table}.parquet")


def table_reader(settings: Settings) -> Reader:
    """A reader of tables Spark built, for the computed layer (its inputs are small yearly tables):
    their Parquet files read with Polars in this process, or, through a Spark Connect server, read
    by the server and sent as Arrow (the server's catalogue names them)."""

    def read(table: str, columns: Sequence[str]) -> pl.DataFrame:
        if settings.spark_connect:
            return pl.DataFrame(reading_session(settings).table(table).select(*columns).toArrow())
        files = table_folder(settings, table) / "**" / "*.parquet"
        return pl.scan_parquet(files, hive_partitioning=False).select(columns).collect()

    return read


def table_folder(settings: Settings, relation: str) -> Path:
    """The folder of a table dbt built on Spark ('marts.area_leadership'): Spark keeps a managed
    table of database d as <warehouse>/d.db/<table>/, Parquet files with one sub-folder per
    partition (period=2025-Q1) for the incremental models."""
    schema, name = relation.split(".")
    return settings.spark_home / "warehouse" / f"{schema}.db" / name


def reading_session(settings: Settings):
    """A Spark session in this process for reading the tables dbt built (checks, the computed layer).

    A local or cluster session keeps no catalogue (in-memory): Hive's catalogue in the home is an
    embedded database that only one process may open, and dbt's process opens it during every
    build. Tables are read by folder (`declare_table`). Partition values are read as the text in
    the folder names (period=2025-Q1, year=2024) rather than as the type Spark would guess from
    them (it reads "01" as the integer 1 and "2025-01" as a date): `declare_table` gives them
    their declared type. A Spark Connect session shares the server's catalogue, which holds dbt's
    tables as dbt made them (`make_readable`)."""
    from pyspark.sql import SparkSession  # Spark's client loads only on the Spark engine

    builder = SparkSession.builder
    for key, value in session_conf(settings).items():
        builder = builder.config(key, value)
    if not settings.spark_connect:  # a static setting, which a Connect client cannot set
        builder = builder.config("spark.sql.catalogImplementation", "in-memory")
    return builder.config(PARTITION_TYPE_INFERENCE, "false").getOrCreate()


def make_readable(session, settings: Settings, relation: str) -> None:
    """Make a table dbt built on Spark readable by name ('marts.x') in a `reading_session`.

    Through a Spark Connect server it already is: the server's catalogue is dbt's. Declaring it
    there over its folder (`declare_table`) would drop dbt's own table, and with it the files."""
    if not settings.spark_connect:
        declare_table(session, settings, relation)
    elif not session.catalog.tableExists(relation):
        raise FileNotFoundError(f"{relation}: not in the Spark Connect server's catalogue (not built on Spark?)")


def prepare_build(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Before a build on Spark: the raw folders hold only committed loads' files (a load killed
    before its commit left some), every kind has its folder, and the audit copies are current."""
    remove_uncommitted(con, settings.home)
    for name in KINDS:
        (settings.home / RAW_FOLDER / name).mkdir(parents=True, exist_ok=True)
    (settings.home / QUARANTINE_FOLDER).mkdir(exist_ok=True)
    copy_audit_tables(con, settings)


def expose_tables(con: duckdb.DuckDBPyConnection, settings: Settings, manifest: Mapping[str, Any]) -> list[str]:
    """After a build on Spark: every table it built is a view of the same name in the DuckDB
    warehouse over the table's Parquet files, so publication, `sovereignty sql` and an analyst's
    DuckDB client read Spark's marts as they read DuckDB's. The relations exposed, as schema.name."""
    exposed = []
    tables = duckdb_tables(con)
    for node in manifest["nodes"].values():
        if node["resource_type"] not in ("model", "seed") or node["config"].get("materialized") == "ephemeral":
            continue
        relation = f"{node['schema']}.{node['name']}"
        con.execute(f"create schema if not exists {node['schema']}")
        if (node["schema"], node["name"]) in tables:
            con.execute(f"drop table {relation}")  # the home was built by DuckDB before
        con.execute(f"create or replace view {relation} as {folder_query(settings, relation, node)}")
        exposed.append(relation)
    return exposed


def duckdb_tables(con: duckdb.DuckDBPyConnection) -> set[tuple[str, str]]:
    return set(con.execute("select schema_name, table_name from duckdb_tables()").fetchall())


def folder_query(settings: Settings, relation: str, node: Mapping[str, Any]) -> str:
    """DuckDB's query of a Spark table's files. A partitioned table's columns are put back in the
    model's order and types: Spark writes partition columns last, as folder names (text)."""
    folder = table_folder(settings, relation)
    declared = {name: column.get("data_type") for name, column in node["columns"].items()}
    if not folder.is_dir() or not any(folder.rglob("*.parquet")):
        # a partitioned table without rows has no files: an empty view with the declared columns
        empty = ", ".join(f"cast(null as {data_type or 'varchar'}) as {name}" for name, data_type in declared.items())
        return f"select {empty} where false"
    # the partition columns are the folders' names (the manifest, parsed for DuckDB, does not say)
    partitions = partition_columns(folder)
    files = f"'{folder.relative_to(settings.home)}/**/*.parquet'"
    source = f"read_parquet({files}, hive_partitioning = {'true' if partitions else 'false'}, hive_types_autocast = false)"
    if not partitions:
        return f"select * from {source}"
    # a partitioned (incremental) model declares all its columns (tests/test_end_to_end.py)
    columns = ", ".join(
        f"cast({name} as {declared[name]}) as {name}" if name in partitions and declared[name] else name for name in declared
    )
    return f"select {columns} from {source}"


PARTITION_TYPE_INFERENCE = "spark.sql.sources.partitionColumnTypeInference.enabled"
PARTITION_FOLDER = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=")


def partition_columns(folder: Path) -> list[str]:
    """The partition columns of a table's folder, outermost first: the key=value sub-folders."""
    columns: list[str] = []
    while True:
        found = sorted((match.group(1), child) for child in folder.iterdir()
                       if child.is_dir() and (match := PARTITION_FOLDER.match(child.name)))
        if not found:
            return columns
        column, folder = found[0]
        columns.append(column)


def declared_types(relation: str) -> dict[str, str]:
    """Column -> data_type the dbt project declares for a model ('marts.area_independence'), from
    the manifest; {} for a model that declares none (or no such model)."""
    from pipelines.transformation.dbt_project import dbt_project  # dagster-dbt: only when asked

    schema, name = relation.split(".")
    manifest = json.loads(Path(dbt_project().manifest_path).read_text(encoding="utf-8"))
    for node in manifest["nodes"].values():
        if node["resource_type"] in ("model", "seed") and (node["schema"], node.get("alias") or node["name"]) == (schema, name):
            return {column: spec["data_type"] for column, spec in node["columns"].items() if spec.get("data_type")}
    return {}


def declare_table(session, settings: Settings, relation: str) -> None:
    """Make a table dbt built on Spark readable by name ('marts.x') in a `reading_session`: an
    external table over its folder in the session's own catalogue, declared afresh on every call
    (Spark lists the folder again: a rebuilt quarter's files; dropping it leaves the files alone).

    Its columns are the Parquet files' own, and the partition columns (not in the files) take the
    type the model declares (dbt manifest), or stay the folder names' text when it declares none
    (period). Spark then casts each partition's value to that type, as it does for the catalogue
    dbt's process keeps."""
    folder = table_folder(settings, relation)
    if not folder.is_dir():
        raise FileNotFoundError(f"{relation}: no table folder at {folder} (not built on Spark?)")
    partitions = partition_columns(folder)
    declared = declared_types(relation) if partitions else {}
    files = session.read.parquet(str(folder)).schema  # partition columns as text (reading_session)
    columns = ", ".join(
        f"`{f.name}` {declared.get(f.name, f.dataType.simpleString()) if f.name in partitions else f.dataType.simpleString()}"
        for f in files.fields
    )
    partitioned = f" partitioned by ({', '.join(f'`{c}`' for c in partitions)})" if partitions else ""
    schema, name = relation.split(".")
    session.sql(f"create database if not exists `{schema}`")
    session.sql(f"drop table if exists `{schema}`.`{name}`")
    session.sql(f"create table `{schema}`.`{name}` ({columns}) using parquet{partitioned} location '{folder}'")
    if partitions:
        # The catalogue lists a partitioned table's partitions; none are known until recovered
        # from the folder (without this the table reads as empty).
        session.sql(f"alter table `{schema}`.`{name}` recover partitions")


def raw_frame(session, settings: Settings, kind_name: str, load_ids: set[int]):
    """A kind's raw rows as Spark reads them: the files of the given (committed) loads, with money
    cast to DECIMAL(18,3), the columns and types of DuckDB's raw.<kind> view (raw_layer.view_sql)."""
    from pyspark.sql import functions as F

    kind = KINDS[kind_name]
    files = [str(settings.home / relative) for load_id, relative in kind_files(settings.home, kind) if load_id in load_ids]
    schema = table_columns(raw_columns(kind))
    frame = session.read.schema(schema).parquet(*files) if files else session.createDataFrame([], schema)
    return frame.select(*[
        F.col(name).cast(sql_type) if sql_type.startswith("DECIMAL") else F.col(name)
        for name, sql_type in raw_columns(kind).items()
    ])
