-- Yearly output Q_rp per region and product, the input of the regional complexity (metrics.md
-- section 3, computed in Python: marts.regional_complexity). Only region-product pairs with
-- producer reports appear. quarters_reported is the number of the year's quarters that have
-- producer reports at all, so a caller can restrict the complexity to complete years.
with outputs as (
    select * from {{ ref('int_producer_quarter_outputs') }}
),

producer_quarters as (
    select
        year,
        count(*) as quarters_reported
    from {{ ref('int_reported_quarters') }}
    where has_producer_reports
    group by year
)

select
    outputs.region_code,
    outputs.okpd2,
    outputs.project_code,
    outputs.year,
    cast(producer_quarters.quarters_reported as integer) as quarters_reported,
    cast(sum(outputs.output_value) as decimal(18, 3)) as output_value
from outputs
inner join producer_quarters
    on outputs.year = producer_quarters.year
group by
    outputs.region_code,
    outputs.okpd2,
    outputs.project_code,
    outputs.year,
    producer_quarters.quarters_reported
