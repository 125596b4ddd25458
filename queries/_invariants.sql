-- The date invariants of a request, in one place: the import's checks (queries/import_check.sql)
-- refuse a row with the reason this macro gives, and the database's invariants
-- (queries/data_problems.sql) count the stored rows it names, so the two can never disagree.
-- Installed (temporary) by oversight.store.install_invariants. Not a query itself.
--
-- ticket_date_problem(created_at, due_at, closed_at, as_of): the first rule the dates break, or null
-- (a date from the future first: a creation in 9999 is that, whatever its deadline).
-- - No date before 2000-01-01 (a year 0001 or 1899 is a placeholder, not a request of that year).
-- - A deadline at the creation time is real (the request is overdue from the start unless closed
--   at once); one before it is not, nor one more than ten years after it.
-- - Closing at the creation time is real; before it is not.
-- - Nothing at or after the moment the data describe (as_of).
create or replace temp macro ticket_date_problem(created_at, due_at, closed_at, as_of) as
case
    when created_at < timestamp '2000-01-01' then 'implausible:created'
    when due_at < timestamp '2000-01-01' then 'implausible:deadline'
    when closed_at < timestamp '2000-01-01' then 'implausible:closed'
    when created_at >= as_of then 'future:created'
    when closed_at >= as_of then 'future:closed'
    when due_at < created_at then 'deadline_before_created'
    when due_at > created_at + interval 10 year then 'implausible:deadline'
    when closed_at < created_at then 'closed_before_created'
end;
