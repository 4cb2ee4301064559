-- Regional development per region, priority area and year: the sums of the quarterly rows of
-- regional_development. quarters_reported = the quarters of the year with a row for the region
-- and area; a yearly figure is NULL when any of those quarters has it NULL (metrics.md: a year is
-- not the sum of the quarters that happen to have data). producer_count counts enterprises with
-- yearly output > 0 in the region and area.
with quarterly as (
    select * from {{ ref('regional_development') }}
),

yearly as (
    select
        region_code,
        project_code,
        year,
        count(*) as quarters_reported,
        count(case when has_regional_report then period end) as quarters_with_regional_report,
        {{ sum_if_complete('facilities_launched') }} as facilities_launched,
        {{ sum_if_complete('investment') }} as investment,
        {{ sum_if_complete('jobs_created') }} as jobs_created,
        {{ sum_if_complete('specialists_trained') }} as specialists_trained,
        {{ sum_if_complete('output_value') }} as output_value
    from quarterly
    group by region_code, project_code, year
),

producers as (
    select
        code as region_code,
        project_code,
        year,
        producer_count
    from {{ ref('int_cell_producer_totals_yearly') }}
    where level = 'region'
)

select
    yearly.year,
    cast(yearly.quarters_reported as integer) as quarters_reported,
    yearly.region_code,
    yearly.project_code,
    cast(yearly.quarters_with_regional_report as integer) as quarters_with_regional_report,
    cast(yearly.facilities_launched as bigint) as facilities_launched,
    cast(yearly.investment as decimal(18, 3)) as investment,
    cast(yearly.jobs_created as bigint) as jobs_created,
    cast(yearly.specialists_trained as bigint) as specialists_trained,
    cast(yearly.output_value as decimal(18, 3)) as output_value,
    case when yearly.output_value is not null then coalesce(producers.producer_count, 0) end as producer_count
from yearly
left join producers
    on
        yearly.region_code = producers.region_code
        and yearly.project_code = producers.project_code
        and yearly.year = producers.year
