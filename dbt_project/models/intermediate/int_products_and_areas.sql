-- The products and priority areas import independence is computed for, keyed like the int_cell_*
-- models: level 'product' with code okpd2, level 'area' with code project_code.
-- available_from_year is the year the area exists from (NULL: it always existed).
select
    'product' as level,
    products.okpd2 as code,
    products.project_code,
    areas.available_from_year
from {{ ref('products') }} as products
inner join {{ ref('priority_areas') }} as areas
    on products.project_code = areas.project_code

union all

select
    'area' as level,
    project_code as code,
    project_code,
    available_from_year
from {{ ref('priority_areas') }}
