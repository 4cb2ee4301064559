-- Import independence (metrics.md section 1) per product and per priority area (level and code
-- as in int_products_and_areas) and year: the yearly flows, then the ratios taken on them (a
-- year's ratio is the ratio of its sums, never an average of quarterly ratios). Rows: every
-- product and area in force that year x every year with reported quarters. A yearly flow is NULL
-- when any reported quarter of the year lacks its source (producer reports, a trade file): the
-- year's imports are not the sum of the quarters that happen to have a trade file.
with grid as (
    select
        subjects.level,
        subjects.code,
        subjects.project_code,
        years.year,
        years.quarters_reported,
        years.producer_reports_complete,
        years.trade_files_complete
    from {{ ref('int_products_and_areas') }} as subjects
    cross join {{ ref('int_reported_years') }} as years
    where {{ area_is_available('years.year', 'subjects.available_from_year') }}
),

flows as (
    select
        grid.level,
        grid.code,
        grid.project_code,
        grid.year,
        grid.quarters_reported,
        grid.producer_reports_complete,
        grid.trade_files_complete,
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
    left join {{ ref('int_cell_producer_totals_yearly') }} as producers
        on
            grid.level = producers.level
            and grid.code = producers.code
            and grid.year = producers.year
    left join {{ ref('int_cell_trade_totals_yearly') }} as trade
        on
            grid.level = trade.level
            and grid.code = trade.code
            and grid.year = trade.year
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
