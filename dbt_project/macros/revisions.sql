{#- Revisions (inputs.md): a later load replaces earlier rows that carry the same revision key.
    raw is append-only, so every staging model selects the rows still in force from it.

    keep='latest_load': the key names a set of rows (producer: all rows of an enterprise and
        quarter; trade: all rows of a quarter). Every row of the newest load (max _load_id) that
        carries the key is kept, so a revision may add or drop products or partners.
    keep='latest_row': the key names one value (regional, characteristics, benchmarks, targets).
        The newest load wins; if one load carries the key twice, its later row wins.

    Returns a parenthesised subquery holding the relation's columns, to be aliased by the caller.
    Written with window functions in a subquery (no QUALIFY) for Spark portability. -#}
{% macro latest_revision(relation, revision_key, keep) %}
    {%- set partition_by = revision_key | join(', ') -%}
    {%- if keep not in ('latest_load', 'latest_row') -%}
        {{ exceptions.raise_compiler_error("latest_revision: keep must be latest_load or latest_row, got " ~ keep) }}
    {%- endif -%}
    (
        select *
        from (
            select
                revisable.*,
                {%- if keep == 'latest_load' %}
                max(revisable._load_id) over (partition by {{ partition_by }}) as revision_load_id
                {%- else %}
                row_number() over (
                    partition by {{ partition_by }}
                    order by revisable._load_id desc, revisable._row_number desc
                ) as revision_rank
                {%- endif %}
            from {{ relation }} as revisable
        ) as ranked
        where
            {%- if keep == 'latest_load' %} ranked._load_id = ranked.revision_load_id
            {%- else %} ranked.revision_rank = 1
            {%- endif %}
    )
{% endmacro %}
