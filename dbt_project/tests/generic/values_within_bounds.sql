{#- Every non-NULL value of each column lies within its bounds: a model's range checks in one test.
    bounds: column -> {min: m, max: M}, either bound optional, both inclusive. NULLs pass (they
    are not_null_columns' concern). One `between` test per column made about a hundred dbt nodes,
    each with dbt's and Dagster's cost per node (about 35 ms) for a scan of one column
    (docs/performance.md); one query per model reads the same columns. Each failing row names its
    column and the value out of bounds. -#}
{% test values_within_bounds(model, bounds) %}
{%- for column, bound in bounds.items() %}
{%- set low, high = bound.get('min'), bound.get('max') %}
select
    '{{ column }}' as out_of_bounds_column,
    cast({{ column }} as {{ dbt.type_string() }}) as out_of_bounds_value
from {{ model }}
where
    {%- if low is not none %} {{ column }} < {{ low }}{% endif %}
    {%- if low is not none and high is not none %} or{% endif %}
    {%- if high is not none %} {{ column }} > {{ high }}{% endif %}
{%- if not loop.last %}
union all
{%- endif %}
{%- endfor %}
{% endtest %}
