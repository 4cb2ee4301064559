{#- metrics.md section 1, written once for its four grains: product or area, quarter or year.

    independence_flows() builds the flows (sums) of one grain as a chain of CTEs ending in
    `flows`; independence_metrics() turns flows into the ratios; independence_columns() is the
    typed column list every independence mart publishes. -#}


{#- A priority area counts from its catalogue year on (priority_areas.available_from_year, e.g.
    BIO from 2026); NULL means it always existed. -#}
{% macro area_is_available(year, available_from_year) -%}
    ({{ available_from_year }} is null or {{ year }} >= {{ available_from_year }})
{%- endmacro %}


{#- Producer aggregates over a relation of producer rows (int_producer_quarter_outputs columns),
    by group_keys. Emits two CTEs, producer_by_inn and producer_totals.
    producer_count and top_producer_output_value are taken per enterprise (inn) within the group,
    after summing the enterprise's rows (an enterprise may report several products or regions). -#}
{% macro producer_totals(producer_rows, group_keys) %}
    {%- set keys = group_keys | join(', ') -%}
producer_by_inn as (
    select
        {{ keys }},
        inn,
        sum(output_value) as output_value,
        sum(components_cost) as components_cost,
        sum(imported_components_cost) as imported_components_cost,
        sum(domestic_technology_output_value) as domestic_technology_output_value,
        sum(rnd_expenses) as rnd_expenses
    from {{ producer_rows }}
    group by {{ keys }}, inn
),

producer_totals as (
    select
        {{ keys }},
        sum(output_value) as output_value,
        sum(components_cost) as components_cost,
        sum(imported_components_cost) as imported_components_cost,
        sum(domestic_technology_output_value) as domestic_technology_output_value,
        sum(rnd_expenses) as rnd_expenses,
        -- metrics.md: distinct inn with output_value > 0
        count(case when output_value > 0 then inn end) as producer_count,
        max(output_value) as top_producer_output_value
    from producer_by_inn
    group by {{ keys }}
)
{% endmacro %}


{#- The flows of metrics.md section 1 for one grain, as CTEs ending in `flows`.

    entity: 'okpd2' (product rows; they also carry project_code) or 'project_code' (area rows:
        the area's products are summed first, then ratios are taken).
    time_grain: 'quarter' (period, year, quarter) or 'year' (year, quarters_reported).
    periods_to_build: optional name of a CTE with a period column restricting the quarters read
        (incremental builds).

    Rows: every catalogue product (or area) in force that year x every reported quarter (a quarter
    with producer reports or a trade file), so a product absent from a quarter's files still has
    a row. NULL versus 0:
    - imports/exports: 0 when the quarter has a trade file without a row for the product, NULL
      when the quarter has no trade file; a year is NULL when any of its reported quarters has no
      trade file (the year's imports are not the sum of the quarters that happen to have one).
    - producer sums (output, costs, R&D, producer_count): the same rule with "the quarter has
      producer reports" in place of "the quarter has a trade file". -#}
{% macro independence_flows(entity, time_grain, periods_to_build=none) %}
    {%- if entity not in ('okpd2', 'project_code') or time_grain not in ('quarter', 'year') -%}
        {{ exceptions.raise_compiler_error("independence_flows: entity must be okpd2 or project_code and time_grain quarter or year") }}
    {%- endif -%}
    {%- set time_keys = ['period', 'year', 'quarter'] if time_grain == 'quarter' else ['year'] -%}
    {%- set bucket = 'period' if time_grain == 'quarter' else 'year' -%}
    {%- set entity_keys = ['okpd2', 'project_code'] if entity == 'okpd2' else ['project_code'] -%}
reported_quarters as (
    select period, year, quarter, has_producer_reports, has_trade_file
    from {{ ref('int_reported_quarters') }}
    {%- if periods_to_build %}
    where period in (select period from {{ periods_to_build }})
    {%- endif %}
),

time_buckets as (
    select
        {{ time_keys | join(', ') }},
        count(*) as quarters_reported,
        min(case when has_producer_reports then 1 else 0 end) = 1 as producer_reports_complete,
        min(case when has_trade_file then 1 else 0 end) = 1 as trade_files_complete
    from reported_quarters
    group by {{ time_keys | join(', ') }}
),

entities as (
    {%- if entity == 'okpd2' %}
    select products.okpd2, products.project_code, areas.available_from_year
    from {{ ref('products') }} as products
    inner join {{ ref('priority_areas') }} as areas
        on areas.project_code = products.project_code
    {%- else %}
    select areas.project_code, areas.available_from_year
    from {{ ref('priority_areas') }} as areas
    {%- endif %}
),

grid as (
    select
        {%- for key in entity_keys %}
        entities.{{ key }},
        {%- endfor %}
        time_buckets.*
    from entities
    cross join time_buckets
    where {{ area_is_available('time_buckets.year', 'cast(entities.available_from_year as integer)') }}
),

producer_rows as (
    select outputs.*
    from {{ ref('int_producer_quarter_outputs') }} as outputs
    where outputs.period in (select period from reported_quarters)
),

{{ producer_totals('producer_rows', [entity, bucket]) }},

trade_by_partner as (
    select {{ entity }}, {{ bucket }}, partner_country, sum(imports) as imports, sum(exports) as exports
    from {{ ref('int_trade_partner_quarter') }}
    where period in (select period from reported_quarters)
    group by {{ entity }}, {{ bucket }}, partner_country
),

trade_totals as (
    select
        {{ entity }},
        {{ bucket }},
        sum(imports) as imports,
        sum(exports) as exports,
        -- sum over partners of M_j^2, exact in decimal so that the HHI does not depend on the
        -- order rows are summed in (published bytes must be reproducible); 38 digits because
        -- money squared overflows DECIMAL(18)
        sum(cast(imports as decimal(38, 3)) * cast(imports as decimal(38, 3))) as imports_squared_sum,
        max(imports) as top_partner_imports,
        count(case when imports > 0 then partner_country end) as import_partner_count
    from trade_by_partner
    group by {{ entity }}, {{ bucket }}
),

flows as (
    select
        grid.*,
        case when grid.producer_reports_complete then coalesce(producer_totals.output_value, 0) end as output_value,
        case when grid.producer_reports_complete then coalesce(producer_totals.components_cost, 0) end as components_cost,
        case when grid.producer_reports_complete then coalesce(producer_totals.imported_components_cost, 0) end as imported_components_cost,
        case when grid.producer_reports_complete then coalesce(producer_totals.domestic_technology_output_value, 0) end as domestic_technology_output_value,
        case when grid.producer_reports_complete then coalesce(producer_totals.rnd_expenses, 0) end as rnd_expenses,
        case when grid.producer_reports_complete then coalesce(producer_totals.producer_count, 0) end as producer_count,
        case when grid.producer_reports_complete then coalesce(producer_totals.top_producer_output_value, 0) end as top_producer_output_value,
        case when grid.trade_files_complete then coalesce(trade_totals.imports, 0) end as imports,
        case when grid.trade_files_complete then coalesce(trade_totals.exports, 0) end as exports,
        case when grid.trade_files_complete then coalesce(trade_totals.imports_squared_sum, 0) end as imports_squared_sum,
        case when grid.trade_files_complete then coalesce(trade_totals.top_partner_imports, 0) end as top_partner_imports,
        case when grid.trade_files_complete then coalesce(trade_totals.import_partner_count, 0) end as import_partner_count
    from grid
    left join producer_totals
        on producer_totals.{{ entity }} = grid.{{ entity }}
        and producer_totals.{{ bucket }} = grid.{{ bucket }}
    left join trade_totals
        on trade_totals.{{ entity }} = grid.{{ entity }}
        and trade_totals.{{ bucket }} = grid.{{ bucket }}
)
{% endmacro %}


{#- The ratios of metrics.md section 1 from a relation of flows (an int_*_flows model). A query. -#}
{% macro independence_metrics(flows) %}
    select
        with_consumption.*,
        -- C <= 0: import dependency and self-sufficiency are not defined (flagged below)
        case when apparent_consumption > 0 then {{ ratio('imports', 'apparent_consumption') }} end as import_dependency,
        case when apparent_consumption > 0 then {{ ratio('output_value', 'apparent_consumption') }} end as self_sufficiency,
        case when apparent_consumption > 0 then 1 - {{ ratio('imports', 'apparent_consumption') }} end as domestic_share,
        apparent_consumption <= 0 as consumption_nonpositive,
        -- M^2 in exact decimal like the numerator, so that a single partner gives exactly 1
        {{ ratio('imports_squared_sum', 'cast(imports as decimal(38, 3)) * cast(imports as decimal(38, 3))') }} as import_hhi,
        {{ ratio('top_partner_imports', 'imports') }} as top_partner_share,
        1 - {{ ratio('imported_components_cost', 'components_cost') }} as localisation,
        {{ ratio('domestic_technology_output_value', 'output_value') }} as domestic_technology_share,
        {{ ratio('rnd_expenses', 'output_value') }} as rnd_intensity,
        {{ ratio('top_producer_output_value', 'output_value') }} as top1_share
    from (
        select
            {{ flows }}.*,
            {{ flows }}.output_value + {{ flows }}.imports - {{ flows }}.exports as apparent_consumption
        from {{ flows }}
    ) as with_consumption
{% endmacro %}


{#- The typed measure columns every independence mart publishes (after its key columns). -#}
{% macro independence_columns() %}
    cast(producer_reports_complete as boolean) as producer_reports_complete,
    cast(trade_files_complete as boolean) as trade_files_complete,
    cast(output_value as decimal(18, 3)) as output_value,
    cast(imports as decimal(18, 3)) as imports,
    cast(exports as decimal(18, 3)) as exports,
    cast(apparent_consumption as decimal(18, 3)) as apparent_consumption,
    cast(consumption_nonpositive as boolean) as consumption_nonpositive,
    cast(import_dependency as double) as import_dependency,
    cast(self_sufficiency as double) as self_sufficiency,
    cast(domestic_share as double) as domestic_share,
    cast(import_hhi as double) as import_hhi,
    cast(top_partner_share as double) as top_partner_share,
    cast(import_partner_count as integer) as import_partner_count,
    cast(components_cost as decimal(18, 3)) as components_cost,
    cast(imported_components_cost as decimal(18, 3)) as imported_components_cost,
    cast(localisation as double) as localisation,
    cast(domestic_technology_share as double) as domestic_technology_share,
    cast(rnd_expenses as decimal(18, 3)) as rnd_expenses,
    cast(rnd_intensity as double) as rnd_intensity,
    cast(producer_count as integer) as producer_count,
    cast(top1_share as double) as top1_share
{% endmacro %}


{#- metrics.md: strategic_dependency = import_dependency > 0.5 and import_hhi > 0.4 (products).
    SQL three-valued logic: NULL when one side is unknown and the other does not already decide. -#}
{% macro strategic_dependency(import_dependency, import_hhi) -%}
    ({{ import_dependency }} > 0.5 and {{ import_hhi }} > 0.4)
{%- endmacro %}
