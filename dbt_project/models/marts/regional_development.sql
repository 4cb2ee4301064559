{{ config(**quarterly_incremental_config()) }}

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
        [ref('int_producer_quarter_outputs'), 'last_load_id'],
    ], is_incremental()) }}
),

regional as (
    select *
    from {{ ref('stg_regional') }}
    where period in (select period from periods_to_build)
),

producer_rows as (
    select *
    from {{ ref('int_producer_quarter_outputs') }}
    where period in (select period from periods_to_build)
),

{{ producer_totals('producer_rows', ['region_code', 'project_code', 'period']) }},

reported_quarters as (
    select period, has_producer_reports from {{ ref('int_reported_quarters') }}
),

cells as (
    select region_code, project_code, period from regional
    union
    select region_code, project_code, period from producer_totals
)

select
    cast(cells.period as {{ dbt.type_string() }}) as period,
    {{ period_year('cells.period') }} as year,
    {{ period_quarter('cells.period') }} as quarter,
    cast(cells.region_code as {{ dbt.type_string() }}) as region_code,
    cast(cells.project_code as {{ dbt.type_string() }}) as project_code,
    cast(regional.period is not null as boolean) as has_regional_report,
    cast(regional.facilities_launched as bigint) as facilities_launched,
    cast(regional.investment as decimal(18, 3)) as investment,
    cast(regional.jobs_created as bigint) as jobs_created,
    cast(regional.specialists_trained as bigint) as specialists_trained,
    cast(case when reported_quarters.has_producer_reports then coalesce(producer_totals.output_value, 0) end as decimal(18, 3))
        as output_value,
    cast(case when reported_quarters.has_producer_reports then coalesce(producer_totals.producer_count, 0) end as integer)
        as producer_count,
    cast({{ ratio('producer_totals.top_producer_output_value', 'producer_totals.output_value') }} as double) as top1_share,
    cast(periods_to_build.last_load_id as bigint) as last_load_id
from cells
inner join periods_to_build
    on periods_to_build.period = cells.period
left join regional
    on regional.region_code = cells.region_code
    and regional.project_code = cells.project_code
    and regional.period = cells.period
left join producer_totals
    on producer_totals.region_code = cells.region_code
    and producer_totals.project_code = cells.project_code
    and producer_totals.period = cells.period
left join reported_quarters
    on reported_quarters.period = cells.period
