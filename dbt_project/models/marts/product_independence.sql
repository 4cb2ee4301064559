{{ config(**incremental_config('period')) }}

-- Import independence per product and quarter (metrics.md section 1; computed in
-- int_independence), with the strategic-dependency flag. Yearly rows: product_independence_yearly.
with periods_to_build as (
    {{ periods_to_build([[ref('int_independence'), 'last_load_id']], is_incremental()) }}
)

select
    independence.period,
    independence.year,
    independence.quarter,
    independence.code as okpd2,
    independence.project_code,
    {{ independence_figures('independence') }},
    {{ strategic_dependency('independence.import_dependency', 'independence.import_hhi') }} as strategic_dependency,
    periods_to_build.last_load_id
from {{ ref('int_independence') }} as independence
inner join periods_to_build
    on independence.period = periods_to_build.period
where independence.level = 'product'
