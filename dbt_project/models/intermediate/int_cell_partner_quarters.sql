{{ config(**incremental_config('period')) }}

-- Customs flows per partner country and quarter of every cell that reports on them: the product
-- (level 'product', code okpd2) and its priority area (level 'area', code project_code, the
-- area's products summed). Partner concentration is taken at this grain. Only quarters with a
-- trade file appear.
with periods_to_build as (
    {{ periods_to_build([[ref('int_trade_partner_quarter'), 'last_load_id']], is_incremental()) }}
),

levels as (
    select 'product' as level
    union all
    select 'area' as level
),

cell_rows as (
    select
        trade.*,
        levels.level,
        case levels.level when 'product' then trade.okpd2 else trade.project_code end as code
    from {{ ref('int_trade_partner_quarter') }} as trade
    cross join levels
)

select
    cell_rows.level,
    cell_rows.code,
    cell_rows.project_code,
    cell_rows.period,
    cell_rows.year,
    cell_rows.quarter,
    cell_rows.partner_country,
    cast(sum(cell_rows.imports) as decimal(18, 3)) as imports,
    cast(sum(cell_rows.exports) as decimal(18, 3)) as exports,
    periods_to_build.last_load_id
from cell_rows
inner join periods_to_build
    on cell_rows.period = periods_to_build.period
group by
    cell_rows.level,
    cell_rows.code,
    cell_rows.project_code,
    cell_rows.period,
    cell_rows.year,
    cell_rows.quarter,
    cell_rows.partner_country,
    periods_to_build.last_load_id
