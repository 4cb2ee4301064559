{#- Engine-specific SQL behind adapter.dispatch: DuckDB is what runs today, Spark the target the
    project must stay portable to (docs/portability.md). -#}

{#- Median of a numeric expression (aggregate), interpolating between the two middle values. -#}
{% macro median(expression) -%}
    {{ return(adapter.dispatch('median')(expression)) }}
{%- endmacro %}

{% macro default__median(expression) -%}
    percentile_cont(0.5) within group (order by {{ expression }})
{%- endmacro %}

{% macro duckdb__median(expression) -%}
    median({{ expression }})
{%- endmacro %}

{% macro spark__median(expression) -%}
    percentile({{ expression }}, 0.5)
{%- endmacro %}

{#- The non-NULL strings among expressions joined with separator; '' when all are NULL. -#}
{% macro join_present_strings(expressions, separator) -%}
    {{ return(adapter.dispatch('join_present_strings')(expressions, separator)) }}
{%- endmacro %}

{% macro default__join_present_strings(expressions, separator) -%}
    concat_ws('{{ separator }}', {{ expressions | join(', ') }})
{%- endmacro %}
