{#- Every row satisfies the condition, a boolean SQL expression over the model's columns
    (dbt_utils.expression_is_true without the package). A row where it is NULL fails: write the
    NULL case into the condition. -#}
{% test expression_is_true(model, expression) %}
select *
from {{ model }}
where not coalesce({{ expression }}, false)
{% endtest %}
