-- Import independence per product and year (metrics.md section 1; computed in
-- int_independence_yearly), with the strategic-dependency flag.
select
    independence.year,
    independence.quarters_reported,
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
    {{ strategic_dependency('independence.import_dependency', 'independence.import_hhi') }} as strategic_dependency
from {{ ref('int_independence_yearly') }} as independence
where independence.level = 'product'
