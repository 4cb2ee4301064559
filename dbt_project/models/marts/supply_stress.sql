-- Stress test (issue #13, docs/early_warning.md): "if imports from this partner stopped", per
-- product and priority area, quarter and partner (every row of partner_exposure). Assumption: no
-- substitution and no stocks, so the partner's imports M_j go unmet and everything else stays:
--   unmet_share             = M_j / C (partner_exposure.consumption_share)
--   import_dependency_after = (M - M_j) / (C - M_j), NULL when C - M_j <= 0 or unknown
--   import_hhi_after        = (sum_c M_c^2 - sum_{c in j} M_c^2) / (M - M_j)^2 over partner
--                             countries c: the concentration of the imports that remain
--   strategic_dependency_after: metrics.md's rule on the two figures after the stop;
--   becomes_strategic_dependency: after and not before (products).
-- Area rows add, over the area's products: products_becoming_strategic, and
--   output_share_affected = sum of Q over the products with unmet_share > stress_affected_share
--                           / sum of Q over the area's products.
{% set affected_share = var('early_warning')['stress_affected_share'] %}
with exposure as (
    select * from {{ ref('partner_exposure') }}
),

before_stop as (
    select
        period,
        'product' as level,
        okpd2 as code,
        output_value,
        strategic_dependency
    from {{ ref('product_independence') }}
    union all
    select
        period,
        'area' as level,
        project_code as code,
        output_value,
        cast(null as boolean) as strategic_dependency
    from {{ ref('area_independence') }}
),

imports_squared as (
    select
        period,
        level,
        code,
        imports_squared_sum
    from {{ ref('int_independence') }}
),

partner_squared as (
    select
        period,
        level,
        code,
        partner_type,
        partner_code,
        sum(cast(imports as decimal(38, 3)) * cast(imports as decimal(38, 3))) as partner_imports_squared_sum
    from {{ ref('int_partner_imports') }}
    group by period, level, code, partner_type, partner_code
),

after_stop as (
    select
        exposure.*,
        before_stop.output_value,
        before_stop.strategic_dependency as strategic_dependency_before,
        case
            when exposure.apparent_consumption - exposure.partner_imports > 0 then
                {{ ratio('exposure.imports - exposure.partner_imports', 'exposure.apparent_consumption - exposure.partner_imports') }}
        end as import_dependency_after,
        {{ ratio(
            'imports_squared.imports_squared_sum - coalesce(partner_squared.partner_imports_squared_sum, 0)',
            'cast(exposure.imports - exposure.partner_imports as decimal(38, 3)) * cast(exposure.imports - exposure.partner_imports as decimal(38, 3))'
        ) }} as import_hhi_after
    from exposure
    inner join before_stop
        on
            exposure.period = before_stop.period
            and exposure.level = before_stop.level
            and exposure.code = before_stop.code
    inner join imports_squared
        on
            exposure.period = imports_squared.period
            and exposure.level = imports_squared.level
            and exposure.code = imports_squared.code
    left join partner_squared
        on
            exposure.period = partner_squared.period
            and exposure.level = partner_squared.level
            and exposure.code = partner_squared.code
            and exposure.partner_type = partner_squared.partner_type
            and exposure.partner_code = partner_squared.partner_code
),

products_after as (
    select
        after_stop.*,
        {{ strategic_dependency('import_dependency_after', 'import_hhi_after') }} as strategic_dependency_after
    from after_stop
),

area_products as (
    -- every product of the area counts in the denominator, also those not importing from the partner
    select
        period,
        project_code,
        sum(output_value) as output_value,
        count(output_value) as products_with_output,
        count(*) as products
    from {{ ref('product_independence') }}
    group by period, project_code
),

area_effects as (
    select
        period,
        project_code,
        partner_type,
        partner_code,
        count(case when strategic_dependency_after and not strategic_dependency_before then code end) as products_becoming_strategic,
        sum(case when consumption_share > {{ affected_share }} then output_value else 0 end) as affected_output_value
    from products_after
    where level = 'product'
    group by period, project_code, partner_type, partner_code
)

select
    products_after.period,
    products_after.year,
    products_after.quarter,
    products_after.level,
    products_after.code,
    products_after.project_code,
    products_after.partner_type,
    products_after.partner_code,
    products_after.partner_imports,
    products_after.consumption_share as unmet_share,
    products_after.import_dependency_after,
    products_after.import_hhi_after,
    cast(case when products_after.level = 'area' then coalesce(area_effects.products_becoming_strategic, 0) end as integer)
        as products_becoming_strategic,
    case when products_after.level = 'product' then products_after.strategic_dependency_before end as strategic_dependency_before,
    case when products_after.level = 'product' then products_after.strategic_dependency_after end as strategic_dependency_after,
    case
        when products_after.level = 'product'
            then products_after.strategic_dependency_after and not products_after.strategic_dependency_before
    end as becomes_strategic_dependency,
    case
        when products_after.level = 'area' and area_products.products_with_output = area_products.products then
            {{ ratio('coalesce(area_effects.affected_output_value, 0)', 'area_products.output_value') }}
    end as output_share_affected
from products_after
left join area_effects
    on
        products_after.level = 'area'
        and products_after.period = area_effects.period
        and products_after.code = area_effects.project_code
        and products_after.partner_type = area_effects.partner_type
        and products_after.partner_code = area_effects.partner_code
left join area_products
    on
        products_after.level = 'area'
        and products_after.period = area_products.period
        and products_after.code = area_products.project_code
