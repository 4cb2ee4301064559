-- Per load and rule: rows checked and rows failing (audit.rule_results).
select
    cast(load_id as bigint) as load_id,
    cast(kind as {{ dbt.type_string() }}) as kind,
    cast(rule as {{ dbt.type_string() }}) as rule,
    cast(severity as {{ dbt.type_string() }}) as severity,
    cast(rows_checked as bigint) as rows_checked,
    cast(rows_failing as bigint) as rows_failing
from {{ source('audit', 'rule_results') }}
