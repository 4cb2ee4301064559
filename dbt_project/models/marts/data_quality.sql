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
    loads.load_id,
    loads.kind,
    loads.file_name,
    loads.load_status,
    loads.load_error,
    loads.rows_read,
    loads.rows_loaded,
    loads.rows_quarantined,
    loads.rows_skipped,
    loads.started_at,
    rule_results.rule,
    rule_results.severity,
    rule_results.rows_checked,
    rule_results.rows_failing,
    {{ ratio('rule_results.rows_failing', 'rule_results.rows_checked') }} as failing_share,
    cast(null as {{ dbt.type_string() }}) as detail
from loads
left join rule_results
    on loads.load_id = rule_results.load_id

union all

select
    cast(null as bigint) as load_id,
    kind,
    cast(null as {{ dbt.type_string() }}) as file_name,
    cast(null as {{ dbt.type_string() }}) as load_status,
    cast(null as {{ dbt.type_string() }}) as load_error,
    cast(null as bigint) as rows_read,
    cast(null as bigint) as rows_loaded,
    cast(null as bigint) as rows_quarantined,
    cast(null as bigint) as rows_skipped,
    cast(null as timestamp) as started_at,
    rule,
    'warning' as severity,
    cast(null as bigint) as rows_checked,
    cast(null as bigint) as rows_failing,
    cast(null as double) as failing_share,
    detail
from {{ ref('int_completeness_warnings') }}
