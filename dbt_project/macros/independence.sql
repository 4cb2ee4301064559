{#- Small expressions of metrics.md section 1 that several models apply. -#}


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
