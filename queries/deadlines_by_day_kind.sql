-- deadlines_by_day_kind: deadlines due in [$start, $stop) before as_of, and of those missed, by the
-- kind of day they fell on, for the region and per direction, current municipality and
-- organisation (column `level`), inside the shared filters. $days and $kinds are two lists of equal
-- length: each day of the period and its kind in the production calendar (oversight.compliance.day_kinds).
with kinds as (
    select unnest($days::date[]) as day, unnest($kinds::varchar[]) as day_kind
),

labelled as (
    select o.organization_id, o.territory_id, o.current_municipality_id, o.due, o.missed, k.day_kind
    from scoped_org_due($as_of, $territory_id, $municipality_id, $organization_id, $category_id, $source) as o
    join kinds as k on k.day = o.day
    where o.day >= $start::date
      and o.day < $stop::date
)

select
    case
        when grouping(territory_id) = 0 then 'territory'
        when grouping(current_municipality_id) = 0 then 'municipality'
        when grouping(organization_id) = 0 then 'organization'
        else 'region'
    end as level,
    territory_id,
    current_municipality_id,
    organization_id,
    day_kind,
    sum(due)::bigint as due,
    sum(missed)::bigint as missed
from labelled
group by grouping sets ((day_kind), (territory_id, day_kind), (current_municipality_id, day_kind), (organization_id, day_kind))
