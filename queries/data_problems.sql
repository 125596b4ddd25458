-- data_problems: rows that break the invariants every metric relies on, counted by kind. A
-- database with any is refused with this list (imports keep such rows aside instead of loading).
with as_of as (
    select max(as_of) as as_of, count(*) as dataset_rows from dataset
),

checks as (
    select 'dataset must have exactly one row' as problem, case when dataset_rows = 1 then 0 else 1 end as n
    from as_of
    union all
    select 'created at or after as_of', count(*) from tickets, as_of where created_at >= as_of.as_of
    union all
    select 'closed at or after as_of', count(*) from tickets, as_of where closed_at >= as_of.as_of
    union all
    select 'closed before created', count(*) from tickets where closed_at < created_at
    union all
    select 'deadline not after creation', count(*) from tickets where due_at <= created_at
    union all
    select 'unknown municipality', count(*)
    from tickets
    where municipality_id not in (select municipality_id from municipalities)
    union all
    select 'duplicate ticket_id', count(*) - count(distinct ticket_id) from tickets
    union all
    select 'return for rework outside the request''s life', count(*)
    from ticket_returns as r
    join tickets as t using (ticket_id), as_of
    where r.returned_at < t.created_at or r.returned_at > t.closed_at or r.returned_at >= as_of.as_of
    union all
    select 'return for rework of an unknown request', count(*)
    from ticket_returns
    where ticket_id not in (select ticket_id from tickets)
)

select problem, n
from checks
where n > 0
