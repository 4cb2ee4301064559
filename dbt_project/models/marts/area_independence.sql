{{ config(**incremental_config('period')) }}

-- Import independence per priority area and quarter (metrics.md section 1; computed in
-- int_independence on the sums over the area's products); strategic_dependencies counts the
-- area's products flagged in product_independence. Yearly rows: area_independence_yearly.
with periods_to_build as (
    {{ periods_to_build([
        [ref('int_independence'), 'last_load_id'],
        [ref('product_independence'), 'last_load_id'],
    ], is_incremental()) }}
),

flagged_products as (
    select
        project_code,
        period,
        count(case when strategic_dependency then okpd2 end) as strategic_dependencies
    from {{ ref('product_independence') }}
    where period in (select periods_to_build.period from periods_to_build)
    group by project_code, period
)

select
    independence.period,
    independence.year,
    independence.quarter,
    independence.project_code,
    {{ independence_figures('independence') }},
    cast(coalesce(flagged_products.strategic_dependencies, 0) as integer) as strategic_dependencies,
    periods_to_build.last_load_id
from {{ ref('int_independence') }} as independence
inner join periods_to_build
    on independence.period = periods_to_build.period
left join flagged_products
    on
        independence.project_code = flagged_products.project_code
        and independence.period = flagged_products.period
where independence.level = 'area'
