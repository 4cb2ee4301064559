-- Yearly flows (sums of the year's quarters) of metrics.md section 1 per area, with
-- quarters_reported; see macros/independence.sql.
with {{ independence_flows('project_code', 'year') }}

select * from flows
