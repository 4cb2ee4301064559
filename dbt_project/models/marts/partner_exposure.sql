-- Exposure of each product and priority area to each partner country and partner group, per
-- quarter (issue #13, docs/early_warning.md). For partner j (a country, or a group: the sum over
-- its member countries in force that quarter) with imports M_j, and the row's imports M and
-- apparent consumption C (product_independence, area_independence):
--   consumption_share = M_j / C  (NULL when C <= 0 or unknown, like import_dependency)
--   import_share      = M_j / M  (NULL when M = 0)
--   within_group_hhi  = sum over the group's member countries c of (M_c / M_j)^2 (groups only;
--                       NULL when M_j = 0)
-- Rows: every quarter with a trade file x product or area x (every partner country imported
-- from, and every group with a member in force that quarter, 0 when nothing came from it).
with totals as (
    select
        period,
        year,
        quarter,
        'product' as level,
        okpd2 as code,
        project_code,
        imports,
        apparent_consumption
    from {{ ref('product_independence') }}
    where trade_files_complete
    union all
    select
        period,
        year,
        quarter,
        'area' as level,
        project_code as code,
        project_code,
        imports,
        apparent_consumption
    from {{ ref('area_independence') }}
    where trade_files_complete
),

groups_in_force as (
    select distinct
        totals.period,
        partner_group.group_code
    from (select distinct period from totals) as totals
    inner join {{ ref('partner_groups') }} as partner_group
        on
            partner_group.valid_from <= {{ quarter_last_day('totals.period') }}
            and (partner_group.valid_to is null or partner_group.valid_to >= {{ quarter_last_day('totals.period') }})
),

partner_rows as (
    select
        period,
        level,
        code,
        partner_type,
        partner_code
    from {{ ref('int_partner_imports') }}
    where partner_type = 'country'
    union
    select
        totals.period,
        totals.level,
        totals.code,
        'group' as partner_type,
        groups_in_force.group_code as partner_code
    from totals
    inner join groups_in_force
        on totals.period = groups_in_force.period
),

partner_imports as (
    select
        period,
        level,
        code,
        partner_type,
        partner_code,
        sum(imports) as partner_imports,
        -- exact decimal squares, so that one member country gives exactly 1 (as import_hhi)
        sum(cast(imports as decimal(38, 3)) * cast(imports as decimal(38, 3))) as partner_imports_squared_sum,
        count(*) as partner_countries
    from {{ ref('int_partner_imports') }}
    group by period, level, code, partner_type, partner_code
)

select
    totals.period,
    totals.year,
    totals.quarter,
    totals.level,
    totals.code,
    totals.project_code,
    partner_rows.partner_type,
    partner_rows.partner_code,
    cast(coalesce(partner_imports.partner_imports, 0) as decimal(18, 3)) as partner_imports,
    cast(coalesce(partner_imports.partner_countries, 0) as integer) as partner_countries,
    totals.imports,
    totals.apparent_consumption,
    case
        when totals.apparent_consumption > 0
            then {{ ratio('coalesce(partner_imports.partner_imports, 0)', 'totals.apparent_consumption') }}
    end as consumption_share,
    {{ ratio('coalesce(partner_imports.partner_imports, 0)', 'totals.imports') }} as import_share,
    case
        when partner_rows.partner_type = 'group' then
        {{ ratio('partner_imports.partner_imports_squared_sum',
                 'cast(partner_imports.partner_imports as decimal(38, 3)) * cast(partner_imports.partner_imports as decimal(38, 3))') }}
    end as within_group_hhi
from totals
inner join partner_rows
    on
        totals.period = partner_rows.period
        and totals.level = partner_rows.level
        and totals.code = partner_rows.code
left join partner_imports
    on
        partner_rows.period = partner_imports.period
        and partner_rows.level = partner_imports.level
        and partner_rows.code = partner_imports.code
        and partner_rows.partner_type = partner_imports.partner_type
        and partner_rows.partner_code = partner_imports.partner_code
