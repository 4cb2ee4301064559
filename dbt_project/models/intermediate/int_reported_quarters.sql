-- The quarters the independence marts report: every quarter with producer reports or a trade
-- file, and which of the two it has. The NULL-versus-0 rule of metrics.md hangs on these flags.
with producer_quarters as (
    select distinct
        period,
        year,
        quarter
    from {{ ref('int_producer_quarter_outputs') }}
),

trade_quarters as (
    select distinct
        period,
        year,
        quarter
    from {{ ref('int_trade_partner_quarter') }}
),

all_quarters as (
    select
        period,
        year,
        quarter
    from producer_quarters
    union
    select
        period,
        year,
        quarter
    from trade_quarters
)

select
    all_quarters.period,
    all_quarters.year,
    all_quarters.quarter,
    producer_quarters.period is not null as has_producer_reports,
    trade_quarters.period is not null as has_trade_file
from all_quarters
left join producer_quarters
    on all_quarters.period = producer_quarters.period
left join trade_quarters
    on all_quarters.period = trade_quarters.period
