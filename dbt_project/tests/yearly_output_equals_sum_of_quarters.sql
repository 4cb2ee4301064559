{{ config(meta={'dagster': {'ref': {'name': 'product_independence_yearly'}}}) }}
-- meta.dagster.ref makes Dagster show this test as a check of the mart it guards (it reads several models).
-- A yearly flow is the sum of the year's quarters, and NULL when any reported quarter has it NULL
-- (metrics.md): product_independence_yearly against product_independence.
with quarters as (
    select
        okpd2,
        year,
        count(*) as quarters_reported,
        {{ sum_if_complete('output_value') }} as output_value,
        {{ sum_if_complete('imports') }} as imports
    from {{ ref('product_independence') }}
    group by okpd2, year
)

select years.okpd2, years.year
from {{ ref('product_independence_yearly') }} as years
left join quarters
    on quarters.okpd2 = years.okpd2
    and quarters.year = years.year
where quarters.quarters_reported is null
    or quarters.quarters_reported <> years.quarters_reported
    or not (years.output_value = quarters.output_value or (years.output_value is null and quarters.output_value is null))
    or not (years.imports = quarters.imports or (years.imports is null and quarters.imports is null))
