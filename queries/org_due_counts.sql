-- org_due_counts: deadlines that fell due in [$start, $stop) before as_of, and of those missed, per
-- organisation (child_id; null = requests with no organisation), inside the shared filters but
-- category and source, summed from org_due_daily (built for the dataset's as_of). The same numbers
-- as drill_children's due and missed at the organisation level, which is the check in the tests.
select
    organization_id as child_id,
    sum(due)::bigint as due,
    sum(missed)::bigint as missed
from org_due_daily
where day >= $start::date
  and day < $stop::date
  and ($territory_id is null or territory_id = $territory_id)
  and ($municipality_id is null or current_municipality_id = $municipality_id)
  and ($organization_id is null or organization_id = $organization_id)
group by organization_id
