{#- Engine-specific SQL behind adapter.dispatch: DuckDB is what runs today, Spark the target the
    project must stay portable to (docs/portability.md). -#}

{#- Percentile of a numeric expression (aggregate) with linear interpolation between the two
    nearest values (numpy's default, SQL's percentile_cont); fraction in [0, 1], e.g. 0.05. -#}
{% macro percentile_cont(expression, fraction) -%}
    {{ return(adapter.dispatch('percentile_cont')(expression, fraction)) }}
{%- endmacro %}

{% macro default__percentile_cont(expression, fraction) -%}
    percentile_cont({{ fraction }}) within group (order by {{ expression }})
{%- endmacro %}

{% macro duckdb__percentile_cont(expression, fraction) -%}
    quantile_cont({{ expression }}, {{ fraction }})
{%- endmacro %}

{% macro spark__percentile_cont(expression, fraction) -%}
    percentile({{ expression }}, {{ fraction }})
{%- endmacro %}

{#- Median of a numeric expression (aggregate), interpolating between the two middle values. -#}
{% macro median(expression) -%}
    {{ percentile_cont(expression, 0.5) }}
{%- endmacro %}

{#- A hexadecimal string (digits only, at most 15 of them) as a bigint. No standard SQL for it:
    each engine gets its own. -#}
{% macro hex_to_bigint(hex_string) -%}
    {{ return(adapter.dispatch('hex_to_bigint')(hex_string)) }}
{%- endmacro %}

{% macro default__hex_to_bigint(hex_string) -%}
    {{ exceptions.raise_compiler_error("hex_to_bigint has no implementation for adapter " ~ adapter.type()) }}
{%- endmacro %}

{% macro duckdb__hex_to_bigint(hex_string) -%}
    cast('0x' || {{ hex_string }} as bigint)
{%- endmacro %}

{% macro spark__hex_to_bigint(hex_string) -%}
    cast(conv({{ hex_string }}, 16, 10) as bigint)
{%- endmacro %}

{#- A subquery of the whole numbers 0 .. count - 1 in one bigint column named column_name. No
    standard SQL for it either. -#}
{% macro number_series(count, column_name) -%}
    {{ return(adapter.dispatch('number_series')(count, column_name)) }}
{%- endmacro %}

{% macro default__number_series(count, column_name) -%}
    {{ exceptions.raise_compiler_error("number_series has no implementation for adapter " ~ adapter.type()) }}
{%- endmacro %}

{% macro duckdb__number_series(count, column_name) -%}
    (select range as {{ column_name }} from range({{ count }}))
{%- endmacro %}

{% macro spark__number_series(count, column_name) -%}
    (select id as {{ column_name }} from range({{ count }}))
{%- endmacro %}

{#- The non-NULL strings among expressions joined with separator; '' when all are NULL. -#}
{% macro join_present_strings(expressions, separator) -%}
    {{ return(adapter.dispatch('join_present_strings')(expressions, separator)) }}
{%- endmacro %}

{% macro default__join_present_strings(expressions, separator) -%}
    concat_ws('{{ separator }}', {{ expressions | join(', ') }})
{%- endmacro %}
