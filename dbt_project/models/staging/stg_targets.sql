-- National-project targets in force: one value per (project_code, indicator_code, year).
with targets as (
    select * from {{ latest_revision(source('raw', 'targets'), ['project_code', 'indicator_code', 'year'], keep='latest_row') }} as revised
)

select
    cast(project_code as {{ dbt.type_string() }}) as project_code,
    cast(indicator_code as {{ dbt.type_string() }}) as indicator_code,
    cast(year as integer) as year,
    cast(target_value as decimal(18, 3)) as target_value,
    cast(_load_id as bigint) as load_id,
    cast(_source_file as {{ dbt.type_string() }}) as source_file,
    cast(_row_number as bigint) as source_row_number,
    _ingested_at as ingested_at,
    _soft_flags as soft_flags
from targets
