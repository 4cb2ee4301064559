-- Technical level K_i of each enterprise's product per year (metrics.md section 2):
--   q = v / b (direction higher) or b / v (lower), capped at 1.5 so that one parameter cannot hide
--   the others, and K_i = exp(sum_k w_k ln q'_k / sum_k w_k), the weighted geometric mean.
-- K_i is computed only when the enterprise reported every parameter of the product's benchmark
-- set for the year; otherwise it is NULL (counted as incomplete). Enterprises with
-- characteristics for a product-year that has no benchmark in force cannot be assessed and are
-- left out.
with benchmark_sets as (
    select okpd2, year, count(*) as benchmark_parameters
    from {{ ref('int_benchmarks_in_force') }}
    group by okpd2, year
),

reporting_producers as (
    select distinct inn, okpd2, year
    from {{ ref('stg_characteristics') }}
),

parameter_scores as (
    select
        characteristics.inn,
        characteristics.okpd2,
        characteristics.year,
        characteristics.parameter_code,
        benchmarks.weight,
        {{ cap(
            "case when benchmarks.direction = 'lower'
                then " ~ ratio('benchmarks.best_value', 'characteristics.reported_value') ~ "
                else " ~ ratio('characteristics.reported_value', 'benchmarks.best_value') ~ " end",
            1.5) }} as capped_ratio
    from {{ ref('stg_characteristics') }} as characteristics
    inner join {{ ref('int_benchmarks_in_force') }} as benchmarks
        on benchmarks.okpd2 = characteristics.okpd2
        and benchmarks.year = characteristics.year
        and benchmarks.parameter_code = characteristics.parameter_code
)

select
    reporting_producers.inn,
    reporting_producers.okpd2,
    reporting_producers.year,
    cast(benchmark_sets.benchmark_parameters as integer) as benchmark_parameters,
    cast(count(parameter_scores.capped_ratio) as integer) as parameters_reported,
    case
        when count(parameter_scores.capped_ratio) = benchmark_sets.benchmark_parameters
            then exp({{ ratio(exact_sum('parameter_scores.weight * ln(parameter_scores.capped_ratio)'), exact_sum('parameter_scores.weight')) }})
    end as technical_level
from reporting_producers
inner join benchmark_sets
    on benchmark_sets.okpd2 = reporting_producers.okpd2
    and benchmark_sets.year = reporting_producers.year
left join parameter_scores
    on parameter_scores.inn = reporting_producers.inn
    and parameter_scores.okpd2 = reporting_producers.okpd2
    and parameter_scores.year = reporting_producers.year
group by
    reporting_producers.inn,
    reporting_producers.okpd2,
    reporting_producers.year,
    benchmark_sets.benchmark_parameters
