-- Data quality per load and rule (outputs.md): for every delivered file its status and row counts,
-- and for every rule evaluated on it the rows checked, the rows failing and the severity (hard:
-- rows quarantined, soft: rows loaded and flagged, skip: rows skipped). A file with no rule
-- results (rejected whole, or a duplicate) has one row with rule NULL, so no file is missing.
-- Completeness warnings (data not arrived yet) follow, with severity 'warning' and no load.
with loads as (
    select * from {{ ref('stg_audit_loads') }}
),

rule_results as (
    select * from {{ ref('stg_audit_rule_results') }}
)

select
    cast(loads.load_id as bigint) as load_id,
    cast(loads.kind as {{ dbt.type_string() }}) as kind,
    cast(loads.file_name as {{ dbt.type_string() }}) as file_name,
    cast(loads.load_status as {{ dbt.type_string() }}) as load_status,
    cast(loads.load_error as {{ dbt.type_string() }}) as load_error,
    cast(loads.rows_read as bigint) as rows_read,
    cast(loads.rows_loaded as bigint) as rows_loaded,
    cast(loads.rows_quarantined as bigint) as rows_quarantined,
    cast(loads.rows_skipped as bigint) as rows_skipped,
    cast(loads.started_at as timestamp) as started_at,
    cast(rule_results.rule as {{ dbt.type_string() }}) as rule,
    cast(rule_results.severity as {{ dbt.type_string() }}) as severity,
    cast(rule_results.rows_checked as bigint) as rows_checked,
    cast(rule_results.rows_failing as bigint) as rows_failing,
    cast({{ ratio('rule_results.rows_failing', 'rule_results.rows_checked') }} as double) as failing_share,
    cast(null as {{ dbt.type_string() }}) as detail
from loads
left join rule_results
    on rule_results.load_id = loads.load_id

union all

select
    cast(null as bigint) as load_id,
    cast(kind as {{ dbt.type_string() }}) as kind,
    cast(null as {{ dbt.type_string() }}) as file_name,
    cast(null as {{ dbt.type_string() }}) as load_status,
    cast(null as {{ dbt.type_string() }}) as load_error,
    cast(null as bigint) as rows_read,
    cast(null as bigint) as rows_loaded,
    cast(null as bigint) as rows_quarantined,
    cast(null as bigint) as rows_skipped,
    cast(null as timestamp) as started_at,
    cast(rule as {{ dbt.type_string() }}) as rule,
    cast('warning' as {{ dbt.type_string() }}) as severity,
    cast(null as bigint) as rows_checked,
    cast(null as bigint) as rows_failing,
    cast(null as double) as failing_share,
    cast(detail as {{ dbt.type_string() }}) as detail
from {{ ref('int_completeness_warnings') }}
