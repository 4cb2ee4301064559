-- The benchmark in force per product, parameter and year (metrics.md section 2): the row with the
-- latest valid_from on or before 31 December of the year. A parameter whose first valid_from is
-- after the year is not part of that year's benchmark set.
-- Years: every year with reported quarters or with characteristics.
with years as (
    select distinct year from {{ ref('int_reported_quarters') }}
    union
    select distinct year from {{ ref('stg_characteristics') }}
),

ranked as (
    select
        years.year,
        benchmarks.okpd2,
        benchmarks.parameter_code,
        benchmarks.parameter_name,
        benchmarks.unit,
        benchmarks.direction,
        benchmarks.weight,
        benchmarks.best_value,
        benchmarks.analogue,
        benchmarks.valid_from,
        row_number() over (
            partition by years.year, benchmarks.okpd2, benchmarks.parameter_code
            order by benchmarks.valid_from desc
        ) as recency_rank
    from {{ ref('stg_benchmarks') }} as benchmarks
    inner join years
        -- valid_from <= 31 December of year
        on extract(year from benchmarks.valid_from) <= years.year
)

select
    year,
    okpd2,
    parameter_code,
    parameter_name,
    unit,
    direction,
    weight,
    best_value,
    analogue,
    valid_from
from ranked
where recency_rank = 1
