-- Uncertainty of the sovereignty index over its weights, per area and year and for ALL
-- (metrics.md section 5); the Monte Carlo itself is int_sovereignty_index_draws, with the weights of
-- int_sovereignty_index_weights.
select
    project_code,
    year,
    index_p05,
    index_p50,
    index_p95,
    median_rank,
    draws,
    cast(seed as bigint) as seed
from {{ ref('int_sovereignty_index_draws') }}
