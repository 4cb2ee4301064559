-- The ALL index is a consumption-weighted mean of the areas' indices (metrics.md section 5), so
-- it lies between the smallest and the largest area index of its year.
with areas as (
    select year, min(sovereignty_index) as lowest, max(sovereignty_index) as highest
    from {{ ref('sovereignty_index') }}
    where project_code <> 'ALL'
    group by year
)

select national.year
from {{ ref('sovereignty_index') }} as national
inner join areas
    on areas.year = national.year
where national.project_code = 'ALL'
    and national.sovereignty_index is not null
    and (national.sovereignty_index < areas.lowest - 1e-9 or national.sovereignty_index > areas.highest + 1e-9)
