{#- Small arithmetic helpers, written once so that every model applies the same rule. -#}

{#- metrics.md: "A ratio whose denominator is zero or missing is NULL, never 0 and never an error."
    Both sides are cast to double so that integer and decimal inputs divide the same way on every
    engine (ANSI integer division truncates). -#}
{% macro ratio(numerator, denominator) -%}
    (cast({{ numerator }} as double) / nullif(cast({{ denominator }} as double), 0))
{%- endmacro %}

{#- Bound a value to [low, high]; NULL stays NULL. A CASE instead of least/greatest, whose NULL
    handling differs between engines. -#}
{% macro clamp(value, low, high) -%}
    (case
        when {{ value }} < {{ low }} then {{ low }}
        when {{ value }} > {{ high }} then {{ high }}
        else {{ value }}
    end)
{%- endmacro %}

{% macro cap(value, high) -%}
    (case when {{ value }} > {{ high }} then {{ high }} else {{ value }} end)
{%- endmacro %}

{#- value >= threshold, compared after rounding both sides to 9 decimals, so that a value that is
    exactly on an edge in decimal arithmetic (a technical level of exactly 0.8 computed as
    exp(ln 0.8), an actual of exactly 90 % of a target) falls on the side the spec puts it. -#}
{% macro reaches(value, threshold) -%}
    (round(cast({{ value }} as double), 9) >= round(cast({{ threshold }} as double), 9))
{%- endmacro %}

{#- metrics.md: "A yearly flow is NULL when any quarter reported in that year has it NULL".
    Used over the quarterly rows of one year. -#}
{% macro sum_if_complete(value) -%}
    (case when count({{ value }}) = count(*) then sum({{ value }}) end)
{%- endmacro %}

{#- A sum of floating-point terms whose result does not depend on the order the engine adds them
    in (a parallel hash aggregate adds in a different order each build, and the last bit of a
    double sum moves with it). Summing in fixed-point decimal makes identical inputs give
    identical bytes in a release; 18 decimals keep the error below a double's own precision for
    values near 1. -#}
{% macro exact_sum(value) -%}
    cast(sum(cast({{ value }} as decimal(38, 18))) as double)
{%- endmacro %}

{#- A share as whole-percent text for sentences ('62%'); NULL stays NULL. -#}
{% macro percent(share) -%}
    (cast(cast(round(cast({{ share }} as double) * 100, 0) as integer) as {{ dbt.type_string() }}) || '%')
{%- endmacro %}
