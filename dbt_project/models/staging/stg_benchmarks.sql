-- Foreign-analogue benchmarks in force: one row per (okpd2, parameter_code, valid_from). Every
-- valid_from is kept: which one applies to a year is decided in int_benchmarks_in_force.
with benchmarks as (
    select *
    from {{ latest_revision(source('raw', 'benchmarks'), ['okpd2', 'parameter_code', 'valid_from'], keep='latest_row') }} as revised
)

select
    cast(okpd2 as {{ dbt.type_string() }}) as okpd2,
    cast(parameter_code as {{ dbt.type_string() }}) as parameter_code,
    cast(parameter_name as {{ dbt.type_string() }}) as parameter_name,
    cast(unit as {{ dbt.type_string() }}) as unit,
    cast(direction as {{ dbt.type_string() }}) as direction,
    cast(weight as double) as weight,
    cast(best_value as double) as best_value,
    cast(analogue as {{ dbt.type_string() }}) as analogue,
    cast(valid_from as date) as valid_from,
    cast(_load_id as bigint) as load_id,
    cast(_source_file as {{ dbt.type_string() }}) as source_file,
    cast(_row_number as bigint) as source_row_number,
    _ingested_at as ingested_at,
    _soft_flags as soft_flags
from benchmarks
