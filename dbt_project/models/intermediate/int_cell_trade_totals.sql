{{ config(**incremental_config('period')) }}

-- Customs figures per cell (product or area; see int_cell_partner_quarters) and quarter, with
-- the partner concentration. Only quarters with a trade file appear.
with periods_to_build as (
    {{ periods_to_build([[ref('int_cell_partner_quarters'), 'last_load_id']], is_incremental()) }}
),

partners as (
    select *
    from {{ ref('int_cell_partner_quarters') }}
)

select
    partners.level,
    partners.code,
    partners.project_code,
    partners.period,
    partners.year,
    partners.quarter,
    cast(sum(partners.imports) as decimal(18, 3)) as imports,
    cast(sum(partners.exports) as decimal(18, 3)) as exports,
    -- sum over partners of M_j^2, exact in decimal so that the HHI does not depend on the order
    -- rows are summed in (published bytes must be reproducible); 38 digits because money squared
    -- overflows DECIMAL(18)
    cast(count(case when partners.imports > 0 then partners.partner_country end) as integer) as import_partner_count,
    periods_to_build.last_load_id,
    sum(cast(partners.imports as decimal(38, 3)) * cast(partners.imports as decimal(38, 3))) as imports_squared_sum,
    max(partners.imports) as top_partner_imports
from partners
inner join periods_to_build
    on partners.period = periods_to_build.period
group by
    partners.level,
    partners.code,
    partners.project_code,
    partners.period,
    partners.year,
    partners.quarter,
    periods_to_build.last_load_id
