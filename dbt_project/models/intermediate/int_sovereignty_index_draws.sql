{%- set uncertainty = sovereignty_index_uncertainty() -%}
{%- set pillars = sovereignty_index_pillars() -%}

-- Uncertainty of the sovereignty index over its weights (metrics.md section 5): each area's index
-- S = 100 x prod_i n_i^w_i = 100 x exp(sum_i w_i ln n_i) recomputed from its clamped pillars
-- (int_area_sovereignty_index) for every weight vector of int_sovereignty_index_weights, then
-- summarised per area and year over the draws:
--   index_p05, index_p50, index_p95: percentiles with linear interpolation;
--   median_rank: the median of the area's rank in each draw among the year's areas with an index
--     (1 = highest S; equal S ranked by project_code).
-- The ALL row recomputes, per draw, the consumption-weighted mean of the areas' S, as
-- marts.sovereignty_index does: sum_a C_a S_a / sum_a C_a, NULL when sum_a C_a is 0; its rank is
-- NULL. A year has an ALL row when one of its areas has an index. Areas without an index (a
-- missing pillar) keep a row with NULL figures.
with areas as (
    select * from {{ ref('int_area_sovereignty_index') }}
),

weights as (
    select * from {{ ref('int_sovereignty_index_weights') }}
),

area_draws as (
    select
        areas.project_code,
        areas.year,
        areas.apparent_consumption,
        weights.draw,
        100 * exp(
            {%- for pillar in pillars %}
                weights.weight_{{ pillar }} * ln(areas.{{ pillar }}_clamped){% if not loop.last %} +{% endif %}
            {%- endfor %}
        ) as sovereignty_index
    from areas
    cross join weights
    where areas.sovereignty_index is not null
),

ranked_draws as (
    select
        project_code,
        year,
        sovereignty_index,
        row_number() over (partition by year, draw order by sovereignty_index desc, project_code asc) as draw_rank
    from area_draws
),

national_draws as (
    select
        year,
        draw,
        {{ ratio(exact_sum('apparent_consumption * sovereignty_index'), 'sum(apparent_consumption)') }} as sovereignty_index
    from area_draws
    group by year, draw
),

summaries as (
    select
        project_code,
        year,
        {{ percentile_cont('sovereignty_index', 0.05) }} as index_p05,
        {{ percentile_cont('sovereignty_index', 0.5) }} as index_p50,
        {{ percentile_cont('sovereignty_index', 0.95) }} as index_p95,
        {{ median('draw_rank') }} as median_rank
    from ranked_draws
    group by project_code, year

    union all

    select
        'ALL' as project_code,
        year,
        {{ percentile_cont('sovereignty_index', 0.05) }} as index_p05,
        {{ percentile_cont('sovereignty_index', 0.5) }} as index_p50,
        {{ percentile_cont('sovereignty_index', 0.95) }} as index_p95,
        cast(null as double) as median_rank
    from national_draws
    group by year

    union all

    select
        project_code,
        year,
        cast(null as double) as index_p05,
        cast(null as double) as index_p50,
        cast(null as double) as index_p95,
        cast(null as double) as median_rank
    from areas
    where sovereignty_index is null
)

select
    project_code,
    year,
    cast(index_p05 as double) as index_p05,
    cast(index_p50 as double) as index_p50,
    cast(index_p95 as double) as index_p95,
    cast(median_rank as double) as median_rank,
    cast({{ uncertainty.draws }} as integer) as draws,
    cast({{ uncertainty.seed }} as bigint) as seed
from summaries
