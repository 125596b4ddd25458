-- ticket_returns_of: when a request was returned for rework, in order.
select returned_at
from ticket_returns
where ticket_id = $ticket_id
order by returned_at
