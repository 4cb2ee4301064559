-- Regional reports in force: one row per (region_code, period, project_code), the latest load's
-- (and within a load the later row's) figures.
with regional as (
    select * from {{ latest_revision(source('raw', 'regional'), ['region_code', 'period', 'project_code'], keep='latest_row') }} as revised
)

select
    cast(period as {{ dbt.type_string() }}) as period,
    {{ period_year('period') }} as year,
    {{ period_quarter('period') }} as quarter,
    cast(region_code as {{ dbt.type_string() }}) as region_code,
    cast(project_code as {{ dbt.type_string() }}) as project_code,
    cast(facilities_launched as bigint) as facilities_launched,
    cast(investment as decimal(18, 3)) as investment,
    cast(jobs_created as bigint) as jobs_created,
    cast(specialists_trained as bigint) as specialists_trained,
    cast(_load_id as bigint) as load_id,
    cast(_source_file as {{ dbt.type_string() }}) as source_file,
    cast(_row_number as bigint) as source_row_number,
    _ingested_at as ingested_at,
    _soft_flags as soft_flags
from regional
