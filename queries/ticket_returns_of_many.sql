-- ticket_returns_of_many: when each of a list of requests ($ticket_ids) was returned for rework.
select ticket_id, returned_at
from ticket_returns
where ticket_id in (select unnest($ticket_ids))
order by ticket_id, returned_at
