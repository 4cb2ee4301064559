{{ config(**quarterly_incremental_config()) }}

-- Import independence per priority area and quarter (metrics.md section 1): the area's products
-- are summed first, then the ratios are taken; strategic_dependencies counts the area's products
-- flagged in product_independence. Yearly rows: area_independence_yearly.
with periods_to_build as (
    {{ periods_to_build([
        [ref('int_area_quarter_flows'), 'last_load_id'],
        [ref('product_independence'), 'last_load_id'],
    ], is_incremental()) }}
),

flows as (
    select *
    from {{ ref('int_area_quarter_flows') }}
    where period in (select period from periods_to_build)
),

metrics as (
    {{ independence_metrics('flows') }}
),

flagged_products as (
    select
        project_code,
        period,
        count(case when strategic_dependency then okpd2 end) as strategic_dependencies
    from {{ ref('product_independence') }}
    where period in (select period from periods_to_build)
    group by project_code, period
)

select
    cast(metrics.period as {{ dbt.type_string() }}) as period,
    cast(metrics.year as integer) as year,
    cast(metrics.quarter as integer) as quarter,
    cast(metrics.project_code as {{ dbt.type_string() }}) as project_code,
    {{ independence_columns() }},
    cast(coalesce(flagged_products.strategic_dependencies, 0) as integer) as strategic_dependencies,
    cast(periods_to_build.last_load_id as bigint) as last_load_id
from metrics
inner join periods_to_build
    on periods_to_build.period = metrics.period
left join flagged_products
    on flagged_products.project_code = metrics.project_code
    and flagged_products.period = metrics.period
