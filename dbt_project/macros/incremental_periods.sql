{#- Incremental quarterly models: which quarters to (re)build.

    Every quarterly model stamps each row with last_load_id, the newest load any of its inputs'
    rows for that quarter came from. raw is append-only and _load_id increases with arrival, so a
    quarter's inputs changed exactly when some input now holds a newer load for it than the model
    recorded. Those quarters (and quarters the model does not hold yet) are rebuilt whole:
    delete+insert on period replaces every row of the quarter, so rows that a revision removed
    (a product an enterprise no longer reports) disappear too.

    inputs: list of [relation, load id column] pairs, each relation with a period column.
    incremental: pass is_incremental() from the model (unit tests can only override macros a model
        calls directly).

    Returns a query of (period, last_load_id): the quarters to build with their stamp. A model
    keeps only those quarters by an inner join with it, not by `period in (select ...)` before its
    window or aggregate: DuckDB pushes the join's filter down to the scan of the big inputs, while
    the IN subquery made the producer models two to six times slower (docs/performance.md).
    Caveat: a change to a reference seed (a product moved to another area) is not a load; run
    with --full-refresh after changing seeds. -#}
{% macro periods_to_build(inputs, incremental) %}
    select input_loads.period, input_loads.last_load_id
    from (
        select all_inputs.period, max(all_inputs.load_id) as last_load_id
        from (
            {%- for relation, load_id_column in inputs %}
            select period, {{ load_id_column }} as load_id from {{ relation }}
            {%- if not loop.last %}
            union all
            {%- endif %}
            {%- endfor %}
        ) as all_inputs
        group by all_inputs.period
    ) as input_loads
    {%- if incremental %}
    left join (
        select period, max(last_load_id) as last_load_id
        from {{ this }}
        group by period
    ) as built
        on built.period = input_loads.period
    where built.period is null
        or input_loads.last_load_id > built.last_load_id
    {%- endif %}
{% endmacro %}


{#- The config every quarterly incremental model uses: {{ config(**quarterly_incremental_config()) }}.
    DuckDB: delete+insert on period (every row of a rebuilt quarter is replaced).
    Spark: the same effect is insert_overwrite of the period partitions (dbt-spark has no
    delete+insert). on_schema_change='fail': a changed column list needs --full-refresh rather
    than old quarters silently keeping NULLs in a new column. -#}
{% macro quarterly_incremental_config() %}
    {%- if target.type == 'spark' or target.type == 'databricks' -%}
        {{ return({
            'materialized': 'incremental',
            'incremental_strategy': 'insert_overwrite',
            'partition_by': ['period'],
            'file_format': 'delta',
            'on_schema_change': 'fail',
        }) }}
    {%- else -%}
        {{ return({
            'materialized': 'incremental',
            'incremental_strategy': 'delete+insert',
            'unique_key': 'period',
            'on_schema_change': 'fail',
        }) }}
    {%- endif -%}
{% endmacro %}
