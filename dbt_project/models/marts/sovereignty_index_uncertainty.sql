-- Uncertainty of the sovereignty index over its weights, per area and year and for ALL
-- (metrics.md section 5); the Monte Carlo itself is int_sovereignty_index_draws.
select
    cast(project_code as {{ dbt.type_string() }}) as project_code,
    cast(year as integer) as year,
    cast(index_p05 as double) as index_p05,
    cast(index_p50 as double) as index_p50,
    cast(index_p95 as double) as index_p95,
    cast(median_rank as double) as median_rank,
    cast(draws as integer) as draws,
    cast(seed as bigint) as seed
from {{ ref('int_sovereignty_index_draws') }}
