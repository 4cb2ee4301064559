-- Technical parameters in force: one value per (inn, okpd2, year, parameter_code).
with characteristics as (
    select *
    from {{ latest_revision(source('raw', 'characteristics'), ['inn', 'okpd2', 'year', 'parameter_code'], keep='latest_row') }} as revised
)

select
    cast(year as integer) as year,
    cast(inn as {{ dbt.type_string() }}) as inn,
    cast(okpd2 as {{ dbt.type_string() }}) as okpd2,
    cast(parameter_code as {{ dbt.type_string() }}) as parameter_code,
    cast(value as double) as reported_value,
    cast(_load_id as bigint) as load_id,
    cast(_source_file as {{ dbt.type_string() }}) as source_file,
    cast(_row_number as bigint) as source_row_number,
    _ingested_at as ingested_at,
    _soft_flags as soft_flags
from characteristics
