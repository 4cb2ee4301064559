-- Regional flows per priority area and year, summed over regions and quarters (the actuals of
-- the four flow indicators of metrics.md section 4). quarters_reported = the number of the year's
-- quarters with at least one regional report for the area: flow targets are pro-rated by it.
select
    project_code,
    year,
    cast(count(distinct period) as integer) as quarters_reported,
    cast(count(distinct region_code) as integer) as regions_reporting,
    cast(sum(facilities_launched) as bigint) as facilities_launched,
    cast(sum(investment) as decimal(18, 3)) as investment,
    cast(sum(jobs_created) as bigint) as jobs_created,
    cast(sum(specialists_trained) as bigint) as specialists_trained
from {{ ref('stg_regional') }}
group by project_code, year
