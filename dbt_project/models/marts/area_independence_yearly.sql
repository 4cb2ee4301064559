-- Import independence per priority area and year (metrics.md section 1): yearly sums over the
-- area's products, then ratios; strategic_dependencies counts the area's products flagged in
-- product_independence_yearly.
with flows as (
    select * from {{ ref('int_area_year_flows') }}
),

metrics as (
    {{ independence_metrics('flows') }}
),

flagged_products as (
    select
        project_code,
        year,
        count(case when strategic_dependency then okpd2 end) as strategic_dependencies
    from {{ ref('product_independence_yearly') }}
    group by project_code, year
)

select
    cast(metrics.year as integer) as year,
    cast(metrics.quarters_reported as integer) as quarters_reported,
    cast(metrics.project_code as {{ dbt.type_string() }}) as project_code,
    {{ independence_columns() }},
    cast(coalesce(flagged_products.strategic_dependencies, 0) as integer) as strategic_dependencies
from metrics
left join flagged_products
    on flagged_products.project_code = metrics.project_code
    and flagged_products.year = metrics.year
