{#- No row has NULL in any of the columns: a model's required columns in one test. One not_null
    test per column made some 270 dbt nodes, each with dbt's and Dagster's cost per node (about
    40 ms) for a scan of one column (docs/performance.md); one query per model reads the same
    columns. Each failing row names its column. -#}
{% test not_null_columns(model, columns) %}
{%- for column in columns %}
select '{{ column }}' as null_column
from {{ model }}
where {{ column }} is null
{%- if not loop.last %}
union all
{%- endif %}
{%- endfor %}
{% endtest %}
