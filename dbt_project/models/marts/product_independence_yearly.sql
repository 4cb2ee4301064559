-- Import independence per product and year (metrics.md section 1; computed in
-- int_independence_yearly), with the strategic-dependency flag.
select
    independence.year,
    independence.quarters_reported,
    independence.code as okpd2,
    independence.project_code,
    {{ independence_figures('independence') }},
    {{ strategic_dependency('independence.import_dependency', 'independence.import_hhi') }} as strategic_dependency
from {{ ref('int_independence_yearly') }} as independence
where independence.level = 'product'
