-- The years the yearly independence marts report: the number of reported quarters of each, and
-- whether every one of them has producer reports and a trade file (metrics.md: a yearly flow is
-- NULL when any reported quarter of the year lacks it).
select
    year,
    cast(count(*) as integer) as quarters_reported,
    min(case when has_producer_reports then 1 else 0 end) = 1 as producer_reports_complete,
    min(case when has_trade_file then 1 else 0 end) = 1 as trade_files_complete
from {{ ref('int_reported_quarters') }}
group by year
