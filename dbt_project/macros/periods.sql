{#- Quarters are canonical text '2025-Q1' (inputs.md); year and quarter are read from fixed positions
    with ANSI substring so that the same SQL runs on DuckDB and Spark. -#}

{% macro period_year(period) -%}
    cast(substring({{ period }}, 1, 4) as integer)
{%- endmacro %}

{% macro period_quarter(period) -%}
    cast(substring({{ period }}, 7, 1) as integer)
{%- endmacro %}
