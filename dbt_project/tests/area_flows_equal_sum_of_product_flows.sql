{{ config(meta={'dagster': {'ref': {'name': 'area_independence'}}}) }}
-- meta.dagster.ref makes Dagster show this test as a check of the mart it guards (it reads several models).
-- Area rows sum the area's products first (metrics.md section 1): every area quarter's Q, M and X
-- equals the sum over its products in product_independence (NULL-safe: both NULL or equal).
with products as (
    select
        project_code,
        period,
        sum(output_value) as output_value,
        sum(imports) as imports,
        sum(exports) as exports
    from {{ ref('product_independence') }}
    group by project_code, period
)

select areas.project_code, areas.period
from {{ ref('area_independence') }} as areas
left join products
    on products.project_code = areas.project_code
    and products.period = areas.period
where not (
    (areas.output_value = products.output_value or (areas.output_value is null and products.output_value is null))
    and (areas.imports = products.imports or (areas.imports is null and products.imports is null))
    and (areas.exports = products.exports or (areas.exports is null and products.exports is null))
)
