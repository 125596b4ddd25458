-- org_due_monthly: per organisation and calendar month of the deadline, deadlines that fell due
-- (before as_of) and of those missed, inside the shared filters, for months before $stop (the
-- compliance watchlist's monthly record).
select
    organization_id,
    date_trunc('month', day)::date as month,
    sum(due)::bigint as due,
    sum(missed)::bigint as missed
from scoped_org_due($as_of, $territory_id, $municipality_id, $organization_id, $category_id, $source)
where day < $stop::date
  and organization_id is not null
group by all
