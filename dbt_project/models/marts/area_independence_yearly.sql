-- Import independence per priority area and year (metrics.md section 1; computed in
-- int_independence_yearly on the yearly sums over the area's products); strategic_dependencies
-- counts the area's products flagged in product_independence_yearly.
with flagged_products as (
    select
        project_code,
        year,
        count(case when strategic_dependency then okpd2 end) as strategic_dependencies
    from {{ ref('product_independence_yearly') }}
    group by project_code, year
)

select
    independence.year,
    independence.quarters_reported,
    independence.project_code,
    {{ independence_figures('independence') }},
    cast(coalesce(flagged_products.strategic_dependencies, 0) as integer) as strategic_dependencies
from {{ ref('int_independence_yearly') }} as independence
left join flagged_products
    on
        independence.project_code = flagged_products.project_code
        and independence.year = flagged_products.year
where independence.level = 'area'
