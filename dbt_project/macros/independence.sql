{#- Small expressions and lists of metrics.md section 1 that several models apply. -#}


{#- A priority area counts from its catalogue year on (priority_areas.available_from_year, e.g.
    BIO from 2026); NULL means it always existed. -#}
{% macro area_is_available(year, available_from_year) -%}
    ({{ available_from_year }} is null or {{ year }} >= {{ available_from_year }})
{%- endmacro %}


{#- metrics.md: strategic_dependency = import_dependency > 0.5 and import_hhi > 0.4 (products).
    SQL three-valued logic: NULL when one side is unknown and the other does not already decide. -#}
{% macro strategic_dependency(import_dependency, import_hhi) -%}
    ({{ import_dependency }} > 0.5 and {{ import_hhi }} > 0.4)
{%- endmacro %}


{#- The ratios of metrics.md section 1, taken on a relation of flows (sums) of any grain: product or
    area, quarter or year (int_independence, int_independence_yearly). A year's ratio is the ratio
    of its sums, never an average of quarterly ratios, so both grains take the same expressions. -#}
{% macro independence_ratios(flows) -%}
    -- C <= 0: import dependency and self-sufficiency are not defined (flagged by consumption_nonpositive)
    case
        when {{ flows }}.apparent_consumption > 0
            then {{ ratio(flows ~ '.imports', flows ~ '.apparent_consumption') }}
    end as import_dependency,
    case
        when {{ flows }}.apparent_consumption > 0
            then {{ ratio(flows ~ '.output_value', flows ~ '.apparent_consumption') }}
    end as self_sufficiency,
    case
        when {{ flows }}.apparent_consumption > 0
            then 1 - {{ ratio(flows ~ '.imports', flows ~ '.apparent_consumption') }}
    end as domestic_share,
    {{ flows }}.apparent_consumption <= 0 as consumption_nonpositive,
    -- M^2 in exact decimal like the numerator, so that a single partner gives exactly 1
    {{ ratio(flows ~ '.imports_squared_sum',
             'cast(' ~ flows ~ '.imports as decimal(38, 3)) * cast(' ~ flows ~ '.imports as decimal(38, 3))') }} as import_hhi,
    {{ ratio(flows ~ '.top_partner_imports', flows ~ '.imports') }} as top_partner_share,
    1 - {{ ratio(flows ~ '.imported_components_cost', flows ~ '.components_cost') }} as localisation,
    {{ ratio(flows ~ '.domestic_technology_output_value', flows ~ '.output_value') }} as domestic_technology_share,
    {{ ratio(flows ~ '.rnd_expenses', flows ~ '.output_value') }} as rnd_intensity,
    {{ ratio(flows ~ '.top_producer_output_value', flows ~ '.output_value') }} as top1_share
{%- endmacro %}


{#- The figures every independence mart publishes, in the contract's order, from a relation of
    int_independence(_yearly) rows; each mart adds its keys before them and its flag after. -#}
{% macro independence_figures(independence) -%}
    {%- for column in ['producer_reports_complete', 'trade_files_complete', 'output_value', 'imports', 'exports',
                       'apparent_consumption', 'consumption_nonpositive', 'import_dependency', 'self_sufficiency',
                       'domestic_share', 'import_hhi', 'top_partner_share', 'import_partner_count', 'components_cost',
                       'imported_components_cost', 'localisation', 'domestic_technology_share', 'rnd_expenses',
                       'rnd_intensity', 'producer_count', 'top1_share'] %}
    {{ independence }}.{{ column }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}


{#- The cells producer figures are reported for, as (level, the int_producer_quarter_outputs column
    that is the cell's code): the product (okpd2), its priority area (project_code) and the area in
    the enterprise's region (region_code; that cell's project_code is the area). -#}
{% macro producer_cell_levels() -%}
    {{ return([('product', 'okpd2'), ('area', 'project_code'), ('region', 'region_code')]) }}
{%- endmacro %}
