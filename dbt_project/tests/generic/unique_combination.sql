{#- The combination of columns is unique (dbt_utils.unique_combination_of_columns without the
    package). Rows where every column is NULL count like any other value. -#}
{% test unique_combination(model, columns) %}
select
    {{ columns | join(', ') }},
    count(*) as occurrences
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
