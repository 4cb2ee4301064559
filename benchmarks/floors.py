"""What this machine can do at best on the benchmark's files: the yardsticks of `make bench`.

    python benchmarks/floors.py parse --inbox HOME/inbox
    python benchmarks/floors.py transform --home HOME

parse      every file read into memory by the fastest reader and nothing else: CSV by Polars'
           reader with every cell as text (Windows-1251 files decoded first, as they must be),
           XLSX by fastexcel (the first sheet as text), Parquet by Polars. No header search, no
           column mapping, no validation.
transform  the revision rule and the core aggregates of metrics.md sections 1 and 2 (independence
           per product and area and quarter, leadership per product and area and year) in plain
           DuckDB SQL, on the rows the pipeline kept: the raw layer of a finished run's home is
           copied into an in-memory database first (not timed), so only the computation is timed.

Each prints one JSON line: {"stage", "seconds", ...}. Seconds are measured inside the process
(imports and start-up excluded): a floor is the work itself. The benchmark runs each as its own
process and also records the process tree's peak memory.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import duckdb
import fastexcel
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere
from pipelines.ingestion.readers import detect_delimiter, first_line, utf8_content  # noqa: E402
from pipelines.settings import Settings  # noqa: E402  (the pipeline's DuckDB limits)

SEEDS = Path(__file__).resolve().parent.parent / "dbt_project" / "seeds"


def read_fastest(path: Path) -> int:
    """Rows of one file read into memory as plainly as its format allows."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return pl.read_parquet(path).height
    if suffix == ".xlsx":
        sheet = fastexcel.read_excel(path).load_sheet(0, header_row=None, dtypes="string")
        return pl.from_arrow(sheet.to_arrow()).height  # type: ignore[union-attr]
    data, _ = utf8_content(path.read_bytes())  # the pipeline's own decoding and delimiter choice
    return pl.read_csv(data, separator=detect_delimiter(first_line(data)), infer_schema=False).height


def parse_floor(inbox: Path) -> dict:
    files = sorted(p for p in inbox.glob("*/*") if p.is_file())
    rows = unreadable = 0
    started = time.perf_counter()
    for path in files:
        try:
            rows += read_fastest(path)
        except Exception:  # the demo's broken files: the pipeline rejects them, the floor tried
            unreadable += 1
    seconds = time.perf_counter() - started
    size = sum(p.stat().st_size for p in files)
    return {"stage": "parse", "seconds": round(seconds, 2), "files": len(files), "unreadable": unreadable,
            "rows": rows, "bytes": size}


# Revisions (inputs.md): a later load replaces an earlier one for the same key, wholly.
# Independence and leadership (metrics.md sections 1 and 2), the core of the marts.
TRANSFORM_SQL = """
create temp table producer_in_force as
    select * from producer qualify _load_id = max(_load_id) over (partition by inn, period);
create temp table trade_in_force as
    select * from trade qualify _load_id = max(_load_id) over (partition by period);

create temp table enterprise_cells as
    select okpd2, period, inn,
           sum(output_value) as output_value,
           sum(components_cost) as components_cost,
           sum(imported_components_cost) as imported_components_cost,
           sum(output_value) filter (where technology_origin = 'domestic') as domestic_output,
           sum(coalesce(rnd_expenses, 0)) as rnd_expenses
    from producer_in_force group by all;

create temp table partner_flows as
    select okpd2, period, partner_country, flow, sum(value) as value
    from trade_in_force group by all;

create temp table product_independence as
with output as (
    select okpd2, period, sum(output_value) as q, sum(components_cost) as components,
           sum(imported_components_cost) as imported, sum(domestic_output) as domestic_output,
           sum(rnd_expenses) as rnd, count(*) filter (where output_value > 0) as producer_count,
           max(output_value) as top_output
    from enterprise_cells group by all
),
imports as (
    select okpd2, period, sum(value) as m from partner_flows where flow = 'import' group by all
),
concentration as (
    select f.okpd2, f.period, sum((f.value / i.m) ^ 2) as hhi, max(f.value / i.m) as top_partner_share
    from partner_flows as f join imports as i using (okpd2, period)
    where f.flow = 'import' and i.m > 0 group by all
),
flows as (
    select okpd2, period,
           sum(value) filter (where flow = 'import') as m, sum(value) filter (where flow = 'export') as x
    from partner_flows group by all
)
select o.okpd2, o.period, o.q, coalesce(f.m, 0) as m, coalesce(f.x, 0) as x,
       o.q + coalesce(f.m, 0) - coalesce(f.x, 0) as c,
       case when o.q + coalesce(f.m, 0) - coalesce(f.x, 0) > 0
            then coalesce(f.m, 0) / (o.q + coalesce(f.m, 0) - coalesce(f.x, 0)) end as import_dependency,
       1 - o.imported / nullif(o.components, 0) as localisation,
       o.domestic_output / nullif(o.q, 0) as domestic_technology_share,
       o.rnd / nullif(o.q, 0) as rnd_intensity,
       o.producer_count, o.top_output / nullif(o.q, 0) as top1_share,
       c.hhi, c.top_partner_share,
       o.imported, o.components, o.domestic_output
from output as o
left join flows as f using (okpd2, period)
left join concentration as c using (okpd2, period);

create temp table area_independence as
select p.project_code, i.period, sum(i.q) as q, sum(i.m) as m, sum(i.x) as x,
       sum(i.m) / nullif(sum(i.c), 0) as import_dependency,
       1 - sum(i.imported) / nullif(sum(i.components), 0) as localisation,
       sum(i.domestic_output) / nullif(sum(i.q), 0) as domestic_technology_share,
       count(*) filter (where i.import_dependency > 0.5 and i.hhi > 0.4) as strategic_dependencies
from product_independence as i join products as p using (okpd2)
group by all;

create temp table benchmarks_in_force as
with revised as (
    select * from benchmarks
    qualify _load_id = max(_load_id) over (partition by okpd2, parameter_code, valid_from)
),
years as (select distinct year from characteristics)
select y.year, r.*
from years as y join revised as r on r.valid_from <= make_date(y.year, 12, 31)
qualify r.valid_from = max(r.valid_from) over (partition by y.year, r.okpd2, r.parameter_code);

create temp table technical_levels as
with reported as (
    select * from characteristics
    qualify _load_id = max(_load_id) over (partition by inn, okpd2, year, parameter_code)
),
ratios as (
    select r.inn, r.okpd2, r.year, b.weight,
           least(case when b.direction = 'higher' then r.value / b.best_value
                      else b.best_value / r.value end, 1.5) as q
    from reported as r join benchmarks_in_force as b using (year, okpd2, parameter_code)
),
parameter_counts as (select year, okpd2, count(*) as parameters from benchmarks_in_force group by all)
select r.inn, r.okpd2, r.year,
       case when count(*) = any_value(c.parameters)
            then exp(sum(r.weight * ln(r.q)) / sum(r.weight)) end as k
from ratios as r join parameter_counts as c using (year, okpd2)
group by all;

create temp table product_leadership as
select okpd2, year, max(k) as technical_level, median(k) as technical_level_median,
       count(k) as producers_assessed,
       case when max(k) >= 1 then 'leader' when max(k) >= 0.8 then 'comparable'
            when max(k) < 0.8 then 'lagging' else 'not_assessed' end as band
from technical_levels group by all;

create temp table area_leadership as
with yearly_output as (
    select okpd2, cast(left(period, 4) as integer) as year, sum(q) as q
    from product_independence group by all
)
select p.project_code, l.year,
       sum(o.q) filter (where l.band = 'leader') / nullif(sum(o.q) filter (where l.band <> 'not_assessed'), 0)
           as leadership_share,
       count(*) filter (where l.band = 'leader') as leaders
from product_leadership as l
join products as p using (okpd2)
left join yearly_output as o using (okpd2, year)
group by all;
"""
RESULTS = ("product_independence", "area_independence", "product_leadership", "area_leadership")
KINDS = ("producer", "trade", "benchmarks", "characteristics")


def transform_floor(home: Path) -> dict:
    settings = dataclasses.replace(Settings.from_env(), home=home)
    con = duckdb.connect(config={"threads": settings.duckdb_threads, "memory_limit": settings.duckdb_memory_limit,
                                 "file_search_path": str(home)})
    con.execute(f"attach '{settings.warehouse}' as finished (read_only)")
    for kind in KINDS:  # not timed: the floor starts from the kept rows, in memory
        con.execute(f"create table {kind} as select * from finished.raw.{kind}")
    con.execute("detach finished")
    con.execute(f"create table products as select * from read_csv('{SEEDS / 'products.csv'}', all_varchar = true)")
    started = time.perf_counter()
    con.execute(TRANSFORM_SQL)
    seconds = time.perf_counter() - started
    rows = {name: con.execute(f"select count(*) from {name}").fetchone()[0] for name in RESULTS}  # type: ignore[index]
    producer_rows = con.execute("select count(*) from producer").fetchone()[0]  # type: ignore[index]
    return {"stage": "transform", "seconds": round(seconds, 2), "producer_rows": producer_rows, "result_rows": rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=["parse", "transform"])
    parser.add_argument("--inbox", type=Path, help="parse: the folder of <kind>/<file> to read")
    parser.add_argument("--home", type=Path, help="transform: the home of a finished run")
    args = parser.parse_args()
    if args.stage == "parse":
        print(json.dumps(parse_floor(args.inbox)))
    else:
        print(json.dumps(transform_floor(args.home)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
