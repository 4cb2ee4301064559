{{ config(**incremental_config('period')) }}

-- Regional development per region, priority area and quarter (metrics.md section 3): the regional
-- report's figures and the output of the enterprises producing the area's products in the
-- region. A row exists where the region sent a report for the area or produced its products.
--   regional figures: NULL when the region sent no report for that area and quarter;
--   output_value, producer_count: 0 when the quarter has producer reports but none for this region
--   and area, NULL when the quarter has no producer reports at all;
--   top1_share: the largest enterprise's output / output_value, NULL when the cell has no output; for
--   the dominance rule of disclosure control (metrics.md section 6), never published.
with periods_to_build as (
    {{ periods_to_build([
        [ref('stg_regional'), 'load_id'],
        [ref('int_cell_producer_totals'), 'last_load_id'],
    ], is_incremental()) }}
),

regional as (
    select *
    from {{ ref('stg_regional') }}
    where period in (select periods_to_build.period from periods_to_build)
),

producers as (
    select
        code as region_code,
        project_code,
        period,
        year,
        quarter,
        output_value,
        producer_count,
        top_producer_output_value
    from {{ ref('int_cell_producer_totals') }}
    where
        level = 'region'
        and period in (select periods_to_build.period from periods_to_build)
),

reported_quarters as (
    select
        period,
        has_producer_reports
    from {{ ref('int_reported_quarters') }}
),

cells as (
    select
        region_code,
        project_code,
        period,
        year,
        quarter
    from regional
    union
    select
        region_code,
        project_code,
        period,
        year,
        quarter
    from producers
)

select
    cells.period,
    cells.year,
    cells.quarter,
    cells.region_code,
    cells.project_code,
    regional.period is not null as has_regional_report,
    regional.facilities_launched,
    regional.investment,
    regional.jobs_created,
    regional.specialists_trained,
    case when reported_quarters.has_producer_reports then coalesce(producers.output_value, 0) end as output_value,
    case when reported_quarters.has_producer_reports then coalesce(producers.producer_count, 0) end as producer_count,
    {{ ratio('producers.top_producer_output_value', 'producers.output_value') }} as top1_share,
    periods_to_build.last_load_id
from cells
inner join periods_to_build
    on cells.period = periods_to_build.period
left join regional
    on
        cells.region_code = regional.region_code
        and cells.project_code = regional.project_code
        and cells.period = regional.period
left join producers
    on
        cells.region_code = producers.region_code
        and cells.project_code = producers.project_code
        and cells.period = producers.period
left join reported_quarters
    on cells.period = reported_quarters.period
