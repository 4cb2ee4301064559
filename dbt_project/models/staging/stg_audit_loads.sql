-- One row per delivered file (audit.loads), named for joining with rule results.
select
    cast(load_id as bigint) as load_id,
    cast(kind as {{ dbt.type_string() }}) as kind,
    cast(file_name as {{ dbt.type_string() }}) as file_name,
    cast(stored_path as {{ dbt.type_string() }}) as stored_path,
    cast(sha256 as {{ dbt.type_string() }}) as sha256,
    cast(file_format as {{ dbt.type_string() }}) as file_format,
    cast(status as {{ dbt.type_string() }}) as load_status,
    cast(duplicate_of as bigint) as duplicate_of,
    cast(rows_read as bigint) as rows_read,
    cast(rows_loaded as bigint) as rows_loaded,
    cast(rows_quarantined as bigint) as rows_quarantined,
    cast(rows_skipped as bigint) as rows_skipped,
    cast(error as {{ dbt.type_string() }}) as load_error,
    cast(started_at as timestamp) as started_at,
    cast(finished_at as timestamp) as finished_at
from {{ source('audit', 'loads') }}
