{{ config(**incremental_config('period')) }}

-- Enterprise production reports in force: for each (inn, period) every row of the latest load
-- that reported that enterprise and quarter (a revision replaces the whole report).
-- Unlike the other staging models this one is a table, incremental by quarter: at national scale
-- (ten million rows) a view made every test and every model that reads it recompute the
-- revisions over all quarters; as a table, a new quarter's reports rebuild only that quarter
-- (the revision key contains the period, so a quarter's rows in force depend on that quarter's
-- loads alone).
with periods_to_build as (
    {{ periods_to_build([[source('raw', 'producer'), '_load_id']], is_incremental()) }}
),

-- The quarters are chosen by the inner join below, after the revision window: the join's filter
-- reaches the Parquet scan (partition key period), where `period in (select ...)` before the
-- window made the build six times slower (docs/performance.md).
producer as (
    select * from {{ latest_revision(source('raw', 'producer'), ['inn', 'period'], keep='latest_load') }} as revised
)

select
    cast(producer.period as {{ dbt.type_string() }}) as period,
    {{ period_year('producer.period') }} as year,
    {{ period_quarter('producer.period') }} as quarter,
    cast(producer.inn as {{ dbt.type_string() }}) as inn,
    cast(producer.enterprise_name as {{ dbt.type_string() }}) as enterprise_name,
    cast(producer.region_code as {{ dbt.type_string() }}) as region_code,
    cast(producer.okved2 as {{ dbt.type_string() }}) as okved2,
    cast(producer.okpd2 as {{ dbt.type_string() }}) as okpd2,
    cast(producer.output_qty as decimal(18, 3)) as output_qty,
    cast(producer.okei as {{ dbt.type_string() }}) as okei,
    cast(producer.output_value as decimal(18, 3)) as output_value,
    -- inputs.md: a missing export_value / rnd_expenses means zero
    cast(coalesce(producer.export_value, 0) as decimal(18, 3)) as export_value,
    cast(producer.components_cost as decimal(18, 3)) as components_cost,
    cast(producer.imported_components_cost as decimal(18, 3)) as imported_components_cost,
    cast(producer.technology_origin as {{ dbt.type_string() }}) as technology_origin,
    cast(coalesce(producer.rnd_expenses, 0) as decimal(18, 3)) as rnd_expenses,
    cast(producer.employees as bigint) as employees,
    cast(producer.trl as bigint) as trl,
    cast(producer._load_id as bigint) as load_id,
    cast(producer._source_file as {{ dbt.type_string() }}) as source_file,
    cast(producer._row_number as bigint) as source_row_number,
    producer._ingested_at as ingested_at,
    producer._soft_flags as soft_flags,
    periods_to_build.last_load_id
from producer
inner join periods_to_build
    on producer.period = periods_to_build.period
