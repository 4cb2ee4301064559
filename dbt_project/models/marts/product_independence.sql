{{ config(**quarterly_incremental_config()) }}

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
    independence.producer_reports_complete,
    independence.trade_files_complete,
    independence.output_value,
    independence.imports,
    independence.exports,
    independence.apparent_consumption,
    independence.consumption_nonpositive,
    independence.import_dependency,
    independence.self_sufficiency,
    independence.domestic_share,
    independence.import_hhi,
    independence.top_partner_share,
    independence.import_partner_count,
    independence.components_cost,
    independence.imported_components_cost,
    independence.localisation,
    independence.domestic_technology_share,
    independence.rnd_expenses,
    independence.rnd_intensity,
    independence.producer_count,
    independence.top1_share,
    {{ strategic_dependency('independence.import_dependency', 'independence.import_hhi') }} as strategic_dependency,
    periods_to_build.last_load_id
from {{ ref('int_independence') }} as independence
inner join periods_to_build
    on independence.period = periods_to_build.period
where independence.level = 'product'
