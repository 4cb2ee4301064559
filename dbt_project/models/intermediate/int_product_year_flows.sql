-- Yearly flows (sums of the year's quarters) of metrics.md section 1 per product, with
-- quarters_reported; see macros/independence.sql.
with {{ independence_flows('okpd2', 'year') }}

select * from flows
