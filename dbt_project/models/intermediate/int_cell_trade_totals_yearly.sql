-- Customs figures per cell (product or area; see int_cell_partner_quarters) and year: a partner's
-- quarters are summed first, so the partner concentration is taken on yearly partner totals.
with partners as (
    select
        level,
        code,
        project_code,
        year,
        partner_country,
        sum(imports) as imports,
        sum(exports) as exports
    from {{ ref('int_cell_partner_quarters') }}
    group by level, code, project_code, year, partner_country
)

select
    partners.level,
    partners.code,
    partners.project_code,
    partners.year,
    cast(sum(partners.imports) as decimal(18, 3)) as imports,
    cast(sum(partners.exports) as decimal(18, 3)) as exports,
    -- exact decimal squares, as in int_cell_trade_totals
    cast(max(partners.imports) as decimal(18, 3)) as top_partner_imports,
    cast(count(case when partners.imports > 0 then partners.partner_country end) as integer) as import_partner_count,
    sum(cast(partners.imports as decimal(38, 3)) * cast(partners.imports as decimal(38, 3))) as imports_squared_sum
from partners
group by
    partners.level,
    partners.code,
    partners.project_code,
    partners.year
