-- data_problems: rows that break the invariants every metric relies on, counted by kind. A
-- database with any is refused with this list (imports keep such rows aside instead of loading).
-- Needs the macro ticket_date_problem (queries/_invariants.sql) and $latest_as_of (the latest moment
-- data may describe: now in Moscow plus a day). Each problem is a code, said in words by the strings
-- db.problem.<code> (a date problem: import.reason.<code>, the import's own words for it).
-- The rows checked are the temporary views checked_tickets and checked_returns (oversight.store.data_problems):
-- every row, or after an import that added to valid data, the requests it wrote (every stored row with
-- their numbers, so a duplicate of an older request is found).
with as_of as (
    select max(as_of) as as_of, count(*) as dataset_rows from dataset
),

checks as (
    select 'dataset_rows' as problem, case when dataset_rows = 1 then 0 else 1 end as n
    from as_of
    union all
    select 'as_of_range', count(*)
    from as_of where as_of.as_of < timestamp '2000-01-01' or as_of.as_of > $latest_as_of::timestamp
    union all
    -- a request's dates: the rule the import's checks refuse rows by (queries/_invariants.sql)
    select * from (
        select ticket_date_problem(t.created_at, t.due_at, t.closed_at, as_of.as_of) as problem, count(*)
        from checked_tickets as t, as_of
        group by all
    ) where problem is not null
    union all
    select 'unknown_municipality', count(*)
    from checked_tickets
    where municipality_id not in (select municipality_id from municipalities)
    union all
    select 'duplicate_ticket_id', count(*) - count(distinct ticket_id) from checked_tickets
    union all
    select 'return_outside_life', count(*)
    from checked_returns as r
    join checked_tickets as t using (ticket_id), as_of
    where r.returned_at < t.created_at or r.returned_at > t.closed_at or r.returned_at >= as_of.as_of
    union all
    select 'return_unknown_request', count(*)
    from checked_returns
    where ticket_id not in (select ticket_id from checked_tickets)
)

select problem, n
from checks
where n > 0
