{{ config(**quarterly_incremental_config()) }}

-- Quarterly flows (sums) of metrics.md section 1 per area; see macros/independence.sql.
with periods_to_build as (
    {{ periods_to_build([
        [ref('int_producer_quarter_outputs'), 'last_load_id'],
        [ref('int_trade_partner_quarter'), 'last_load_id'],
    ], is_incremental()) }}
),

{{ independence_flows('project_code', 'quarter', periods_to_build='periods_to_build') }}

select
    flows.*,
    periods_to_build.last_load_id
from flows
inner join periods_to_build
    on periods_to_build.period = flows.period
