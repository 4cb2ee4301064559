{{ config(**incremental_config('period')) }}

-- Customs imports and exports per product, partner country and quarter. Only quarters that have a
-- trade file appear, so the distinct periods here are the quarters with a trade file.
with periods_to_build as (
    {{ periods_to_build([[ref('stg_trade'), 'load_id']], is_incremental()) }}
),

trade as (
    select *
    from {{ ref('stg_trade') }}
),

products as (
    select
        okpd2,
        project_code
    from {{ ref('products') }}
)

select
    trade.period,
    trade.year,
    trade.quarter,
    trade.okpd2,
    products.project_code,
    trade.partner_country,
    cast(sum(case when trade.flow = 'import' then trade.customs_value else 0 end) as decimal(18, 3)) as imports,
    cast(sum(case when trade.flow = 'export' then trade.customs_value else 0 end) as decimal(18, 3)) as exports,
    periods_to_build.last_load_id
from trade
inner join periods_to_build
    on trade.period = periods_to_build.period
left join products
    on trade.okpd2 = products.okpd2
group by
    trade.period,
    trade.year,
    trade.quarter,
    trade.okpd2,
    products.project_code,
    trade.partner_country,
    periods_to_build.last_load_id
