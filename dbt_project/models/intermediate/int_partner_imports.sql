-- Customs imports per product or area, quarter, partner and member country: the rows partner
-- exposure and the stress test add up. A partner is a single country (partner_type 'country',
-- its own only member) or a group of the partner_groups seed (partner_type 'group', one row per
-- member country in force on the quarter's last day that the product was imported from).
-- Only imports > 0 appear; quarters without a trade file have no rows.
with by_level as (
    select
        period,
        year,
        quarter,
        level,
        code,
        project_code,
        partner_country,
        imports
    from {{ ref('int_cell_partner_quarters') }}
    where imports > 0 and project_code is not null
),

members as (
    select
        group_code,
        country_code,
        valid_from,
        valid_to
    from {{ ref('partner_groups') }}
)

select
    by_level.period,
    by_level.year,
    by_level.quarter,
    by_level.level,
    by_level.code,
    by_level.project_code,
    'country' as partner_type,
    by_level.partner_country as partner_code,
    by_level.partner_country as member_country,
    by_level.imports
from by_level

union all

select
    by_level.period,
    by_level.year,
    by_level.quarter,
    by_level.level,
    by_level.code,
    by_level.project_code,
    'group' as partner_type,
    members.group_code as partner_code,
    by_level.partner_country as member_country,
    by_level.imports
from by_level
inner join members
    on
        by_level.partner_country = members.country_code
        and members.valid_from <= {{ quarter_last_day('by_level.period') }}
        and (members.valid_to is null or members.valid_to >= {{ quarter_last_day('by_level.period') }})
