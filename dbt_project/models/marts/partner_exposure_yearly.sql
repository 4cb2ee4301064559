-- Exposure by partner per year (issue #13, docs/early_warning.md): the ratios of yearly sums
-- (metrics.md: a year's ratio is the ratio of its sums, never an average of quarterly ratios).
-- M_j is the partner's imports summed over the year's quarters, with a group's membership as in
-- force each quarter; M and C are the yearly figures of product_independence_yearly and
-- area_independence_yearly, which are NULL (and the year left out here) when a quarter of the
-- year has no trade file.
--   consumption_share = M_j / C (NULL when C <= 0), import_share = M_j / M,
--   within_group_hhi  = sum over member countries c of (M_c / M_j)^2 with yearly M_c (groups).
-- Rows: the partners of the year's quarterly rows of partner_exposure.
with totals as (
    select
        year,
        quarters_reported,
        'product' as level,
        okpd2 as code,
        project_code,
        imports,
        apparent_consumption
    from {{ ref('product_independence_yearly') }}
    where trade_files_complete
    union all
    select
        year,
        quarters_reported,
        'area' as level,
        project_code as code,
        project_code,
        imports,
        apparent_consumption
    from {{ ref('area_independence_yearly') }}
    where trade_files_complete
),

partner_rows as (
    select distinct
        year,
        level,
        code,
        partner_type,
        partner_code
    from {{ ref('partner_exposure') }}
),

member_imports as (
    select
        year,
        level,
        code,
        partner_type,
        partner_code,
        member_country,
        sum(imports) as imports
    from {{ ref('int_partner_imports') }}
    group by year, level, code, partner_type, partner_code, member_country
),

partner_imports as (
    select
        year,
        level,
        code,
        partner_type,
        partner_code,
        sum(imports) as partner_imports,
        sum(cast(imports as decimal(38, 3)) * cast(imports as decimal(38, 3))) as partner_imports_squared_sum,
        count(*) as partner_countries
    from member_imports
    group by year, level, code, partner_type, partner_code
)

select
    totals.year,
    totals.quarters_reported,
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
        totals.year = partner_rows.year
        and totals.level = partner_rows.level
        and totals.code = partner_rows.code
left join partner_imports
    on
        partner_rows.year = partner_imports.year
        and partner_rows.level = partner_imports.level
        and partner_rows.code = partner_imports.code
        and partner_rows.partner_type = partner_imports.partner_type
        and partner_rows.partner_code = partner_imports.partner_code
