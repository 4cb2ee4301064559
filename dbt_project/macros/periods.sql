{#- Quarters are canonical text '2025-Q1' (inputs.md); year and quarter are read from fixed positions
    with ANSI substring so that the same SQL runs on DuckDB and Spark. -#}

{% macro period_year(period) -%}
    cast(substring({{ period }}, 1, 4) as integer)
{%- endmacro %}

{% macro period_quarter(period) -%}
    cast(substring({{ period }}, 7, 1) as integer)
{%- endmacro %}

{#- The last day of a quarter '2025-Q1' as a date (2025-03-31). -#}
{% macro quarter_last_day(period) -%}
    cast(substring({{ period }}, 1, 4) || case substring({{ period }}, 7, 1)
        when '1' then '-03-31' when '2' then '-06-30' when '3' then '-09-30' else '-12-31' end as date)
{%- endmacro %}
