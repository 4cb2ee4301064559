-- Technical leadership per product and year against the best foreign analogue (metrics.md
-- section 2). technical_level is the best domestic producer's K (max K_i); the band compares it
-- with the edges 1.0 and 0.8. One row per product and year of int_independence_yearly, so
-- every product has a band (not_assessed when no K) and its yearly output for area weighting.
with products as (
    select
        year,
        quarters_reported,
        code as okpd2,
        project_code,
        output_value
    from {{ ref('int_independence_yearly') }}
    where level = 'product'
),

benchmark_sets as (
    select
        okpd2,
        year,
        count(*) as benchmark_parameters
    from {{ ref('int_benchmarks_in_force') }}
    group by okpd2, year
),

levels as (
    select
        okpd2,
        year,
        count(*) as producers_reporting,
        count(technical_level) as producers_assessed,
        max(technical_level) as technical_level,
        {{ median('technical_level') }} as technical_level_median
    from {{ ref('int_producer_technical_levels') }}
    group by okpd2, year
)

select
    products.year,
    products.quarters_reported,
    products.okpd2,
    products.project_code,
    products.output_value,
    cast(coalesce(benchmark_sets.benchmark_parameters, 0) as integer) as benchmark_parameters,
    cast(coalesce(levels.producers_reporting, 0) as integer) as producers_reporting,
    cast(coalesce(levels.producers_assessed, 0) as integer) as producers_assessed,
    cast(coalesce(levels.producers_reporting, 0) - coalesce(levels.producers_assessed, 0) as integer) as producers_incomplete,
    levels.technical_level,
    levels.technical_level_median,
    case
        when levels.technical_level is null then 'not_assessed'
        when {{ reaches('levels.technical_level', 1.0) }} then 'leader'
        when {{ reaches('levels.technical_level', 0.8) }} then 'comparable'
        else 'lagging'
    end as band
from products
left join benchmark_sets
    on
        products.okpd2 = benchmark_sets.okpd2
        and products.year = benchmark_sets.year
left join levels
    on
        products.okpd2 = levels.okpd2
        and products.year = levels.year
