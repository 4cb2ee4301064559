{{ config(**incremental_config('period')) }}

-- Import independence (metrics.md section 1) per product and per priority area (level and code
-- as in int_products_and_areas) and quarter: the flows, then the ratios taken on them. An area's
-- flows are the sums over its products (int_cell_*), so its ratios are ratios of sums.
-- Rows: every product and area in force that year x every reported quarter, so a product absent
-- from a quarter's files still has a row. A producer flow is 0 when the quarter has producer
-- reports but none for the row, NULL when the quarter has no producer reports; customs flows
-- likewise with the quarter's trade file.
with periods_to_build as (
    {{ periods_to_build([
        [ref('int_cell_producer_totals'), 'last_load_id'],
        [ref('int_cell_trade_totals'), 'last_load_id'],
    ], is_incremental()) }}
),

grid as (
    select
        subjects.level,
        subjects.code,
        subjects.project_code,
        quarters.period,
        quarters.year,
        quarters.quarter,
        quarters.has_producer_reports as producer_reports_complete,
        quarters.has_trade_file as trade_files_complete
    from {{ ref('int_products_and_areas') }} as subjects
    cross join {{ ref('int_reported_quarters') }} as quarters
    where
        quarters.period in (select periods_to_build.period from periods_to_build)
        and {{ area_is_available('quarters.year', 'subjects.available_from_year') }}
),

flows as (
    select
        grid.level,
        grid.code,
        grid.project_code,
        grid.period,
        grid.year,
        grid.quarter,
        grid.producer_reports_complete,
        grid.trade_files_complete,
        periods_to_build.last_load_id,
        case when grid.producer_reports_complete then coalesce(producers.output_value, 0) end as output_value,
        case when grid.producer_reports_complete then coalesce(producers.components_cost, 0) end as components_cost,
        case when grid.producer_reports_complete then coalesce(producers.imported_components_cost, 0) end as imported_components_cost,
        case when grid.producer_reports_complete then coalesce(producers.domestic_technology_output_value, 0) end
            as domestic_technology_output_value,
        case when grid.producer_reports_complete then coalesce(producers.rnd_expenses, 0) end as rnd_expenses,
        case when grid.producer_reports_complete then coalesce(producers.producer_count, 0) end as producer_count,
        case when grid.producer_reports_complete then coalesce(producers.top_producer_output_value, 0) end as top_producer_output_value,
        case when grid.trade_files_complete then coalesce(trade.imports, 0) end as imports,
        case when grid.trade_files_complete then coalesce(trade.exports, 0) end as exports,
        case when grid.trade_files_complete then coalesce(trade.imports_squared_sum, 0) end as imports_squared_sum,
        case when grid.trade_files_complete then coalesce(trade.top_partner_imports, 0) end as top_partner_imports,
        case when grid.trade_files_complete then coalesce(trade.import_partner_count, 0) end as import_partner_count
    from grid
    inner join periods_to_build
        on grid.period = periods_to_build.period
    left join {{ ref('int_cell_producer_totals') }} as producers
        on
            grid.level = producers.level
            and grid.code = producers.code
            and grid.period = producers.period
    left join {{ ref('int_cell_trade_totals') }} as trade
        on
            grid.level = trade.level
            and grid.code = trade.code
            and grid.period = trade.period
),

with_consumption as (
    select
        flows.*,
        cast(flows.output_value + flows.imports - flows.exports as decimal(18, 3)) as apparent_consumption
    from flows
)

select
    with_consumption.*,
    {{ independence_ratios('with_consumption') }}
from with_consumption
