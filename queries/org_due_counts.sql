-- org_due_counts: deadlines that fell due in [$start, $stop) before as_of, and of those missed, per
-- organisation (child_id; null = requests with no organisation), inside the shared filters (the
-- funnel plot's volume and count). The same numbers as drill_children's due and missed at the
-- organisation level, which the tests check.
select
    organization_id as child_id,
    sum(due)::bigint as due,
    sum(missed)::bigint as missed
from scoped_org_due($as_of, $territory_id, $municipality_id, $organization_id, $category_id, $source)
where day >= $start::date
  and day < $stop::date
group by organization_id
