-- Technical level K_i of each enterprise's product per year (metrics.md section 2):
--   q = v / b (direction higher) or b / v (lower), capped at 1.5 so that one parameter cannot hide
--   the others, and K_i = exp(sum_k w_k ln q'_k / sum_k w_k), the weighted geometric mean.
-- K_i is computed only when the enterprise reported every parameter of the product's benchmark
-- set for the year; otherwise it is NULL (counted as incomplete). Enterprises with
-- characteristics for a product-year that has no benchmark in force cannot be assessed and are
-- left out.
with benchmark_sets as (
    select
        okpd2,
        year,
        count(*) as benchmark_parameters
    from {{ ref('int_benchmarks_in_force') }}
    group by okpd2, year
),

reporting_producers as (
    select distinct
        inn,
        okpd2,
        year
    from {{ ref('stg_characteristics') }}
),

parameter_ratios as (
    -- q = v / b where higher is better, b / v where lower is
    select
        reported.inn,
        reported.okpd2,
        reported.year,
        reported.parameter_code,
        benchmarks.weight,
        case
            when benchmarks.direction = 'lower'
                then {{ ratio('benchmarks.best_value', 'reported.reported_value') }}
            else {{ ratio('reported.reported_value', 'benchmarks.best_value') }}
        end as quality_ratio
    from {{ ref('stg_characteristics') }} as reported
    inner join {{ ref('int_benchmarks_in_force') }} as benchmarks
        on
            reported.okpd2 = benchmarks.okpd2
            and reported.year = benchmarks.year
            and reported.parameter_code = benchmarks.parameter_code
),

parameter_scores as (
    select
        inn,
        okpd2,
        year,
        parameter_code,
        weight,
        {{ cap('quality_ratio', 1.5) }} as capped_ratio
    from parameter_ratios
)

select
    reporting_producers.inn,
    reporting_producers.okpd2,
    reporting_producers.year,
    cast(benchmark_sets.benchmark_parameters as integer) as benchmark_parameters,
    cast(count(parameter_scores.capped_ratio) as integer) as parameters_reported,
    case
        when count(parameter_scores.capped_ratio) = benchmark_sets.benchmark_parameters
            then exp({{ ratio(
                exact_sum('parameter_scores.weight * ln(parameter_scores.capped_ratio)'),
                exact_sum('parameter_scores.weight')) }})
    end as technical_level
from reporting_producers
inner join benchmark_sets
    on
        reporting_producers.okpd2 = benchmark_sets.okpd2
        and reporting_producers.year = benchmark_sets.year
left join parameter_scores
    on
        reporting_producers.inn = parameter_scores.inn
        and reporting_producers.okpd2 = parameter_scores.okpd2
        and reporting_producers.year = parameter_scores.year
group by
    reporting_producers.inn,
    reporting_producers.okpd2,
    reporting_producers.year,
    benchmark_sets.benchmark_parameters
