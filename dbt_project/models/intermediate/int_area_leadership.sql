-- Technical leadership per priority area and year (metrics.md section 2): leadership_share = yearly
-- output of the area's leader products / yearly output of its assessed products (band other than
-- not_assessed), plus product counts per band. The share is NULL when no product is assessed,
-- when their output is 0, or when an assessed product's yearly output is unknown (NULL).
with products as (
    select * from {{ ref('int_product_leadership') }}
),

areas as (
    select
        project_code,
        year,
        max(quarters_reported) as quarters_reported,
        count(case when band = 'leader' then okpd2 end) as products_leader,
        count(case when band = 'comparable' then okpd2 end) as products_comparable,
        count(case when band = 'lagging' then okpd2 end) as products_lagging,
        count(case when band = 'not_assessed' then okpd2 end) as products_not_assessed,
        count(case when band <> 'not_assessed' and output_value is null then okpd2 end) as assessed_without_output,
        sum(case when band <> 'not_assessed' then output_value end) as assessed_output_value,
        coalesce(sum(case when band = 'leader' then output_value end), 0) as leader_output_value
    from products
    group by project_code, year
)

select
    project_code,
    year,
    quarters_reported,
    cast(products_leader as integer) as products_leader,
    cast(products_comparable as integer) as products_comparable,
    cast(products_lagging as integer) as products_lagging,
    cast(products_not_assessed as integer) as products_not_assessed,
    cast(products_leader + products_comparable + products_lagging as integer) as products_assessed,
    cast(case when assessed_without_output = 0 then assessed_output_value end as decimal(18, 3)) as assessed_output_value,
    cast(case when assessed_without_output = 0 and assessed_output_value is not null then leader_output_value end as decimal(18, 3))
        as leader_output_value,
    case when assessed_without_output = 0 then {{ ratio('leader_output_value', 'assessed_output_value') }} end as leadership_share
from areas
